r"""Writes hundreds of megabytes of ordinary log lines (--mb, 100-byte lines), a metric every 10000 lines.
Expect: Completed, objective 0.95 (the last value), output.log holds it all, and the tuner's memory stays flat."""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
p.add_argument("--mb", type=int, default=200)
a, _ = p.parse_known_args()
out = sys.stdout.buffer
line = b"INFO step ...... " + b"." * 82 + b"\n"  # 100 bytes
block = line * 10000  # ~1 MB
n = a.mb * 1000 * 1000 // len(block)
for i in range(n):
    out.write(block)
    out.write(b"f1: %.4f\n" % (i / n))
out.write(b"f1: 0.95\n")
out.flush()
