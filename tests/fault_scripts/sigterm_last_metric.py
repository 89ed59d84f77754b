r"""Prints a first value, then waits; its SIGTERM handler prints a last value and exits 0 (a checkpointing job).
Expect with MaxRuntimeInSeconds 2: TrainingJobStatus Stopped, FailureReason "MaxRuntimeExceeded: ...", and the value
printed in the grace period is the final objective (0.77): output is read until the pipes close."""
import signal
import time
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()


def on_term(signum, frame):
    time.sleep(0.3)  # some work in the grace period
    print("checkpoint saved; f1: 0.77", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
print("f1: 0.1", flush=True)
while True:
    time.sleep(0.1)
