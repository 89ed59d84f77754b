r"""Starts a grandchild in a session of its own that keeps the job's stdout open and, after the entry point has
exited, prints a better objective value; the entry point prints f1: 0.42 and exits 0 at once.
Expect: TrainingJobStatus Completed, objective 0.42 (the grandchild's later line is not the job's: a training job
ends when its entry point exits), the job ends at once, and the grandchild (pid written to --pids) is gone."""
import subprocess
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
late = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5); print('f1: 0.99', flush=True); time.sleep(3600)"],
                        start_new_session=True)  # inherits stdout and stderr
with open(a.pids, "w") as f:
    f.write(f"{late.pid}\n")
print("f1: 0.42", flush=True)
