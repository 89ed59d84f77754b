"""A/B of the digits benchmark at parallelism 1, tuner clock: this tree against another checkout, interleaved.

    .venv/bin/python benchmarks/bench_ab.py --base-tree DIR --base-python PY [--rounds 12] [--jobs 50]

Issue 12's line "no regression (bench_digits p=1 ratio)" compares two versions of amtlocal, which one run of
``bench_digits.py`` cannot: each round here measures the floor once (``bench_digits.py --loop-only JOBS 1`` of this
tree: the in-process Optuna loop, timed from its first import of train.py), then ``bench_digits.py --amtlocal-only JOBS 1
fork`` of each tree (the tuner timed from ``LocalTuningJob.run()``), the order alternating from round to round so
neither side always runs on a machine warmed by the other.

Give both sides the same installed distributions: every training job pays for the size of its environment
(scikit-learn's input check scans ``importlib.metadata.entry_points()`` through narwhals in each new process: about
2 ms with 36 distributions, 7 ms with 167). E.g. ``python -m venv B && B/bin/pip install -c <(pip freeze of this
venv without amtlocal) -e DIR``.

Printed: per round the floor, each side's seconds and CPU seconds and the difference; then medians and means of the
difference (this tree minus the base: negative is faster), of each side's ratio to the floor, and of the CPU
difference, and in how many rounds this tree was faster.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()


def _run(python: str, tree: Path, *args: str) -> list[float]:
    """``bench_digits.py ARGS`` of ``tree`` with ``python``: the numbers of its one printed line."""
    out = subprocess.run(
        [python, str(tree / "benchmarks" / "bench_digits.py"), *args],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [float(x) for x in out if _number(x)]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-tree", required=True, type=Path, help="the other checkout (its benchmarks/ is used)")
    parser.add_argument("--base-python", required=True, help="the interpreter of the base's venv")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    head = (sys.executable, HERE.parent.parent)
    base = (args.base_python, args.base_tree.resolve())
    diffs: list[float] = []
    cpu: list[float] = []
    ratios: dict[str, list[float]] = {"head": [], "base": []}
    for python, tree in (head, base):  # the digits data is made, not committed (training/prepare_data.py)
        if not (tree / "training" / "data" / "digits.csv").exists():
            subprocess.run([python, str(tree / "training" / "prepare_data.py")], cwd=tree, check=True)
    print("round  floor s   base s (cpu)    head s (cpu)    head-base s")
    for r in range(1, args.rounds + 1):
        floor = _run(*head, "--loop-only", str(args.jobs), "1")[0]
        sides = [("base", base), ("head", head)] if r % 2 else [("head", head), ("base", base)]
        got = {name: _run(*side, "--amtlocal-only", str(args.jobs), "1", "fork") for name, side in sides}
        (bw, _, bc), (hw, _, hc) = got["base"][:3], got["head"][:3]
        diffs.append(hw - bw)
        cpu.append(hc - bc)
        ratios["base"].append(bw / floor)
        ratios["head"].append(hw / floor)
        print(f"{r:5d}  {floor:7.2f}  {bw:7.2f} ({bc:5.1f})  {hw:7.2f} ({hc:5.1f})  {hw - bw:+8.2f}", flush=True)
    med, mean = statistics.median, statistics.mean
    print(
        f"head - base: median {med(diffs):+.3f} s, mean {mean(diffs):+.3f} s per {args.jobs} jobs; "
        f"head faster in {sum(d < 0 for d in diffs)} of {len(diffs)} rounds"
    )
    print(
        f"ratio to the floor: head median {med(ratios['head']):.3f} mean {mean(ratios['head']):.3f}; "
        f"base median {med(ratios['base']):.3f} mean {mean(ratios['base']):.3f}"
    )
    print(f"CPU head - base: median {med(cpu):+.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
