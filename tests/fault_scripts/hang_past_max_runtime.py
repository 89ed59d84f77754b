r"""Prints an objective value, starts a grandchild, ignores SIGTERM and never ends.
Expect with MaxRuntimeInSeconds 2: SIGTERM at 2 s, SIGKILL after the stop grace; TrainingJobStatus Stopped,
FailureReason "MaxRuntimeExceeded: ..."; the value printed before the stop counts (ObjectiveStatus Succeeded);
the grandchild (pid written to --pids) is gone."""
import signal
import subprocess
import time
import argparse, os, sys

p = argparse.ArgumentParser()
p.add_argument("--marker")
a, _ = p.parse_known_args()
if os.path.exists(a.marker):  # a later training job of the tuning job: healthy
    print("f1: 0.5")
    sys.exit(0)
open(a.marker, "w").close()
p.add_argument("--pids")
a, _ = p.parse_known_args()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"])
with open(a.pids, "w") as f:
    f.write(f"{os.getpid()} {child.pid}\n")
print("f1: 0.3", flush=True)
while True:
    time.sleep(1)
