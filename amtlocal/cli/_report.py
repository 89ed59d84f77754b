"""``amtlocal report JOB [JOB ...] -o report.html [--png] [--trials-only]``: one self-contained HTML report."""

from __future__ import annotations

import argparse


def _report_backend(args: argparse.Namespace):
    """The backend to look the jobs up on: a local store when ``--home``/``--storage`` name one, else the chosen
    backend's name (None: ``$AMTLOCAL_BACKEND`` or local, with a fallback to the other backend for a name not found)."""
    from amtlocal.backends import get_backend

    home, storage = getattr(args, "home", None), getattr(args, "storage", None)
    chosen = getattr(args, "backend", None)
    if (home or storage) and (chosen or "local") == "local":
        return get_backend("local", home=home, storage_url=storage)
    return chosen


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report; prints the files written (the HTML, then the PNG with ``--png``); exit 0."""
    from amtlocal.viz import write_report

    path = write_report(
        args.jobs, args.output, backend=_report_backend(args), png=args.png, trials_only=args.trials_only
    )
    print(path)
    if args.png:
        print(path.with_suffix(".png"))
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand (with ``func=cmd_report``) to amtlocal's argparse subparsers; returns it."""
    r = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report (summary + charts) of tuning jobs",
        description="One HTML file that opens offline: a summary table per tuning job (warm-start "
        "parents included), then linked charts of the training jobs.",
    )
    r.add_argument("jobs", nargs="+", metavar="JOB", help="tuning job name(s)")
    r.add_argument("-o", "--output", default="report.html", help="HTML file to write (default: report.html)")
    r.add_argument("--png", action="store_true", help="also write a static PNG of the charts next to it (vl-convert)")
    r.add_argument("--trials-only", action="store_true", help="skip the scraped metric series (no learning curves)")
    r.set_defaults(func=cmd_report)
    return r
