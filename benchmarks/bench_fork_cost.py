"""What one forked digits training job costs in CPU against the same run in-process (Linux only).

    .venv/bin/python benchmarks/bench_fork_cost.py [--runs 24]

Imports train.py's modules once, as the fork server does (collector off, then ``gc.freeze()``), then runs train.py
(``runpy``, output to /dev/null) ``--runs`` times in a forked child each ("forked": the fork server's case, a parent
that never ran the job's code), then as many times in this process ("in-process": the floor's case), then again in
forked children of this process, which has now run train.py ("warm fork"). Each child first copies the pages it
inherited (as a spare copies ahead the pages jobs write), then is timed from inside: wall, user and system CPU, minor
page faults; for one child also the memory it holds privately, split into the fork server's pages it copied and new
memory. "forked" against "warm fork" is what a process that has never run the job's code pays on each job's first
run (library state filled on first use, CPython's adaptive specialisation of the library code): the part of a forked
job's cost that copying pages ahead cannot remove (see README, Performance).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import resource
import runpy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT  # noqa: E402

SCRIPT = ROOT / "training" / "scripts" / "train.py"
DATA = ROOT / "training" / "data"


def _argv(i: int) -> list[str]:
    return [
        "train.py",
        "--train",
        str(DATA),
        "--model-dir",
        "/tmp/amtlocal-bench-model",
        "--n-estimators",
        str((20, 60, 100, 140)[i % 4]),
        "--max-depth",
        "10",
    ]


def _run() -> None:
    try:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    except SystemExit as e:  # train.py ends with sys.exit(main())
        if e.code not in (None, 0):
            raise


def _private_kib(regions: list[tuple[int, int]]) -> dict[str, int]:
    """Private_Dirty KiB of this process: in mappings it inherited (copied on write) and in new ones."""
    out = {"copied": 0, "new": 0}
    where = None
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                start = int(head[0].split("-")[0], 16)
                where = "copied" if any(a <= start < b for a, b in regions) else "new"
            elif head[0] == "Private_Dirty:":
                out[where] += int(head[1])
    return out


def _populate(regions: list[tuple[int, int]]) -> None:
    """Copy every inherited private writable page now (``MADV_POPULATE_WRITE``), as a spare copies ahead the pages
    jobs write, so that the timed run pays no copy-on-write faults; nothing where the kernel lacks it."""
    import ctypes

    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    for start, end in regions:
        madvise(start, end - start, 23)


def _forked_runs(runs: int, regions: list[tuple[int, int]], populate: bool = True) -> list[tuple]:
    """train.py run ``runs`` times, each in a child forked from this process, its pages copied before the clock
    starts (``populate``); per run (wall, user, system, minor faults, private memory after the middle run), measured
    in the child."""
    from amtlocal.runners import _zygote_learning

    writable = [r for r in _zygote_learning.private_regions() if any(a <= r[0] < b for a, b in regions)]
    out = []
    for i in range(runs):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            if populate:
                _populate(writable)
            gc.enable()
            sys.argv = _argv(i)
            sys.stdout = open(os.devnull, "w")
            before = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            _run()
            gc.collect()
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_SELF)
            report = {
                "m": [
                    wall,
                    after.ru_utime - before.ru_utime,
                    after.ru_stime - before.ru_stime,
                    after.ru_minflt - before.ru_minflt,
                ],
                "private": _private_kib(regions) if i == runs // 2 or runs == 1 else {},
            }
            os.write(w, json.dumps(report).encode())
            os._exit(0)
        os.close(w)
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        report = json.loads(data)
        out.append((*report["m"], report["private"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=24)
    runs = ap.parse_args().runs
    if not (DATA / "digits.csv").exists():
        import subprocess

        subprocess.run([sys.executable, str(ROOT / "training" / "prepare_data.py")], check=True)
    from amtlocal.runners import modules_to_preload

    gc.disable()
    for name in modules_to_preload(SCRIPT, SCRIPT.parent) + ["narwhals"]:
        importlib.import_module(name)
    gc.freeze()
    with open("/proc/self/maps") as f:
        regions = [tuple(int(x, 16) for x in line.split()[0].split("-")) for line in f]
    forked = _forked_runs(runs, regions)
    gc.enable()
    here = []
    saved = sys.stdout
    for i in range(runs):
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        sys.argv = _argv(i)
        sys.stdout = open(os.devnull, "w")
        _run()
        sys.stdout.close()
        sys.stdout = saved
        after = resource.getrusage(resource.RUSAGE_SELF)
        here.append(
            (
                time.perf_counter() - start,
                after.ru_utime - before.ru_utime,
                after.ru_stime - before.ru_stime,
                after.ru_minflt - before.ru_minflt,
            )
        )
    skip = min(4, runs // 4)  # the first runs warm the page cache and (in-process) Python's own caches

    def row(label, xs):
        m = [statistics.mean(x[k] for x in xs[skip:]) for k in range(4)]
        print(
            f"  {label:10} wall {m[0] * 1e3:6.1f} ms  user {m[1] * 1e3:6.1f} ms  system {m[2] * 1e3:5.1f} ms  minor faults {m[3]:6.0f}"
        )
        return m

    warm = _forked_runs(runs, regions)  # this process has now run train.py: its children start warm
    print(f"digits train.py, {runs} runs each, means after the first {skip}:")
    f, h, w = row("forked", forked), row("in-process", here), row("warm fork", warm)
    print(f"  forked / in-process CPU: {(f[1] + f[2]) / (h[1] + h[2]):.2f}")
    print(f"  forked from a process that ran train.py before / in-process CPU: {(w[1] + w[2]) / (h[1] + h[2]):.2f}")
    private = _forked_runs(1, regions, populate=False)[0][4]  # what a job copies on write, nothing copied ahead
    print(
        f"  one forked job's private memory: {private['copied'] / 1024:.1f} MiB copied from the fork server's pages, "
        f"{private['new'] / 1024:.1f} MiB new"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
