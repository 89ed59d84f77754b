r"""Writes one line of 40 MiB (a dumped array, say) with a value at its start and one at its end.
Decision (amtlocal.metrics.MAX_LINE_BYTES): a line longer than 1 MiB is scraped in 1 MiB pieces. Expect:
Completed, objective 0.99 with series [0.11, 0.99]; output.log holds every byte; the tuner's memory stays flat."""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
p.add_argument("--mib", type=int, default=40)
a, _ = p.parse_known_args()
out = sys.stdout.buffer
out.write(b"f1: 0.11 ")
block = b"x" * (1 << 20)
for _ in range(a.mib):
    out.write(block)
out.write(b" f1: 0.99\n")
out.flush()
