"""Benchmark (issue 18): a home with N training jobs answers at once.

    .venv/bin/python benchmarks/bench_store_scale.py            # N = 1,000, 10,000, 100,000
    .venv/bin/python benchmarks/bench_store_scale.py --quick    # N = 500, 2,000

Fills a home with N training jobs across tuning jobs of 50 each, written through the store as the tuner writes them
(ask, launch, process, result, tell: the same records, no script run; fsync is skipped while filling, which changes
durability, not the files), then times in fresh processes (interpreter start and imports included; median of 3):
``amtlocal list``, ``describe NAME``, ``jobs NAME``, ``describe-training-job`` of one of its training jobs,
``training-jobs --max-results 100`` (one ListTrainingJobs call of 100 over every training job of the home),
``HyperparameterTuner.attach(NAME)``, and ``amtlocal tune`` of a new 1-job tuning job up to its training job's first
line (the time to the first training job). Peak RSS is each process's ``ru_maxrss``. The baseline ("empty") is a
home holding only the one 50-job tuning job the commands read; each round runs a command there and then in the full
home, so both see the same load of a shared machine. Printed as a table with each figure's ratio to the baseline.
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

PER_JOB = 50
TARGET = "bench-target"  # the tuning job the commands read (the last one written)


def _request(name: str, code_dir: Path) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import trivial_request

    return trivial_request(name, code_dir, PER_JOB)


def fill(home: Path, n_training_jobs: int, code_dir: Path) -> None:
    """Write ``n_training_jobs`` training jobs (``PER_JOB`` per tuning job; the last tuning job is TARGET) through
    the store, with the records the tuner writes for each."""
    import optuna

    from amtlocal.store import LocalStore

    real_fsync = os.fsync
    os.fsync = lambda fd: None  # type: ignore[assignment]  # only while filling: durability, not layout
    try:
        store = LocalStore(home)
        n_tuning = max(1, n_training_jobs // PER_JOB)
        dist = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}
        for t in range(n_tuning):
            name = TARGET if t == n_tuning - 1 else f"bench-{t:05d}"
            study = _tuning_job(store, _request(name, code_dir), dist)
            store.sharded.forget(study._study_id)  # written: its replay need not stay in this process's memory
    finally:
        os.fsync = real_fsync


def _tuning_job(store, request: dict, dist: dict):
    name = request["HyperParameterTuningJobName"]
    study = store.create(request, Path.cwd())
    now = time.time()
    for i in range(PER_JOB):
        trial = study.ask(dist)
        x = trial.params["x"]
        job = f"{name}-{i + 1:03d}-{os.urandom(4).hex()}"
        summary = {
            "TrainingJobName": job,
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{job}",
            "CreationTime": now,
            "TrainingStartTime": now,
            "TrainingJobStatus": "InProgress",
            "TunedHyperParameters": {"x": repr(x)},
            "ObjectiveStatus": "Pending",
        }
        store.record_launch(trial, summary)
        store.record_process(trial, 12345, 67890)
        done = dict(
            summary,
            TrainingJobStatus="Completed",
            TrainingEndTime=now + 1,
            ObjectiveStatus="Succeeded",
            FinalHyperParameterTuningJobObjectiveMetric={"MetricName": "f1", "Value": x},
        )
        store.record_result(trial, done, {"f1": x})
        study.tell(trial, x)
    store.update_tuning_job(study, status="Completed", end_time=time.time(), runtime_used=60.0)
    return study


def _run(args: list[str], env: dict) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{args} exited {proc.returncode}: {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _first_job(home: Path, code_dir: Path, env: dict) -> tuple[float, float, float]:
    """Seconds from starting ``amtlocal tune`` (a new 1-job tuning job) to its training job's first line, the tuner's
    CPU seconds and peak RSS."""
    marker = code_dir / "started.txt"
    marker.unlink(missing_ok=True)
    request = _request(f"new-{os.urandom(4).hex()}", code_dir)
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 1
    (code_dir / "train.py").write_text(
        f"import time\nopen({str(marker)!r}, 'w').write(repr(time.time()))\nprint('f1: 0.5')\n"
    )
    spec = code_dir / "spec.json"
    spec.write_text(json.dumps(request))
    start = time.time()
    _, cpu, rss = _run([sys.executable, "-m", "amtlocal", "--home", str(home), "tune", str(spec)], env)
    return float(marker.read_text()) - start, cpu, rss


def _commands(home: Path) -> dict[str, list[str]]:
    from amtlocal.store import LocalStore

    store = LocalStore(home)
    job = store.trials(store.load(TARGET))[PER_JOB // 2].name
    cli = [sys.executable, "-m", "amtlocal", "--home", str(home)]
    return {
        "list": cli + ["list"],
        "describe": cli + ["describe", TARGET],
        "jobs NAME": cli + ["jobs", TARGET],
        "describe-training-job": cli + ["describe-training-job", job],
        "training-jobs (100)": cli + ["training-jobs", "--max-results", "100"],
        "attach": [
            sys.executable,
            "-c",
            f"from amtlocal.api import HyperparameterTuner as T; T.attach({TARGET!r}).describe()",
        ],
        "first training job": [],
    }


def measure(empty: Path, home: Path, code_dir: Path, rounds: int) -> dict[str, tuple[tuple, tuple]]:
    """Command -> ((median s, median CPU s, max MB) in ``empty``, the same in ``home``): each round runs every command
    in the empty home then at once in ``home`` (so both see the same load on a shared machine)."""
    homes = (empty, home)
    envs = [dict(os.environ, AMTLOCAL_HOME=str(h)) for h in homes]
    for env in envs:
        env.pop("AMTLOCAL_STORAGE", None)
    commands = [_commands(h) for h in homes]
    runs: dict[str, list[list[tuple[float, float, float]]]] = {label: [[], []] for label in commands[0]}
    for _ in range(rounds):
        for label in commands[0]:
            for i in (0, 1):
                args = commands[i][label]
                runs[label][i].append(_run(args, envs[i]) if args else _first_job(homes[i], code_dir, envs[i]))

    def stats(rs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
        return statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs), max(r[2] for r in rs)

    return {label: (stats(r[0]), stats(r[1])) for label, r in runs.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="N = 500, 2,000 (a minute or two)")
    p.add_argument("--sizes", type=int, nargs="*", help="training-job counts to fill (default 1000 10000 100000)")
    p.add_argument("--rounds", type=int, default=5, help="fresh processes per command and home (median; default 5)")
    p.add_argument("--keep", type=Path, help="fill the homes under this folder and keep them (reused when present)")
    args = p.parse_args(argv)
    sizes = args.sizes or ([500, 2000] if args.quick else [1000, 10000, 100000])
    root = args.keep or Path(tempfile.mkdtemp(prefix="amtlocal-scale-"))
    code_dir = root / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, tuple[tuple, tuple]]] = {}
    try:
        for n in [PER_JOB] + sizes:
            home = root / f"home-{n}"
            if not (home / "store").exists():
                start = time.perf_counter()
                fill(home, n, code_dir)
                print(f"filled {n:,} training jobs in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        for n in sizes:
            results[n] = measure(root / f"home-{PER_JOB}", root / f"home-{n}", code_dir, args.rounds)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    _print(results)
    return 0


def _print(results: dict[int, dict[str, tuple[tuple, tuple]]]) -> None:
    cols = " | {:>6} {:>6} {:>5} {:>6} {:>6} {:>5} {:>5} {:>5}"
    print(f"{'':22}" + "".join(f" | {f'empty home -> N = {n:,}':^53}" for n in results))
    print(f"{'command':22}" + cols.format("s", "s", "x", "cpu s", "cpu s", "x", "MB", "+MB") * len(results))
    for label in next(iter(results.values())):
        row = f"{label:22}"
        for n in results:
            (t0, c0, m0), (t, c, m) = results[n][label]
            row += f" | {t0:6.3f} {t:6.3f} {t / t0:5.2f} {c0:6.3f} {c:6.3f} {c / c0:5.2f} {m0:5.1f} {m - m0:+5.1f}"
        print(row)
    print(
        f"(empty home: one tuning job of {PER_JOB} training jobs; N training jobs in tuning jobs of {PER_JOB}. "
        "s: median wall seconds of fresh processes, each round running the command in both homes back to back; "
        "cpu s: median CPU seconds (user + system) of the same processes; x: N / empty; MB: peak RSS, +MB: N - empty)"
    )


if __name__ == "__main__":
    sys.exit(main())
