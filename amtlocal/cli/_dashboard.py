"""``amtlocal dashboard [--host H] [--port P]``: optuna-dashboard over the local store (the optional extra
``amtlocal[dashboard]``).

The local store is an Optuna storage already (a journal file, or the ``--storage`` RDB URL), so optuna-dashboard
reads it as it is: one study per tuning job (named after it), one trial per training job. See the README's
"Dashboard" section for what it shows of AMT's records.
"""

from __future__ import annotations

import argparse
import sys


def local_storage(args: argparse.Namespace):
    """The Optuna storage of the local store named by ``--home``/``--storage`` (default ``$AMTLOCAL_HOME``).

    Raises:
        AmtValidationError: ``--backend sagemaker`` (AMT's jobs are not an Optuna storage; ``amtlocal pull`` them).
    """
    from amtlocal.backends import backend_name
    from amtlocal.backends.local import LocalBackend
    from amtlocal.exceptions import AmtValidationError

    if backend_name(getattr(args, "backend", None)) != "local":
        raise AmtValidationError(
            "backend", "the dashboard reads the local store; copy cloud jobs into it with `amtlocal pull JOB` first"
        )
    backend = LocalBackend(home=getattr(args, "home", None), storage_url=getattr(args, "storage", None))
    return backend.store.storage


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve optuna-dashboard until Ctrl-C; exit 0. Exit 1 (one line) when optuna-dashboard is not installed."""
    try:
        import optuna_dashboard
    except ImportError:
        print("amtlocal: error: optuna-dashboard is not installed; pip install 'amtlocal[dashboard]'", file=sys.stderr)
        return 1
    storage = local_storage(args)
    print(f"optuna-dashboard on http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    try:
        optuna_dashboard.run_server(storage, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``dashboard`` subcommand (``func=cmd_dashboard``) to amtlocal's argparse subparsers; returns it."""
    d = subparsers.add_parser(
        "dashboard",
        help="browse the local store with optuna-dashboard (pip install 'amtlocal[dashboard]')",
        description="optuna-dashboard over the local store: one study per tuning job, one trial "
        "per training job (hyperparameters, objective, state, amtlocal's record in "
        "the user attributes).",
    )
    d.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    d.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    d.set_defaults(func=cmd_dashboard)
    return d
