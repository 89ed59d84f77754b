"""The warm fork server's speed-ups keep the contract: what it learns to preload, what it leaves behind, what a spare
copies ahead. (The script-mode contract itself runs under both launchers in test_cases_scripts and test_faults.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amtlocal.testing import make_request, run_job, summaries, use_script

# Reports, before importing them, whether a lazily imported installed module and a module of its own code folder
# were already imported when the job started.
LAZY_SCRIPT = """\
import argparse, sys
p = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()
state = {"installed": "xml.dom.minidom" in sys.modules, "own": "helper_mod" in sys.modules,
         "secret": __import__("os").environ.get("AWS_SECRET_ACCESS_KEY")}
def main():
    import xml.dom.minidom
    import helper_mod
    print("state: %r" % (state,))
    print("f1: %d" % helper_mod.twice(a.x))
main()
"""


def _log(store, tuning: str, training: str) -> str:
    return (store.training_job_dir(tuning, training) / "logs" / "output.log").read_text()


def _zygote_processes() -> list[int]:
    """Fork servers (and their spares) of this test's home: their environment names it (other tests and other
    users of the machine may run fork servers at the same time)."""
    home = f"AMTLOCAL_HOME={os.environ['AMTLOCAL_HOME']}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"_zygote.py" in (entry / "cmdline").read_bytes() and home in (entry / "environ").read_bytes().split(
                    b"\0"
                ):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_learned_preload_takes_installed_modules_never_the_jobs_own_code(workdir, store, monkeypatch, tmp_path):
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "fork")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "tuner-secret")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where the teacher's report file goes
    (tmp_path / "tmp").mkdir()
    use_script(workdir, LAZY_SCRIPT)
    (workdir / "code" / "helper_mod.py").write_text("def twice(x):\n    return 2 * x\n")
    before = set(_zygote_processes())
    desc = run_job(make_request("lazy", max_jobs=5, integer=[("x", 1, 9, "Linear")]), workdir, store)
    assert desc["TrainingJobStatusCounters"]["Completed"] == 5
    jobs = sorted(summaries("lazy", store), key=lambda s: s["CreationTime"])
    states = [eval(_log(store, "lazy", s["TrainingJobName"]).split("state: ")[1].splitlines()[0]) for s in jobs]
    for s in jobs:  # the objective is still the script's own computation
        assert s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 2 * int(s["TunedHyperParameters"]["x"])
    assert states[0]["installed"] is False  # nothing learned yet
    # Learned from the first job (reaped before the third job starts): preloaded from then on.
    assert [st["installed"] for st in states[2:]] == [True, True, True]
    # A module of the job's own code folder is never preloaded: each job imports its own copy.
    assert [st["own"] for st in states] == [False] * 5
    # The fork server's environment has no tuner credentials, so neither has any job.
    assert [st["secret"] for st in states] == [None] * 5
    # Nothing is left behind: no zygote or spare process, no teacher's report file.
    deadline = time.time() + 5
    while set(_zygote_processes()) - before and time.time() < deadline:
        time.sleep(0.1)
    assert set(_zygote_processes()) - before == set()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_exit_codes_and_signals_come_through_the_status_pipe(workdir, store, monkeypatch):
    """A job's end is reported from its status pipe (0, its own code) or, when it is killed, from waitpid."""
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "fork")
    use_script(
        workdir,
        "import argparse, os, signal, sys\np = argparse.ArgumentParser(); p.add_argument('-x', type=int)\n"
        "x = p.parse_args().x\nprint('f1: %d' % x, flush=True)\n"
        "if x == 2: sys.exit(3)\nif x == 3: os.kill(os.getpid(), signal.SIGKILL)\n",
    )
    run_job(
        make_request("codes", strategy="Grid", max_jobs=None, seed=None, categorical=[("x", ["1", "2", "3"])]),
        workdir,
        store,
    )
    by_x = {s["TunedHyperParameters"]["x"]: s for s in summaries("codes", store)}
    assert by_x["1"]["TrainingJobStatus"] == "Completed"
    assert by_x["2"]["TrainingJobStatus"] == "Failed" and "ExitCode 3\n" in by_x["2"]["FailureReason"]
    assert (
        by_x["3"]["TrainingJobStatus"] == "Failed" and "ExitCode -9 (killed by signal 9" in by_x["3"]["FailureReason"]
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/pagemap is Linux's")
def test_written_pages_are_the_pages_a_child_wrote():
    """The teacher's page report covers what it wrote of the zygote's memory, and not what it only read."""
    code = """
import ctypes, os, sys
sys.path.insert(0, sys.argv[1])
import _zygote_learning as z
page = os.sysconf("SC_PAGE_SIZE")
buf = bytearray(64 * page)
for i in range(0, len(buf), page):
    buf[i] = 1  # present in the parent
z.note_regions()
address = ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    first = (address + page - 1) // page * page  # whole pages inside buf
    written = range(first, first + 8 * page, page)
    read_only = range(first + 16 * page, first + 24 * page, page)
    for a in written:
        buf[a - address] = 2
    total = sum(buf[a - address] for a in read_only)
    runs = z.written_pages()
    covered = lambda a: any(s <= a < s + n for s, n in runs)
    os.write(w, ("%d %d" % (all(map(covered, written)), any(map(covered, read_only)))).encode())
    os._exit(0)
os.close(w)
print(os.read(r, 100).decode())
os.waitpid(pid, 0)
"""
    here = Path(__file__).resolve().parent.parent / "amtlocal" / "runners"
    out = subprocess.run([sys.executable, "-c", code, str(here)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "0"]


def test_a_forked_job_has_the_garbage_collector_on(workdir, store, monkeypatch):
    """The zygote imports with the collector off; the job's interpreter must have it on, as a fresh one does."""
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "fork")
    use_script(
        workdir,
        "import argparse, gc\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); p.parse_args()\n"
        "print('f1: %d' % gc.isenabled())\n",
    )
    run_job(make_request("gcon", max_jobs=3, integer=[("x", 1, 9, "Linear")]), workdir, store)
    assert [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries("gcon", store)] == [1, 1, 1]


def test_an_uncaught_error_prints_the_traceback_a_fresh_interpreter_prints(workdir, store, monkeypatch):
    """Only the script's own frames: none of the fork server's or runpy's (they would also crowd out the error
    line in the stderr tail that FailureReason keeps)."""
    use_script(
        workdir,
        "import argparse\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); p.parse_args()\n"
        "def check(v):\n    raise ValueError('x too small: %d' % v)\ncheck(1)\n",
    )
    logs = {}
    for launcher in ("process", "fork"):
        monkeypatch.setenv("AMTLOCAL_LAUNCHER", launcher)
        run_job(make_request(f"tb-{launcher}", max_jobs=1, integer=[("x", 1, 9, "Linear")]), workdir, store)
        [s] = summaries(f"tb-{launcher}", store)
        log = _log(store, f"tb-{launcher}", s["TrainingJobName"])
        logs[launcher] = [line for line in log.splitlines() if not line.startswith("  File ")]  # paths differ per job
        assert s["TrainingJobStatus"] == "Failed" and "ValueError: x too small: 1" in s["FailureReason"]
        assert "_zygote" not in log and "runpy" not in log
        assert log.count('  File "') == 2  # <module> and check(), as a fresh interpreter prints them
    assert logs["fork"] == logs["process"]


def test_every_job_runs_its_own_copy_of_the_entry_point(workdir, store, monkeypatch):
    """The zygote compiles the entry point once and later jobs take that code object: its file name (and that of
    every function in it) must still be each job's own copy of the script, as a fresh interpreter compiles it."""
    monkeypatch.setenv("AMTLOCAL_LAUNCHER", "fork")
    use_script(
        workdir,
        "import argparse, os, sys\np = argparse.ArgumentParser(); p.add_argument('-x', type=int); p.parse_args()\n"
        "def inner():\n    return sys._getframe().f_code.co_filename\n"
        "here = sys._getframe().f_code.co_filename\n"
        "print('f1: %d' % (inner() == here == __file__ and os.path.dirname(__file__) == os.getcwd()))\n",
    )
    run_job(make_request("own-copy", max_jobs=4, integer=[("x", 1, 9, "Linear")]), workdir, store)
    found = summaries("own-copy", store)
    assert [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in found] == [1, 1, 1, 1]
    assert len({s["TrainingJobName"] for s in found}) == 4
