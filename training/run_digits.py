#!/usr/bin/env python
"""The main job: the digits reference workflow, offline, in the order users meet it.

1. writes training/data/digits.csv (scikit-learn's bundled digits) if missing;
2. runs ONE training job (specs/train.json, a CreateTrainingJob request with fixed hyperparameters; its model lands in
   training/output/digits-train/output/model.tar.gz);
3. starts the Random (50 training jobs) and Bayesian (50) tuning jobs of specs/ TOGETHER, each in a background worker
   (``wait=False``, as the reference notebook starts them), 2 training jobs at a time each, and waits for both;
4. runs the warm-started job (25, IdenticalDataAndAlgorithm from both, narrowed ranges);
5. prints a table: job, kind/strategy, training jobs completed, best valid-f1, wall time; and the whole run's time;
6. writes report.html (and, with --png, PNG charts) when the visualization package is there, and says how to open it.

Jobs that already Completed in the store are reported, not run again; ``--fresh`` runs new copies under suffixed
names. ``--home`` chooses the store folder (default $AMTLOCAL_HOME or ~/.amtlocal). Ctrl-C stops the running tuning
jobs (Stopped; the next run resumes them).
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOGETHER = ("random", "bayesian")  # started at once, as the notebook does with wait=False
POLL_SECONDS = 1.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default=None, help="local store folder")
    ap.add_argument("--fresh", action="store_true", help="run new copies of the four jobs under suffixed names")
    ap.add_argument("--report", default="report.html", help="where to write the HTML report ('' for none)")
    ap.add_argument("--png", action="store_true", help="also write PNG charts next to the report")
    args = ap.parse_args(argv)
    started = time.monotonic()

    if not (HERE / "data" / "digits.csv").exists():
        subprocess.run([sys.executable, str(HERE / "prepare_data.py")], check=True)

    from amtlocal.backends.local import LocalBackend

    backend = LocalBackend(home=args.home)
    suffix = time.strftime("-%m%d%H%M%S") if args.fresh else ""
    try:
        rows = [training_job(backend, suffix)]
    except KeyboardInterrupt:  # the backend stopped the job and recorded it Stopped
        print("\ninterrupted: the training job is Stopped", file=sys.stderr)
        return 130
    try:
        names = [start_tuning_job(backend, key, suffix) for key in TOGETHER]
        wait_for(backend, names)
    except KeyboardInterrupt:
        for name in names_started(backend, suffix):
            backend.stop(name)
        print("\ninterrupted: the tuning jobs are Stopped; run the same command again to resume them", file=sys.stderr)
        return 130
    rows += [tuning_row(backend, n) for n in names]
    warm = run_warm_start(backend, suffix)
    rows.append(tuning_row(backend, warm))

    print()
    print(
        f"{'job':28} {'kind':21} {'completed':>9} {'best valid-f1':>13} {'overall best':>12} {'wall time':>10}  status"
    )
    for name, kind, done, total, best, overall, wall, status in rows:
        b = "-" if best is None else f"{best:.4f}"
        o = "" if overall is None else f"{overall:.4f}"
        print(f"{name:28} {kind:21} {f'{done}/{total}':>9} {b:>13} {o:>12} {wall:>9.1f}s  {status}")

    if args.report:
        try:
            from amtlocal.viz import write_report
        except ImportError:
            write_report = None
        if write_report is not None:
            path = Path(write_report([r[0] for r in rows[1:]], args.report, backend=backend, png=args.png)).resolve()
            print(f"\nreport: {path}")
            print(
                f"open it in a browser (it works offline): {path.as_uri()}"
                f"{'  (or: xdg-open ' + str(path) + ')' if sys.platform.startswith('linux') else ''}"
            )
    print(f"\nthis run took {time.monotonic() - started:.1f}s")
    return 0 if all(r[-1] == "Completed" for r in rows) else 1


def training_job(backend, suffix: str) -> tuple:
    """Run specs/train.json through the backend's CreateTrainingJob (or report it if it Completed before); returns
    its table row. A name taken by a job that did not complete gets a time suffix (training job names are unique)."""
    from amtlocal.exceptions import TrainingJobNotFound
    from amtlocal.spec import read_request

    request = read_request(HERE / "specs" / "train.json")
    request["TrainingJobName"] += suffix
    name = request["TrainingJobName"]
    try:
        desc = backend.describe_training_job(name)
    except TrainingJobNotFound:
        desc = None
    reused = desc is not None and desc["TrainingJobStatus"] == "Completed"
    if desc is not None and not reused:
        name = request["TrainingJobName"] = name + time.strftime("-%m%d%H%M%S")
    print(f"== {name} (one training job){' already completed in the store' if reused else ''}", flush=True)
    if not reused:
        desc = backend.create_training_job(request, HERE / "specs", wait=True)
    metrics = {m["MetricName"]: m["Value"] for m in desc.get("FinalMetricDataList") or []}
    if desc["TrainingJobStatus"] == "Completed":
        print(
            f"   valid-f1 {metrics.get('valid-f1', float('nan')):.4f}, model {desc['ModelArtifacts']['S3ModelArtifacts']}"
        )
    else:
        print(f"   {desc['TrainingJobStatus']}: {desc.get('FailureReason', '')}")
    wall = (desc.get("TrainingEndTime") or desc["LastModifiedTime"]) - desc["CreationTime"]
    done = int(desc["TrainingJobStatus"] == "Completed")
    return (
        name,
        "training job",
        done,
        1,
        metrics.get("valid-f1"),
        None,
        wall.total_seconds(),
        desc["TrainingJobStatus"],
    )


def _request(key: str, suffix: str) -> tuple[dict, Path]:
    from amtlocal.spec import load_spec

    spec = load_spec(HERE / "specs" / f"{key}.json")
    req = copy.deepcopy(spec.request)
    req["HyperParameterTuningJobName"] += suffix
    for p in (req.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs", []):
        p["HyperParameterTuningJobName"] += suffix
    return req, spec.base_dir


def _completed(backend, name: str) -> bool:
    return backend.exists(name) and backend.describe(name)["HyperParameterTuningJobStatus"] == "Completed"


def start_tuning_job(backend, key: str, suffix: str) -> str:
    """Start specs/<key>.json in a background worker (``wait=False``) unless it Completed before; returns its name."""
    req, base_dir = _request(key, suffix)
    name = req["HyperParameterTuningJobName"]
    reused = _completed(backend, name)
    print(
        f"== {name} ({req['HyperParameterTuningJobConfig']['Strategy']})"
        f"{' already completed in the store' if reused else ', started in the background'}",
        flush=True,
    )
    if not reused:
        backend.create_tuning_job(req, base_dir, wait=False)
    return name


def names_started(backend, suffix: str) -> list[str]:
    return [n for n in (_request(k, suffix)[0]["HyperParameterTuningJobName"] for k in TOGETHER) if backend.exists(n)]


def wait_for(backend, names: list[str]) -> None:
    """Poll DescribeHyperParameterTuningJob of ``names`` until every one has ended, printing their progress (one
    redrawn line on a terminal, a line per 10 completed training jobs in a log)."""
    from amtlocal.lifecycle import is_terminal

    logged = -1
    while True:
        descs = [backend.describe(n) for n in names]
        parts, completed = [], 0
        for d in descs:
            c = d["TrainingJobStatusCounters"]  # Completed: those that count, never the interrupted ones run again
            completed += c["Completed"]
            best = d.get("BestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
            total = d["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
            parts.append(
                f"{d['HyperParameterTuningJobName']} {c['Completed']}/{total} completed"
                f" (best {'-' if best is None else f'{best:.4f}'})"
            )
        line = "  " + ", ".join(parts)
        ended = all(is_terminal(d["HyperParameterTuningJobStatus"]) for d in descs)
        if sys.stderr.isatty():
            sys.stderr.write("\r" + line + "   " + ("\n" if ended else ""))
        elif ended or completed // 10 > logged:
            sys.stderr.write(line + "\n")
            logged = completed // 10
        sys.stderr.flush()
        if ended:
            return
        time.sleep(POLL_SECONDS)


def run_warm_start(backend, suffix: str) -> str:
    req, base_dir = _request("warmstart", suffix)
    name = req["HyperParameterTuningJobName"]
    reused = _completed(backend, name)
    print(
        f"== {name} ({req['HyperParameterTuningJobConfig']['Strategy']}, warm start from "
        f"{' and '.join(p['HyperParameterTuningJobName'] for p in req['WarmStartConfig']['ParentHyperParameterTuningJobs'])})"
        f"{' already completed in the store' if reused else ''}",
        flush=True,
    )
    if not reused:
        backend.create_tuning_job(req, base_dir, wait=True, progress=_progress)
        if sys.stderr.isatty():
            print(file=sys.stderr)
    return name


def tuning_row(backend, name: str) -> tuple:
    d = backend.describe(name)
    best = d.get("BestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
    overall = d.get("OverallBestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
    wall = (d.get("HyperParameterTuningEndTime") or d["LastModifiedTime"]) - d["CreationTime"]
    cfg = d["HyperParameterTuningJobConfig"]
    kind = f"tuning, {cfg['Strategy']}" + (" warm" if d.get("WarmStartConfig") else "")
    return (
        name,
        kind,
        d["TrainingJobStatusCounters"]["Completed"],
        cfg["ResourceLimits"]["MaxNumberOfTrainingJobs"],
        best,
        overall,
        wall.total_seconds(),
        d["HyperParameterTuningJobStatus"],
    )


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
