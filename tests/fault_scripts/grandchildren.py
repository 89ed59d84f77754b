r"""Leaves grandchildren behind: one sleeping with the job's stdout still open, one double-forked daemon (same
process group), then prints its objective and exits 0 at once.
Expect: TrainingJobStatus Completed, objective 0.42, the job ends as soon as the entry point does (the whole
process group is ended, so the pipes close), and every pid written to --pids is gone."""
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
holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])  # inherits stdout and stderr
daemon = subprocess.Popen([sys.executable, "-c",
                           "import os, sys, time\n"
                           "if os.fork(): sys.exit(0)\n"
                           "print(os.getpid(), flush=True); time.sleep(3600)"], stdout=subprocess.PIPE, text=True)
daemon_pid = int(daemon.stdout.readline())
with open(a.pids, "w") as f:
    f.write(f"{holder.pid} {daemon_pid}\n")
print("f1: 0.42", flush=True)
