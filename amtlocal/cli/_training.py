"""The training-job commands (issue 13): ``train SPEC``, ``training-jobs``, ``describe-training-job NAME``,
``logs NAME [--follow]`` and ``stop-training-job NAME``. They call the backend's training-job methods
(``create_training_job``, ``training_jobs``, ``describe_training_job``, ``training_job_logs``,
``stop_training_job``), so a standalone job and a tuning job's training job answer all of them.

Exit codes as ``tune``: 0 success (``train``: the job Completed), 2 a request or usage error (one line naming the
field; a name already taken), 1 anything else (a job that ended Failed or Stopped, an unknown job).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

FOLLOW_POLL_SECONDS = 0.5  # how often `logs --follow` looks for new lines and for the job's end


def cmd_train(args: argparse.Namespace) -> int:
    """Run the CreateTrainingJob request in ``args.spec`` (JSON or YAML; relative paths and ``file://`` URIs are
    relative to the spec's folder). Waits unless ``--no-wait`` (then prints the name and returns 0); prints one line:
    the status, the final metrics, the model's location and any FailureReason."""
    from amtlocal.cli import _backend
    from amtlocal.exceptions import AmtValidationError
    from amtlocal.spec import read_request

    request = read_request(args.spec)
    if args.job_name:
        request["TrainingJobName"] = args.job_name
    if not isinstance(request.get("TrainingJobName"), str):
        raise AmtValidationError("TrainingJobName", "a CreateTrainingJob request names its job (a string)")
    name = request["TrainingJobName"]
    backend = _backend(args)
    try:
        desc = backend.create_training_job(request, Path(args.spec).resolve().parent, wait=not args.no_wait)
    except KeyboardInterrupt:
        from amtlocal.exceptions import TrainingJobNotFound

        try:
            status = backend.describe_training_job(name)["TrainingJobStatus"]
        except TrainingJobNotFound:
            raise KeyboardInterrupt(f"interrupted before training job {name} was created; nothing ran") from None
        raise KeyboardInterrupt(f"interrupted; training job {name} is {status}") from None
    if args.no_wait:
        print(name)
        return 0
    status = desc["TrainingJobStatus"]
    msg = f"{name}: {status}"
    metrics = ", ".join(f"{m['MetricName']}={m['Value']:.6g}" for m in desc.get("FinalMetricDataList") or [])
    if metrics:
        msg += f"; {metrics}"
    if status in ("Completed", "Stopped") and desc.get("ModelArtifacts"):
        msg += f"; model {desc['ModelArtifacts']['S3ModelArtifacts']}"
    if desc.get("FailureReason"):
        from amtlocal.cli import short_failure_reason

        msg += f"; {short_failure_reason(desc['FailureReason'])}"
    print(msg)
    if status != "Completed":
        print(f"its log: amtlocal logs {name}; the whole FailureReason: amtlocal describe-training-job {name}")
    return 0 if status == "Completed" else 1


def cmd_training_jobs(args: argparse.Namespace) -> int:
    """ListTrainingJobs with the options as its request parameters, every page fetched (``--max-results`` caps the
    number listed). ``--json`` prints ``{"TrainingJobSummaries": [...]}`` as the AWS CLI does; else a table."""
    from amtlocal.cli import _backend, _print_json

    backend = _backend(args)
    query = {"SortBy": args.sort_by, "SortOrder": args.sort_order}
    for key, value in (
        ("NameContains", args.name_contains),
        ("StatusEquals", args.status_equals),
        ("CreationTimeAfter", args.creation_time_after),
        ("CreationTimeBefore", args.creation_time_before),
    ):
        if value is not None:
            query[key] = value
    rows: list[dict] = []
    token = None
    while args.max_results is None or len(rows) < args.max_results:
        page_size = 100 if args.max_results is None else min(100, args.max_results - len(rows))
        page = backend.training_jobs(**query, MaxResults=page_size, **({"NextToken": token} if token else {}))
        rows += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            break
    if args.json:
        _print_json({"TrainingJobSummaries": rows})
        return 0
    print(f"{'TRAINING JOB':48} {'STATUS':10} {'SECONDARY STATUS':18} {'CREATED':19}  {'DURATION':>9}")
    for r in rows:
        end = r.get("TrainingEndTime")
        took = f"{(end - r['CreationTime']).total_seconds():.1f}s" if end else "-"
        print(
            f"{r['TrainingJobName']:48} {r['TrainingJobStatus']:10} {r.get('SecondaryStatus', ''):18} "
            f"{r['CreationTime']:%Y-%m-%d %H:%M:%S}  {took:>9}"
        )
    return 0


def cmd_describe_training_job(args: argparse.Namespace) -> int:
    """Print DescribeTrainingJob as the AWS CLI prints it (JSON, 4-space indent, ISO 8601 timestamps)."""
    from amtlocal.cli import _backend, _print_json

    _print_json(_backend(args).describe_training_job(args.name))
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    """Print the training job's log so far; with ``--follow``, go on printing new lines until the job has ended."""
    from amtlocal.cli import _backend
    from amtlocal.lifecycle import is_terminal

    backend = _backend(args)
    backend.describe_training_job(args.name)  # TrainingJobNotFound before anything
    printed = 0
    try:
        while True:
            # the status first: a job seen ended here has written its whole log, which the read below then prints
            ended = not args.follow or is_terminal(backend.describe_training_job(args.name)["TrainingJobStatus"])
            lines = list(backend.training_job_logs(args.name))
            for line in lines[printed:]:
                print(line, flush=args.follow)
            printed = len(lines)
            if ended:
                return 0
            time.sleep(FOLLOW_POLL_SECONDS)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"stopped following the log of {args.name}; the training job goes on "
            f"(stop it with `amtlocal stop-training-job {args.name}`)"
        ) from None


