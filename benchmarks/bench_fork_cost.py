"""What one forked digits training job costs in CPU against the same run in-process (Linux only).

    .venv/bin/python benchmarks/bench_fork_cost.py [--runs 24]

Imports train.py's modules once, as the fork server does (collector off, then ``gc.freeze()``), then runs train.py
(``runpy``, output to /dev/null) ``--runs`` times in a forked child each, then as many times in this process. Prints
per run: wall, user and system CPU (the child's, teardown included, from ``RUSAGE_CHILDREN``), minor page faults, and
for one child the memory it holds privately, split into the fork server's pages it copied (copy-on-write) and new
memory. This is the per-job CPU that parallelism 2 pays on busy cores (see README, Performance).
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
    forked = []
    for i in range(runs):
        r, w = os.pipe()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            gc.enable()
            sys.argv = _argv(i)
            sys.stdout = open(os.devnull, "w")
            _run()
            gc.collect()
            os.write(w, json.dumps(_private_kib(regions) if i == runs // 2 else {}).encode())
            os._exit(0)
        os.close(w)
        report = json.loads(os.read(r, 4096) or b"{}")
        os.close(r)
        os.waitpid(pid, 0)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        forked.append(
            (
                wall,
                after.ru_utime - before.ru_utime,
                after.ru_stime - before.ru_stime,
                after.ru_minflt - before.ru_minflt,
            )
        )
        if report:
            private = report
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

    print(f"digits train.py, {runs} runs each, means after the first {skip}:")
    f, h = row("forked", forked), row("in-process", here)
    print(f"  forked / in-process CPU: {(f[1] + f[2]) / (h[1] + h[2]):.2f}")
    print(
        f"  one forked job's private memory: {private['copied'] / 1024:.1f} MiB copied from the fork server's pages, "
        f"{private['new'] / 1024:.1f} MiB new"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
