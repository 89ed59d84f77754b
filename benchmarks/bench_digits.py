"""Benchmark (a): the digits Random job (50 training jobs, seed 1) against the best floor, at parallelism 1 and 2.

    .venv/bin/python benchmarks/bench_digits.py [--jobs 50] [--repeat 3] [--launchers fork[,process]] [--tuner-clock]

Every side is a whole process, timed from its start to its exit (interpreter start, imports, validation, the store
and every training job included), so none finds modules imported by an earlier measurement (issue 18):

- amtlocal: ``amtlocal tune SPEC --home <new folder>`` (``AMTLOCAL_LAUNCHER`` = the launcher);
- floor "loop": ``study.optimize`` over the same train.py code in one interpreter (``n_jobs=P`` threads), Optuna's
  RandomSampler with the same seed, so the same 50 configurations;
- floor "pool": the same 50 configurations (drawn first, as above), the same function, run by joblib's loky pool
  (``Parallel(n_jobs=P)``: a pool of P warm worker processes; at P = 1 joblib runs them in its own process).

Printed per round and as medians of the rounds: wall seconds, amtlocal / best floor (target <= 1.10 at P = 1 and
P = 2), and CPU seconds (user + system of the process and every process it waited for: ``RUSAGE_CHILDREN``), which
a shared machine disturbs less than wall time. ``--tuner-clock`` measures instead as before (issue 12's line): the
tuner timed from ``LocalTuningJob.run()`` and the loop floor from its first import of train.py, both in a new
interpreter, P = 1 ratio target <= 1.25.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, run_request, timer  # noqa: E402

TRAINING = ROOT / "training"
HERE = Path(__file__).resolve()
_train_module = None


def _train():
    """train.py of the digits job, loaded by path once per process."""
    global _train_module
    if _train_module is None:
        spec = importlib.util.spec_from_file_location("digits_train", TRAINING / "scripts" / "train.py")
        assert spec is not None and spec.loader is not None
        _train_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_train_module)
    return _train_module


def trial(params: dict, model_dir: str) -> float:
    """One training job's work, as train.py's main does it: parse, load, fit, score, save; returns the F1."""
    train = _train()
    argv = ["--train", str(TRAINING / "data"), "--model-dir", model_dir]
    for name, value in params.items():
        argv += [f"--{name}", repr(value) if isinstance(value, float) else str(value)]
    args = train.parse_args(argv)
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


def _suggest(trial) -> dict:
    """The random.json ranges, in its order (Optuna's RandomSampler then draws what amtlocal's tuner draws)."""
    return {
        "n-estimators": trial.suggest_int("n-estimators", 1, 200),
        "max-depth": trial.suggest_int("max-depth", 1, 20),
        "min-samples-leaf": trial.suggest_int("min-samples-leaf", 1, 10),
        "min-weight-fraction-leaf": trial.suggest_float("min-weight-fraction-leaf", 0.01, 0.5),
        "criterion": trial.suggest_categorical("criterion", ["gini", "entropy", "log_loss"]),
    }


def _loop_here(jobs: int, parallel: int) -> tuple[float, float]:
    """Floor "loop": in-process Optuna. Returns (seconds from the first import of train.py, best F1)."""
    import optuna

    start = time.perf_counter()  # the floor pays its imports once, as amtlocal's fork server does
    _train()
    imported = time.perf_counter() - start
    model_dir = tempfile.mkdtemp()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    with timer() as t:
        study.optimize(lambda tr: trial(_suggest(tr), model_dir), n_trials=jobs, n_jobs=parallel)
    return t() + imported, study.best_value


def _pool_here(jobs: int, parallel: int) -> tuple[float, float]:
    """Floor "pool": the same configurations run by a joblib loky pool of ``parallel`` workers. Returns (seconds
    from the first import of train.py in this process, best F1)."""
    import optuna
    from joblib import Parallel, delayed

    start = time.perf_counter()
    _train()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    configs = [_suggest(study.ask()) for _ in range(jobs)]
    model_dir = tempfile.mkdtemp()
    scores = Parallel(n_jobs=parallel, backend="loky")(delayed(trial)(c, model_dir) for c in configs)
    return time.perf_counter() - start, max(scores)


def whole(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run ``cmd`` to its end; (wall seconds from before its start to after its exit, CPU seconds of it and every
    process it waited for, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def _request(jobs: int, parallel: int) -> dict:
    request = copy.deepcopy(json.loads((TRAINING / "specs" / "random.json").read_text()))
    request["HyperParameterTuningJobConfig"]["ResourceLimits"] = {
        "MaxNumberOfTrainingJobs": jobs,
        "MaxParallelTrainingJobs": parallel,
    }
    return request


def amtlocal_cli(jobs: int, parallel: int, launcher: str) -> tuple[float, float, float]:
    """``amtlocal tune`` in a new home; (wall, CPU, best F1). The spec names its folders by absolute file:// URIs."""
    work = Path(tempfile.mkdtemp(prefix="amtlocal-bench-"))
    text = json.dumps(_request(jobs, parallel))
    text = text.replace("file://../scripts", f"file://{TRAINING / 'scripts'}")
    text = text.replace("file://../data", f"file://{TRAINING / 'data'}")
    (work / "spec.json").write_text(text)
    exe = Path(sys.executable).with_name("amtlocal")
    env = dict(os.environ, AMTLOCAL_LAUNCHER=launcher)
    try:
        wall, cpu, out = whole([str(exe), "tune", str(work / "spec.json"), "--home", str(work / "home")], env)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # 50 job folders per run
    best = float(out.rsplit("valid-f1=", 1)[1].split()[0])
    return wall, cpu, best


