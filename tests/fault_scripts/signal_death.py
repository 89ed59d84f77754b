r"""Prints an objective value, then dies by the signal named in --signal (SIGSEGV: a crash in native code;
SIGKILL: what the out-of-memory killer sends).
Expect: TrainingJobStatus Failed, ObjectiveStatus Failed, FailureReason with "ExitCode -N" and the signal's name."""
import signal
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
p.add_argument("--signal", default="SIGSEGV")
a, _ = p.parse_known_args()
print("f1: 0.9", flush=True)
print("about to crash", file=sys.stderr, flush=True)
os.kill(os.getpid(), getattr(signal, a.signal))
