"""Benchmark (e): start-up of ``amtlocal --help`` and ``import amtlocal`` (best of 5 runs, wall seconds).

    .venv/bin/python benchmarks/bench_startup.py

Baseline in the same run: ``python -c pass`` (the interpreter alone). Target: ``amtlocal --help`` under 0.3 s.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time


def best_of(cmd: list[str], n: int = 5) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    exe = shutil.which("amtlocal") or str(__import__("pathlib").Path(sys.executable).with_name("amtlocal"))
    base = best_of([sys.executable, "-c", "pass"])
    imp = best_of([sys.executable, "-c", "import amtlocal"])
    helps = best_of([exe, "--help"])
    print(f"python -c pass   : {base:.3f} s")
    print(f"import amtlocal  : {imp:.3f} s  (+{imp - base:.3f} s over the interpreter)")
    print(f"amtlocal --help  : {helps:.3f} s  (target < 0.3 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