def floor_process(kind: str, jobs: int, parallel: int) -> tuple[float, float, float, float]:
    """A floor in a new interpreter: (whole-process wall, CPU, its own clock from train.py's import, best F1)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")])))
    wall, cpu, out = whole([sys.executable, str(HERE), f"--{kind}-only", str(jobs), str(parallel)], env)
    inner, best = (float(x) for x in out.split())
    return wall, cpu, inner, best


def amtlocal_tuner_clock(jobs: int, parallel: int, launcher: str) -> tuple[float, float, float]:
    """The earlier measure: amtlocal in a new interpreter, timed from LocalTuningJob.run() to its return; returns
    (wall seconds, best objective, CPU seconds of the tuner and every process it started, user + system)."""
    out = subprocess.run(
        [sys.executable, str(HERE), "--amtlocal-only", str(jobs), str(parallel), launcher],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its waited-for descendants, in seconds."""
    return sum(
        u.ru_utime + u.ru_stime
        for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def _amtlocal_here(jobs: int, parallel: int, launcher: str) -> tuple[float, float, float]:
    cpu = _cpu_seconds()
    wall, desc = run_request(_request(jobs, parallel), TRAINING / "specs", launcher)
    cpu = _cpu_seconds() - cpu
    return wall, desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], cpu


def tuner_clock(args) -> int:
    """The measure of issue 12 (and of the README before 2026-12-04): ratio of tuner clocks at parallelism 1."""
    print(f"digits Random, {args.jobs} training jobs, seed 1, {args.repeat} round(s), tuner clock")
    med = statistics.median
    for parallel in (1, 2):
        floors, walls, cpus = [], [], []
        for r in range(args.repeat):
            _, _, f_wall, _ = floor_process("loop", args.jobs, parallel)
            wall, best, cpu = amtlocal_tuner_clock(args.jobs, parallel, args.launchers.split(",")[0])
            floors.append(f_wall), walls.append(wall), cpus.append(cpu)
            print(
                f"  round {r + 1} p={parallel}: floor {f_wall:.1f} s, amtlocal {wall:.1f} s (CPU {cpu:.1f} s), "
                f"ratio {wall / f_wall:.2f}"
            )
        ratios = [w / f for w, f in zip(walls, floors)]
        print(f"  p={parallel}: ratio to floor {med(ratios):.2f} (median), amtlocal CPU {med(cpus):.1f} s")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=50)
    ap.add_argument("--launchers", default="fork", help="fork, process or both (process: minutes per run)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; medians of the per-round figures are printed")
    ap.add_argument("--tuner-clock", action="store_true", help="the earlier measure (see the module docstring)")
    args = ap.parse_args()
    if not (TRAINING / "data" / "digits.csv").exists():
        subprocess.run([sys.executable, str(TRAINING / "prepare_data.py")], check=True)
    if args.tuner_clock:
        return tuner_clock(args)
    launchers = args.launchers.split(",")
    load = os.getloadavg()[0]
    print(
        f"digits Random, {args.jobs} training jobs, seed 1, {args.repeat} round(s), whole processes (load {load:.1f})"
    )
    rows: dict = {}
    for r in range(args.repeat):
        for parallel in (1, 2):
            for kind in ("loop", "pool"):
                wall, cpu, _, best = floor_process(kind, args.jobs, parallel)
                rows.setdefault((kind, parallel), []).append((wall, cpu))
                print(f"  round {r + 1} {kind:8} p={parallel}: {wall:6.1f} s  CPU {cpu:5.1f} s  best f1 {best:.4f}")
            best_floor = min(rows[("loop", parallel)][-1][0], rows[("pool", parallel)][-1][0])
            for launcher in launchers:
                wall, cpu, best = amtlocal_cli(args.jobs, parallel, launcher)
                rows.setdefault((launcher, parallel), []).append((wall, cpu))
                print(
                    f"  round {r + 1} {launcher:8} p={parallel}: {wall:6.1f} s  CPU {cpu:5.1f} s  best f1 {best:.4f}"
                    f"  / best floor {wall / best_floor:.2f}"
                )
    med = statistics.median
    print(f"medians of {args.repeat} round(s) (load now {os.getloadavg()[0]:.1f}):")
    for parallel in (1, 2):
        n = len(rows[("loop", parallel)])
        floors = [min(rows[("loop", parallel)][i][0], rows[("pool", parallel)][i][0]) for i in range(n)]
        for kind in ("loop", "pool"):
            walls, cpus = zip(*rows[(kind, parallel)])
            print(f"  p={parallel} floor {kind}: {med(walls):.1f} s, CPU {med(cpus):.1f} s")
        for launcher in launchers:
            walls, cpus = zip(*rows[(launcher, parallel)])
            ratios = [walls[i] / floors[i] for i in range(len(walls))]
            print(
                f"  p={parallel} amtlocal {launcher}: {med(walls):.1f} s, CPU {med(cpus):.1f} s; "
                f"amtlocal / best floor {med(ratios):.2f} (target <= 1.10)"
            )
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--loop-only"]:
        print(*_loop_here(int(sys.argv[2]), int(sys.argv[3])))
        sys.exit(0)
    if sys.argv[1:2] == ["--pool-only"]:
        print(*_pool_here(int(sys.argv[2]), int(sys.argv[3])))
        sys.exit(0)
    if sys.argv[1:2] == ["--amtlocal-only"]:
        print(*_amtlocal_here(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
