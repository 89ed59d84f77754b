r"""The entry point calls ``os.setsid()`` or ``os.setpgrp()`` (--call), as a script that daemonizes its workers does
(in SageMaker both succeed: the entry point is not a session or group leader), prints f1: 0.3, starts a grandchild in
yet another session that ignores SIGTERM, ignores SIGTERM itself and never ends.
Expect with MaxRuntimeInSeconds 2 and a 1 s grace: Stopped (MaxRuntimeExceeded) on time, objective 0.3 (no
PermissionError), and both pids written to --pids gone (SIGKILL reaches the grandchild outside the group)."""
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
p.add_argument("--call")
a, _ = p.parse_known_args()
getattr(os, a.call)()
assert os.getpgrp() == os.getpid()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"],
                         start_new_session=True)
with open(a.pids, "w") as f:
    f.write(f"{os.getpid()} {child.pid}\n")
print("f1: 0.3", flush=True)
while True:
    time.sleep(1)