def cmd_stop_training_job(args: argparse.Namespace) -> int:
    """StopTrainingJob; prints the status it leaves (Stopping while the job's process is being stopped)."""
    from amtlocal.cli import _backend
    from amtlocal.lifecycle import is_terminal

    backend = _backend(args)
    before = backend.describe_training_job(args.name)["TrainingJobStatus"]
    if is_terminal(before):
        print(f"{args.name}: already {before}; nothing to stop")
        return 0
    backend.stop_training_job(args.name)
    print(f"{args.name}: {backend.describe_training_job(args.name)['TrainingJobStatus']}")
    return 0


def register(subparsers) -> None:
    """Add ``train``, ``training-jobs``, ``describe-training-job``, ``logs`` and ``stop-training-job`` to the CLI."""
    t = subparsers.add_parser("train", help="run a training job from a CreateTrainingJob request (JSON or YAML)")
    t.add_argument("spec")
    t.add_argument("--job-name", default=None, help="override TrainingJobName")
    t.add_argument("--no-wait", action="store_true", help="start the job in the background, print its name and return")
    t.set_defaults(func=cmd_train)

    ls = subparsers.add_parser("training-jobs", help="ListTrainingJobs: standalone training jobs and tuning jobs' own")
    ls.add_argument("--name-contains", default=None)
    ls.add_argument(
        "--status-equals", default=None, choices=("InProgress", "Completed", "Failed", "Stopping", "Stopped")
    )
    ls.add_argument("--creation-time-after", default=None, help="ISO 8601 time or epoch seconds")
    ls.add_argument("--creation-time-before", default=None, help="ISO 8601 time or epoch seconds")
    ls.add_argument("--sort-by", default="CreationTime", choices=("Name", "CreationTime", "Status"))
    ls.add_argument("--sort-order", default="Ascending", choices=("Ascending", "Descending"))
    ls.add_argument("--max-results", type=_positive, default=None, help="list at most this many (default: all)")
    ls.add_argument("--json", action="store_true", help="print the ListTrainingJobs response as the AWS CLI does")
    ls.set_defaults(func=cmd_training_jobs)

    d = subparsers.add_parser("describe-training-job", help="print DescribeTrainingJob as JSON")
    d.add_argument("name")
    d.set_defaults(func=cmd_describe_training_job)

    lg = subparsers.add_parser("logs", help="print a training job's log (--follow: until the job ends)")
    lg.add_argument("name")
    lg.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the job has ended")
    lg.set_defaults(func=cmd_logs)

    s = subparsers.add_parser("stop-training-job", help="stop a training job (a tuning job's: that one only)")
    s.add_argument("name")
    s.set_defaults(func=cmd_stop_training_job)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


__all__ = ["register"]
