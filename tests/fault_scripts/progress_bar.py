r"""A progress bar that redraws one line with carriage returns (as tqdm does), then a newline; then a result line.
Decision (amtlocal.metrics): \r does not split lines; the regex sees the raw line with every redraw, as in the raw
CloudWatch event. Expect: Completed, objective 0.81; metric "loss" = every redraw's value in order (last 0.2); a
regex anchored with ^ never matches the bar line (it starts with \r)."""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
for i in range(1, 6):
    sys.stdout.write(f"\rtrain {i * 20:3d}%|{'#' * i}{' ' * (5 - i)}| loss={1 / i:.3f}")
    sys.stdout.flush()
sys.stdout.write("\n")
print("valid f1: 0.81")
