r"""Writes its own failure file ($SM_OUTPUT_DIR/failure, as a custom container does) and exits with code 2.
Expect: TrainingJobStatus Failed, FailureReason "AlgorithmError: " + the file's text (the toolkit does not overwrite
a failure file that exists)."""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
with open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w") as f:
    f.write("DataError: channel 'train' holds no rows")
print("f1: 0.9")
sys.exit(2)
