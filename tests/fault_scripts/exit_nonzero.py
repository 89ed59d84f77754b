r"""Prints an objective value, then a traceback on stderr, and exits with code 3.
Expect: TrainingJobStatus Failed, ObjectiveStatus Failed (a failed job never ranks, whatever it printed),
FailureReason "AlgorithmError: ExecuteUserScriptError:\nExitCode 3\nErrorMessage "...ValueError: bad batch"..."."""
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
print("f1: 0.9", flush=True)
print("Traceback (most recent call last):\n  File \"train.py\", line 12, in <module>\nValueError: bad batch", file=sys.stderr)
sys.exit(3)
