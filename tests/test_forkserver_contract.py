"""A forked job behaves as the same job run as a new process (AMTLOCAL_LAUNCHER=process): interpreter exit, signals,
os.fork workers, multiprocessing's spawn and forkserver pools, an entry point in a subfolder, an absolute __file__,
and nothing left on disk when the tuner is killed. Each test runs under both launchers (from a review that found
every one of these broken under the fork server: the process launcher is the reference)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amtlocal.testing import make_request, run_job, summaries, use_script

LAUNCHERS = ["process", "fork"]


def _grid(name, values, **kw):
    return make_request(name, strategy="Grid", max_jobs=None, seed=None, categorical=[("x", list(values))], **kw)


def _by_x(name, store):
    return {s["TunedHyperParameters"]["x"]: s for s in summaries(name, store)}


def _obj(s):
    return s.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")


LIFE = """\
import argparse, os, sys, atexit, threading, time
p = argparse.ArgumentParser(); p.add_argument('-x'); x = p.parse_args().x
if x == "atexit":            # a last metric from an atexit handler
    atexit.register(lambda: print("f1: 7"))
    print("f1: 1")
elif x == "thread":          # a non-daemon thread: the interpreter waits for it before exiting
    def work():
        time.sleep(0.5); print("f1: 7")
    print("f1: 1"); threading.Thread(target=work).start()
elif x == "unclosed":        # an unclosed file of __main__ (a globals <-> function cycle): flushed at exit
    def helper(): pass
    f = open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w"); f.write("w" * 70)
    print("f1: 7")
elif x == "sigpipe":         # Python ignores SIGPIPE: a write to a closed pipe raises BrokenPipeError
    r, w = os.pipe(); os.close(r)
    try:
        os.write(w, b"x"); print("f1: 1")
    except BrokenPipeError:
        print("f1: 7")
elif x == "kbint":           # an uncaught KeyboardInterrupt: CPython exits by SIGINT (-2)
    print("f1: 7", flush=True)
    raise KeyboardInterrupt
"""


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_interpreter_exit_semantics(workdir, store, monkeypatch, launcher):
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    use_script(workdir, LIFE)
    run_job(_grid("life", ["atexit", "thread", "unclosed", "sigpipe", "kbint"], parallel=1), workdir, store)
    by_x = _by_x("life", store)
    problems = []
    for x in ("atexit", "thread", "sigpipe"):
        if (by_x[x]["TrainingJobStatus"], _obj(by_x[x])) != ("Completed", 7.0):
            problems.append((x, by_x[x]["TrainingJobStatus"], _obj(by_x[x]), by_x[x].get("FailureReason", "")[:120]))
    model = store.training_job_dir("life", by_x["unclosed"]["TrainingJobName"]) / "model" / "model.txt"
    if model.read_text() != "w" * 70:
        problems.append(("unclosed", f"model.txt has {len(model.read_text())} bytes"))
    if "ExitCode -2 (killed by signal 2" not in by_x["kbint"].get("FailureReason", ""):
        problems.append(("kbint", by_x["kbint"].get("FailureReason", "")[:80]))
    assert problems == []


FORKER = """\
import argparse, os, sys, time
p = argparse.ArgumentParser(); p.add_argument('-x'); x = p.parse_args().x
print("f1: 1", flush=True)
pid = os.fork()
if pid == 0:                 # a worker process made with os.fork
    time.sleep(0.2)
    if x == "exit0": sys.exit(0)
    if x == "raise": raise RuntimeError("worker failed; the parent copes")
    # x == "fall": falls off the end of the script
else:
    os.waitpid(pid, 0)
    time.sleep(1.0)
    print("f1: 7", flush=True)   # the parent's final metric
