"""Benchmark (a): the digits Random job (50 training jobs, seed 1) against a plain in-process Optuna loop calling the
same train.py code with the same sampler and seed (the floor), at parallelism 1 and 2. Both pay the imports of
train.py (pandas, scikit-learn) once: the floor in its process, amtlocal in its fork server.

    .venv/bin/python benchmarks/bench_digits.py [--jobs 50] [--launchers fork,process] [--repeat 3]

Every measurement runs in a new interpreter (timed after the interpreter and the tool itself are imported), so
none finds modules imported by an earlier one. Prints wall times and the ratios amtlocal / floor (target <= 1.25 at parallelism 1 with the fork launcher) and
parallelism-2 speed-up (target >= 1.7), per round and as medians over the rounds.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, run_request, timer  # noqa: E402

TRAINING = ROOT / "training"


def floor(jobs: int, parallel: int) -> tuple[float, float]:
    """The floor, measured in a new interpreter each time, so that every measurement pays train.py's imports
    (a second measurement in one process would find pandas and scikit-learn imported already)."""
    import subprocess

    out = subprocess.run(
        [sys.executable, __file__, "--floor-only", str(jobs), str(parallel)], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def _floor_here(jobs: int, parallel: int) -> tuple[float, float]:
    """In-process Optuna: the same parse/load/fit/score/save as train.py's main, per trial."""
    import optuna

    start = time.perf_counter()  # the floor pays its imports once, as amtlocal's fork server does
    spec = importlib.util.spec_from_file_location("digits_train", TRAINING / "scripts" / "train.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    imported = time.perf_counter() - start
    model_dir = tempfile.mkdtemp()
    data = str(TRAINING / "data")

    def objective(trial):
        args = train.parse_args(
            [
                "--train",
                data,
                "--model-dir",
                model_dir,
                "--n-estimators",
                str(trial.suggest_int("n-estimators", 1, 200)),
                "--max-depth",
                str(trial.suggest_int("max-depth", 1, 20)),
                "--min-samples-leaf",
                str(trial.suggest_int("min-samples-leaf", 1, 10)),
                "--min-weight-fraction-leaf",
                repr(trial.suggest_float("min-weight-fraction-leaf", 0.01, 0.5)),
                "--criterion",
                trial.suggest_categorical("criterion", ["gini", "entropy", "log_loss"]),
            ]
        )
        split = train.load_split(args.train)
        model, _, _, f1 = train.evaluate(
            split,
            n_estimators=args.n_estimators,
            max_depth=args.max_depth,
            min_samples_leaf=args.min_samples_leaf,
            min_weight_fraction_leaf=args.min_weight_fraction_leaf,
            criterion=args.criterion,
        )
        train.joblib.dump(model, Path(model_dir) / "model.joblib")
        return f1

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    with timer() as t:
        study.optimize(objective, n_trials=jobs, n_jobs=parallel)
    return t() + imported, study.best_value


def amtlocal(jobs: int, parallel: int, launcher: str) -> tuple[float, float, float]:
    """amtlocal's local backend, also in a new interpreter each time (nothing cached from an earlier measurement);
    timed from LocalTuningJob.run() to its return, as the floor is timed from its first import of train.py.
    Returns (wall seconds, best objective, CPU seconds of the tuner and every process it started, user + system)."""
    import subprocess

    out = subprocess.run(
        [sys.executable, __file__, "--amtlocal-only", str(jobs), str(parallel), launcher],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its waited-for descendants (the fork server reaps the training jobs;
    it is reaped when the tuning job ends), in seconds."""
    import resource

    return sum(
        u.ru_utime + u.ru_stime
        for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def _amtlocal_here(jobs: int, parallel: int, launcher: str) -> tuple[float, float, float]:
    request = json.loads((TRAINING / "specs" / "random.json").read_text())
    request = copy.deepcopy(request)
    request["HyperParameterTuningJobConfig"]["ResourceLimits"] = {
        "MaxNumberOfTrainingJobs": jobs,
        "MaxParallelTrainingJobs": parallel,
    }
    cpu = _cpu_seconds()
    wall, desc = run_request(request, TRAINING / "specs", launcher)
    cpu = _cpu_seconds() - cpu
    return wall, desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], cpu


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=50)
    ap.add_argument("--launchers", default="fork,process")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds; each round measures the floor and every launcher "
        "back to back, and the medians of the per-round figures are printed (a shared machine is noisy)",
    )
    args = ap.parse_args()
    if not (TRAINING / "data" / "digits.csv").exists():
        import subprocess

        subprocess.run([sys.executable, str(TRAINING / "prepare_data.py")], check=True)
    launchers = args.launchers.split(",")
    print(f"digits Random, {args.jobs} training jobs, seed 1, {args.repeat} round(s)")
    walls: dict = {}
    cpus: dict = {}
    for r in range(args.repeat):
        for parallel in (1, 2):
            f_wall, f_best = floor(args.jobs, parallel)
            walls.setdefault(("floor", parallel), []).append(f_wall)
            print(f"  round {r + 1} floor   p={parallel}: {f_wall:7.1f} s  best f1 {f_best:.4f}")
            for launcher in launchers:
                if launcher == "process" and r > 0:
                    continue  # minutes per round, and far from any target: measured once
                wall, best, cpu = amtlocal(args.jobs, parallel, launcher)
                walls.setdefault((launcher, parallel), []).append(wall)
                cpus.setdefault((launcher, parallel), []).append(cpu)
                print(
                    f"  round {r + 1} {launcher:7} p={parallel}: {wall:7.1f} s  best f1 {best:.4f}  ratio to floor {wall / f_wall:.2f}"
                    f"  CPU {cpu:.1f} s ({cpu / wall:.2f} cores busy)"
                )
    med = statistics.median
    print("medians over rounds:")
    for launcher in launchers:
        n = len(walls[(launcher, 1)])
        ratios = [walls[(launcher, 1)][i] / walls[("floor", 1)][i] for i in range(n)]
        speedups = [walls[(launcher, 1)][i] / walls[(launcher, 2)][i] for i in range(n)]
        print(
            f"  {launcher}: p=1 {med(walls[(launcher, 1)]):.1f} s, ratio to floor {med(ratios):.2f} (target <= 1.25); "
            f"p=2 {med(walls[(launcher, 2)]):.1f} s, {med(speedups):.2f}x faster than p=1 (target >= 1.7)"
        )
        # The most parallelism 2 can gain with the CPU work it did: all of it spread over both cores (a bound that
        # ignores the one-core start-up, so the true ceiling is lower).
        ceilings = [walls[(launcher, 1)][i] / (cpus[(launcher, 2)][i] / 2) for i in range(n)]
        print(
            f"    CPU at p=1 {med(cpus[(launcher, 1)]):.1f} s, at p=2 {med(cpus[(launcher, 2)]):.1f} s "
            f"({med(cpus[(launcher, 2)][i] / walls[(launcher, 2)][i] for i in range(n)):.2f} of 2 cores busy); "
            f"p=1 wall / (p=2 CPU / 2) = {med(ceilings):.2f}x: the most p=2 could gain doing the same work on 2 cores"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    if sys.argv[1:2] == ["--floor-only"]:
        print(*_floor_here(int(sys.argv[2]), int(sys.argv[3])))
        sys.exit(0)
    if sys.argv[1:2] == ["--amtlocal-only"]:
        print(*_amtlocal_here(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
