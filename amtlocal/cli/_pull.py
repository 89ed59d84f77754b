"""``amtlocal pull NAME [--force] [--no-metrics]``: copy a finished SageMaker tuning job into the local store."""

from __future__ import annotations

import argparse


def cmd_pull(args: argparse.Namespace) -> int:
    """Pull ``args.name`` into the store chosen by the global ``--home`` / ``--storage``; prints one line; exit 0.

    Raises:
        CloudTuningJobNotFound, TuningJobExists, AmtLocalError: as :func:`amtlocal.backends.sagemaker.pull`.
    """
    from amtlocal.backends.local import LocalStore
    from amtlocal.backends.sagemaker import pull

    store = LocalStore(getattr(args, "home", None), getattr(args, "storage", None))
    desc = pull(args.name, store=store, overwrite=args.force, metrics=not args.no_metrics)
    n = sum(desc["TrainingJobStatusCounters"].values())
    best = desc.get("BestTrainingJob")
    msg = f"{desc['HyperParameterTuningJobName']}: pulled {n} training job(s), {desc['HyperParameterTuningJobStatus']}, into {store.home}"
    if best:
        m = best["FinalHyperParameterTuningJobObjectiveMetric"]
        msg += f"; best {best['TrainingJobName']} {m['MetricName']}={m['Value']:.6g}"
    print(msg)
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``pull`` subcommand (``func`` default :func:`cmd_pull`) to the CLI's subparsers; returns its parser."""
    p = subparsers.add_parser(
        "pull", help="copy a finished SageMaker tuning job into the local store (warm start, reports offline)"
    )
    p.add_argument("name", help="HyperParameterTuningJobName on SageMaker")
    p.add_argument("--force", action="store_true", help="replace an earlier pulled copy of the same job")
    p.add_argument("--no-metrics", action="store_true", help="skip the CloudWatch metric series (learning curves)")
    p.set_defaults(func=cmd_pull)
    return p
