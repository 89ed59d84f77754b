r"""Writes bytes that are not UTF-8 around its metric, on stdout and stderr.
Expect: Completed, objective 0.66 (invalid bytes decode to U+FFFD, the line is still scraped); output.log keeps the
raw bytes."""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
sys.stdout.buffer.write(b"\xff\xfe\x80 f1: 0.66 \xc3\x28 done\n")
sys.stderr.buffer.write(b"warning \xe2\x82 truncated\n")
