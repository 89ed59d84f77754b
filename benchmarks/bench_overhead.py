"""Benchmarks (b) and (d): per-training-job overhead with a trivial train.py that prints one metric.

    .venv/bin/python benchmarks/bench_overhead.py [--jobs 40] [--many 750]

(b) mean wall time per training job for each launcher (fork server vs a new process per job);
(d) a 750-job TPE tuning job: mean time per job over jobs 1-50 (around job 10) against the last 50 (job 750).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import run_request, trivial_request  # noqa: E402


def per_job_times(desc_name: str, home: Path) -> list[float]:
    """Seconds between consecutive training-job creations, in order (the loop's cost per job)."""
    from amtlocal.backends.local import LocalStore, list_training_jobs

    study = LocalStore(home).load(desc_name)
    rows = list_training_jobs(study, SortBy="CreationTime", MaxResults=100)
    summaries = list(rows["TrainingJobSummaries"])
    while rows.get("NextToken"):
        rows = list_training_jobs(study, SortBy="CreationTime", MaxResults=100, NextToken=rows["NextToken"])
        summaries += rows["TrainingJobSummaries"]
    ends = [s["TrainingEndTime"] for s in summaries]
    return [(b - a).total_seconds() for a, b in zip(ends, ends[1:])]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=40)
    ap.add_argument("--many", type=int, default=750)
    args = ap.parse_args()
    print(f"(b) trivial train.py, {args.jobs} training jobs, 1 at a time")
    walls = {}
    for launcher in ("fork", "process"):
        code = Path(tempfile.mkdtemp())
        wall, _ = run_request(trivial_request("overhead", code, args.jobs), code, launcher)
        walls[launcher] = wall
        print(f"  {launcher:7}: {wall / args.jobs * 1000:7.1f} ms per training job ({wall:.1f} s)")
    print(f"  process / fork: {walls['process'] / walls['fork']:.2f}")
    if args.many:
        print(f"(d) {args.many} training jobs, Bayesian (TPE), fork launcher")
        code, home = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
        wall, desc = run_request(trivial_request("many", code, args.many, strategy="Bayesian"), code, "fork", home)
        gaps = per_job_times("many", home)
        early, late = gaps[:50], gaps[-50:]
        e, l_ = sum(early) / len(early), sum(late) / len(late)
        print(
            f"  total {wall:.1f} s; per job around job 10: {e * 1000:.1f} ms; around job {args.many}: {l_ * 1000:.1f} ms; ratio {l_ / e:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
