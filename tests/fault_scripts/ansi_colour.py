r"""Colours its log with ANSI escape codes (as rich/colorama loggers do).
Regexes see the raw text, as AMT's do: "\x1b[32mf1: 0.61\x1b[0m" gives f1 = 0.61, but "acc: \x1b[1m0.9\x1b[0m" does
not match "acc: ([0-9.]+)". Expect with objective acc: Completed, ObjectiveStatus Failed, FailureReason naming the
regex and the colour codes; f1 0.61 is in the job's metric series."""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5 acc: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
print("\x1b[32mf1: 0.61\x1b[0m")
print("acc: \x1b[1m0.9\x1b[0m")
