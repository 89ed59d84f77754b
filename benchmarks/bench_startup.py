"""Benchmark (e): start-up of ``amtlocal --help`` and ``import amtlocal`` (best of 5 runs, wall seconds), and the
time to the first training job of ``amtlocal tune`` (issue 18 item 4; medians of 5 runs).

    .venv/bin/python benchmarks/bench_startup.py [--first-job-runs 5]

Baseline in the same run: ``python -c pass`` (the interpreter alone). Target: ``amtlocal --help`` under 0.3 s.

Time to the first training job: from just before ``amtlocal tune SPEC --home <new folder>`` starts to the first line
of its training job's train.py after the script's imports (the script writes ``time.time()`` to a file), for a
one-job Random tuning job whose script imports nothing heavy ("trivial") and one that imports what the digits job
imports ("pandas + scikit-learn": pandas, sklearn.ensemble, sklearn.metrics, sklearn.model_selection, joblib). The
floor beside the latter: a new interpreter importing the same modules (``python -c "import ..."``), what any run of
that script pays. Everything amtlocal adds (CLI start, validation, the store, the fork server) shows as the
difference; the machine's load is printed, since both figures grow with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import trivial_request  # noqa: E402

HEAVY = ["pandas", "sklearn.ensemble", "sklearn.metrics", "sklearn.model_selection", "joblib"]


def best_of(cmd: list[str], n: int = 5) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def first_job(exe: str, imports: list[str]) -> tuple[float, float]:
    """One ``amtlocal tune`` of one training job whose train.py imports ``imports`` and then notes the time; returns
    (seconds from before the CLI's start to the script's first line after its imports, seconds to the CLI's exit)."""
    work = Path(tempfile.mkdtemp(prefix="amtlocal-first-"))
    (work / "code").mkdir()
    mark = work / "started"
    request = trivial_request("first-job", work / "code", jobs=1)
    script = (work / "code" / "train.py").read_text()
    head = "".join(f"import {m}\n" for m in imports)
    note = f"import time\nwith open({str(mark)!r}, 'w') as f:\n    f.write(repr(time.time()))\n"
    (work / "code" / "train.py").write_text(head + note + script)
    (work / "spec.json").write_text(json.dumps(request))
    start = time.time()
    subprocess.run(
        [exe, "tune", str(work / "spec.json"), "--home", str(work / "home")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    end = time.time()
    started = float(mark.read_text())
    shutil.rmtree(work, ignore_errors=True)
    return started - start, end - start


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--first-job-runs", type=int, default=5, help="runs of each time-to-first-job measurement")
    args = ap.parse_args()
    exe = shutil.which("amtlocal") or str(Path(sys.executable).with_name("amtlocal"))
    base = best_of([sys.executable, "-c", "pass"])
    imp = best_of([sys.executable, "-c", "import amtlocal"])
    helps = best_of([exe, "--help"])
    print(f"python -c pass   : {base:.3f} s")
    print(f"import amtlocal  : {imp:.3f} s  (+{imp - base:.3f} s over the interpreter)")
    print(f"amtlocal --help  : {helps:.3f} s  (target < 0.3 s)")
    med = statistics.median
    print(
        f"time to the first training job of amtlocal tune, medians of {args.first_job_runs} (load {os.getloadavg()[0]:.1f}):"
    )
    for label, imports in (("trivial", []), ("pandas + scikit-learn", HEAVY)):
        runs = [first_job(exe, imports) for _ in range(args.first_job_runs)]
        line = (
            f"  {label:22}: first job at {med(r[0] for r in runs):.2f} s, CLI exit at {med(r[1] for r in runs):.2f} s"
        )
        if imports:
            floor = med(
                best_of([sys.executable, "-c", "import " + ", ".join(imports)], 1) for _ in range(args.first_job_runs)
            )
            line += f"; floor (a new interpreter importing them) {floor:.2f} s"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