"""


@pytest.mark.slow
@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_os_fork_worker_does_not_end_the_job(workdir, store, monkeypatch, launcher):
    """A worker made with os.fork that ends (sys.exit, an error, the script's end) does not end the job: the job is
    its main process, which prints the final metric later."""
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    use_script(workdir, FORKER)
    run_job(_grid("forker", ["exit0", "raise", "fall"], parallel=1), workdir, store)
    got = {x: (s["TrainingJobStatus"], _obj(s)) for x, s in _by_x("forker", store).items()}
    assert got == {"exit0": ("Completed", 7.0), "raise": ("Completed", 7.0), "fall": ("Completed", 7.0)}


MP = """\
import argparse, multiprocessing as mp
def sq(v): return v * v
if __name__ == "__main__":
    p = argparse.ArgumentParser(); p.add_argument('-x'); x = p.parse_args().x
    with mp.get_context(x).Pool(2) as pool:
        print("f1: %d" % sum(pool.map(sq, range(4))), flush=True)
"""


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_multiprocessing_spawn_pool(workdir, store, monkeypatch, launcher):
    """The pool's workers find the job's train.py (an absolute __file__; multiprocessing's ORIGINAL_DIR is the job's
    folder), instead of dying and being respawned until MaxRuntimeInSeconds."""
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    use_script(workdir, MP)
    run_job(_grid("mpool", ["spawn", "forkserver"], parallel=2, max_runtime=15), workdir, store, stop_grace=1)
    got = {x: (s["TrainingJobStatus"], _obj(s)) for x, s in _by_x("mpool", store).items()}
    assert got == {"spawn": ("Completed", 14.0), "forkserver": ("Completed", 14.0)}


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_entry_point_in_a_subfolder_imports_its_sibling(workdir, store, monkeypatch, launcher):
    """`python src/train.py` puts code/src first on sys.path."""
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    (workdir / "code" / "src").mkdir()
    (workdir / "code" / "src" / "train.py").write_text(
        "import argparse\nimport helper\np = argparse.ArgumentParser(); p.add_argument('-x', type=int)\n"
        "print('f1: %d' % helper.twice(p.parse_args().x))\n"
    )
    (workdir / "code" / "src" / "helper.py").write_text("def twice(x):\n    return 2 * x\n")
    req = make_request("subdir", max_jobs=1, integer=[("x", 1, 9, "Linear")])
    req["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_program"] = '"src/train.py"'
    run_job(req, workdir, store)
    (s,) = summaries("subdir", store)
    assert s["TrainingJobStatus"] == "Completed", s.get("FailureReason")


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_file_is_absolute(workdir, store, monkeypatch, launcher):
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
    use_script(
        workdir,
        "import os, argparse\np = argparse.ArgumentParser(); p.add_argument('-x', type=int)\n"
        "print('f1: %d' % (1 if os.path.isabs(__file__) else 0))\n",
    )
    run_job(make_request("absfile", max_jobs=1, integer=[("x", 1, 9, "Linear")]), workdir, store)
    (s,) = summaries("absfile", store)
    assert _obj(s) == 1.0


@pytest.mark.slow
def test_a_sigkilled_tuner_leaves_no_report_file_of_the_fork_server(workdir, tmp_path):
    """SIGKILL the tuner while the first job (the one that reports what it learned) runs: nothing is left in TMPDIR."""
    use_script(
        workdir,
        "import argparse, time\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()\n"
        "time.sleep(3); print('f1: %d' % a.x)\n",
    )
    spec = workdir / "spec.json"
    spec.write_text(json.dumps(make_request("leak", max_jobs=2, integer=[("x", 1, 9, "Linear")])))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, AMTLOCAL_LAUNCHER="fork", TMPDIR=str(tmp))
    p = subprocess.Popen(
        [sys.executable, "-m", "amtlocal", "tune", str(spec)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 20
    home = Path(os.environ["AMTLOCAL_HOME"])
    while not list(home.glob("jobs/leak/leak-*")) and time.time() < deadline:  # the first job has started
        time.sleep(0.1)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(2)
    assert list(tmp.iterdir()) == []
