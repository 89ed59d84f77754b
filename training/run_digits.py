#!/usr/bin/env python
"""The main job: the digits reference workflow, offline.

1. writes training/data/digits.csv (scikit-learn's bundled digits) if missing;
2. runs the Random (50 training jobs) and Bayesian (50) tuning jobs of specs/, 2 training jobs at a time;
3. runs the warm-started job (25, IdenticalDataAndAlgorithm from both, narrowed ranges);
4. prints a table: job, strategy, training jobs completed, best valid-f1, wall time;
5. writes report.html (and, with --png, PNG charts) when the visualization package is there.

Tuning jobs that already Completed in the store are reported, not run again; ``--fresh`` runs new copies under
suffixed names. ``--home`` chooses the store folder (default $AMTLOCAL_HOME or ~/.amtlocal).
"""
from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPECS = ("random", "bayesian", "warmstart")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default=None, help="local store folder")
    ap.add_argument("--fresh", action="store_true", help="run new copies of the three jobs under suffixed names")
    ap.add_argument("--report", default="report.html", help="where to write the HTML report ('' for none)")
    ap.add_argument("--png", action="store_true", help="also write PNG charts next to the report")
    args = ap.parse_args(argv)

    if not (HERE / "data" / "digits.csv").exists():
        subprocess.run([sys.executable, str(HERE / "prepare_data.py")], check=True)

    from amtlocal.backends.local import LocalBackend
    from amtlocal.spec import load_spec

    backend = LocalBackend(home=args.home)
    suffix = time.strftime("-%m%d%H%M%S") if args.fresh else ""
    rows = []
    for key in SPECS:
        spec = load_spec(HERE / "specs" / f"{key}.json")
        req = copy.deepcopy(spec.request)
        req["HyperParameterTuningJobName"] += suffix
        for p in (req.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs", []):
            p["HyperParameterTuningJobName"] += suffix
        name = req["HyperParameterTuningJobName"]
        reused = backend.exists(name) and backend.describe(name)["HyperParameterTuningJobStatus"] == "Completed"
        print(f"== {name} ({req['HyperParameterTuningJobConfig']['Strategy']}){' already completed in the store' if reused else ''}", flush=True)
        if not reused:
            backend.create_tuning_job(req, spec.base_dir, wait=True, progress=_progress)
            if sys.stderr.isatty():
                print(file=sys.stderr)
        d = backend.describe(name)
        best = d.get("BestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
        overall = d.get("OverallBestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
        wall = (d.get("HyperParameterTuningEndTime") or d["LastModifiedTime"]) - d["CreationTime"]
        rows.append((name, d["HyperParameterTuningJobConfig"]["Strategy"], d["TrainingJobStatusCounters"]["Completed"],
                     d["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"], best, overall,
                     wall.total_seconds(), d["HyperParameterTuningJobStatus"]))

    print()
    print(f"{'job':28} {'strategy':9} {'completed':>9} {'best valid-f1':>13} {'overall best':>12} {'wall time':>10}  status")
    for name, strategy, done, total, best, overall, wall, status in rows:
        b = "-" if best is None else f"{best:.4f}"
        o = "" if overall is None else f"{overall:.4f}"
        print(f"{name:28} {strategy:9} {f'{done}/{total}':>9} {b:>13} {o:>12} {wall:>9.1f}s  {status}")

    if args.report:
        try:
            from amtlocal.viz import write_report
        except ImportError:
            return 0
        path = write_report([r[0] for r in rows], args.report, backend=backend, png=args.png)
        print(f"\nreport: {path}")
    return 0 if all(r[-1] == "Completed" for r in rows) else 1


def _progress(p) -> None:
    best = "-" if p.best is None else f"{p.best:.4f}"
    line = f"  {p.finished}/{p.total} training jobs done, {p.running} running, best {p.metric} {best}"
    if sys.stderr.isatty():  # one redrawn line on a terminal; a line every 10 jobs in a log file
        sys.stderr.write("\r" + line + "   ")
    elif p.finished % 10 == 0 or p.finished == p.total:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
