"""``amtlocal``: run and inspect tuning jobs and training jobs from the shell.

Exit codes: 0 success (``tune``/``train``: the job Completed), 2 a spec or usage error (one line naming the field; a
name already taken), 1 anything else (a job that ended Failed or Stopped, a missing job). Only this package prints;
the library logs.

Each command is a ``cmd_*`` function taking the parsed arguments; ``pull``, ``report``, ``dashboard``, ``doctor`` and
``serve`` live in ``_pull``, ``_report``, ``_dashboard``, ``_doctor`` and ``_serve``, the training-job commands (``train``,
``training-jobs``, ``describe-training-job``, ``logs``, ``stop-training-job``) in ``_training``. Imports of the library
happen inside the commands, so ``amtlocal --help`` stays fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, NoReturn


def _json_default(o: Any) -> Any:
    if isinstance(o, dt.datetime):
        return o.isoformat()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=4, default=_json_default))


def _backend(args):
    from amtlocal.backends import get_backend

    kwargs = {}
    if getattr(args, "home", None) or getattr(args, "storage", None):
        if (args.backend or "local") == "local":
            kwargs = {"home": args.home, "storage_url": args.storage}
    return get_backend(args.backend, **kwargs)


class _ProgressPrinter:
    """Prints ``jobs done/total, running, best`` to stderr: on a terminal one line redrawn in place, with the time
    since the start ticking every second (so a tuning job whose training jobs take minutes never looks hung); else
    a line per change."""

    TICK_SECONDS = 1.0

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._ticker: threading.Thread | None = None

    def __call__(self, p) -> None:
        best = "-" if p.best is None else f"{p.best:.6g}"
        line = f"{p.name}: {p.finished}/{p.total} training jobs done, {p.running} running, best {p.metric} {best}"
        with self._lock:
            if line == self.last:
                return
            self.last = line
            self._draw()
        if self.tty and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="amtlocal-progress", daemon=True)
            self._ticker.start()

    def _draw(self) -> None:
        try:
            if self.tty:
                elapsed = int(time.monotonic() - self._started)
                clock = f"{elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
                sys.stderr.write(f"\r\033[K{self.last}, {clock}")
                sys.stderr.flush()
            else:
                print(self.last, file=sys.stderr, flush=True)
        except (OSError, ValueError):  # the terminal is gone (a closed SSH session): the tuner runs on to its SIGHUP
            pass

    def _tick(self) -> None:
        while not self._closed.wait(self.TICK_SECONDS):
            with self._lock:
                if not self._closed.is_set():
                    self._draw()

    def close(self) -> None:
        with self._lock:
            self._closed.set()
            if self.tty and self.last:
                sys.stderr.write("\n")


def cmd_tune(args) -> int:
    from amtlocal.backends import backend_name
    from amtlocal.spec import load_spec

    spec = load_spec(args.spec, validate_now=False)
    if args.job_name:
        spec.request["HyperParameterTuningJobName"] = args.job_name
    if args.worker_slots:
        os.environ["AMTLOCAL_WORKER_SLOTS"] = str(args.worker_slots)
    if not args.dry_run and not args.no_wait and backend_name(args.backend) == "local":
        from amtlocal.backends.local import prestart_runners

        # The entry point's fork server starts first: its imports (seconds) overlap validation and the tuner's start.
        prestart_runners(spec)
    try:
        spec.validate()
    except BaseException:
        from amtlocal.runners import close_prestarted

        close_prestarted()
        raise
    if args.dry_run:
        if backend_name(args.backend) == "sagemaker":
            from amtlocal.backends.sagemaker import SageMakerBackend

            _print_json(SageMakerBackend().build_request(spec.request, spec.base_dir, upload=False))
        else:
            from amtlocal.backends.local import ScriptModeJob

            ScriptModeJob.from_definition(spec.definitions()[0], spec.base_dir)  # local paths must resolve
            _print_json(spec.request)
        return 0
    backend = _backend(args)
    printer = _ProgressPrinter()
    again = f"amtlocal tune {args.spec}" + (f" --job-name {spec.name}" if args.job_name else "")
    try:
        backend.create_tuning_job(spec.request, spec.base_dir, wait=not args.no_wait, progress=printer)
    except KeyboardInterrupt as e:
        if backend_name(args.backend) != "local":
            raise  # the cloud backend's message says the job runs on and how to stop it
        _interrupted(backend, spec.name, again, str(e))
    except Exception as e:  # noqa: BLE001 - the library error that ended the tuner: one line, traceback in tuner.log
        from amtlocal.exceptions import AmtLocalError

        if isinstance(e, AmtLocalError) or backend_name(args.backend) != "local":
            raise
        print(f"amtlocal: error: {_crash_line(backend, spec.name, e, again)}", file=sys.stderr)
        return 1
    finally:
        printer.close()
    if args.no_wait:
        print(spec.name)
        return 0
    desc = backend.describe(spec.name)
    status = desc["HyperParameterTuningJobStatus"]
    best = desc.get("BestTrainingJob")
    msg = f"{spec.name}: {status}"
    if best:
        m = best["FinalHyperParameterTuningJobObjectiveMetric"]
        msg += f"; best training job {best['TrainingJobName']} {m['MetricName']}={m['Value']:.6g} {best['TunedHyperParameters']}"
    if desc.get("FailureReason"):
        msg += f"; {desc['FailureReason']}"
    print(msg)
    if status == "Failed":
        failed = [
            j
            for j in backend.all_training_jobs(spec.name)
            if j.get("ObjectiveStatus") == "Failed" and j.get("FailureReason")
        ]
        if failed:
            first = min(failed, key=lambda j: j["CreationTime"])
            print(f"first failure, {first['TrainingJobName']} ({first['TrainingJobStatus']}): {first['FailureReason']}")
        print(
            f"see every training job's failure with: amtlocal jobs {spec.name} --failures (whole FailureReasons: --json)"
        )
    return 0 if status == "Completed" else 1


def _interrupted(backend, name: str, again: str, signal_name: str) -> None:
    """Raise KeyboardInterrupt with the line that says what a Ctrl-C (or ``signal_name``) left of tuning job ``name``."""
    from amtlocal.exceptions import TuningJobNotFound

    how = f"interrupted ({signal_name})" if signal_name in ("SIGTERM", "SIGHUP") else "interrupted"
    try:
        status = backend.describe(name)["HyperParameterTuningJobStatus"]
    except TuningJobNotFound:  # Ctrl-C before the job was created: nothing to resume
        raise KeyboardInterrupt(f"{how} before tuning job {name} was created; nothing ran") from None
    except Exception:  # noqa: BLE001 - e.g. a module whose import the Ctrl-C cut short: claim nothing
        raise KeyboardInterrupt(f"{how}; see the state of tuning job {name} with `amtlocal describe {name}`") from None
    if status == "Stopped":
        raise KeyboardInterrupt(
            f"{how}; tuning job {name} is Stopped and resumes when you run `{again}` again"
        ) from None
    raise KeyboardInterrupt(f"{how}; tuning job {name} is {status}") from None


def _crash_line(backend, name: str, error: Exception, again: str) -> str:
    """One line for an error that ended the tuner: the job's state and reason, where the traceback is, how to go on."""
    first = f"{type(error).__name__}: {error}"
    try:
        desc = backend.describe(name)
    except Exception:  # noqa: BLE001 - the store itself may be what failed
        return f"tuning job {name} ended by {first}"
    status, reason = desc["HyperParameterTuningJobStatus"], desc.get("FailureReason") or first
    line = f"tuning job {name} is {status}: {reason}"
    folder = getattr(getattr(backend, "store", None), "job_dir", None)
    if folder is not None:
        line += f"; traceback in {folder(name) / 'tuner.log'}"
    if status == "Stopped" and "resume" not in reason:
        line += f"; resume with `{again}`"
    return line


def cmd_validate(args) -> int:
    from amtlocal.exceptions import AmtValidationError
    from amtlocal.spec import load_spec, read_request

    try:
        spec = load_spec(args.spec)
    except AmtValidationError as e:
        raw = read_request(args.spec)
        if "TrainingJobName" in raw and "HyperParameterTuningJobName" not in raw:  # a CreateTrainingJob request
            raise AmtValidationError(
                "",
                f"{args.spec} is a CreateTrainingJob request (TrainingJobName {raw['TrainingJobName']!r}); "
                f"`amtlocal validate` checks CreateHyperParameterTuningJob requests. `amtlocal train {args.spec}` "
                "validates a training job's request before it runs it",
            ) from e
        raise
    if args.log and not os.access(args.log, os.R_OK):
        from amtlocal.exceptions import AmtValidationError

        raise AmtValidationError("--log", f"no readable file {args.log!r} (a training job's log to scrape)")
    print(f"{args.spec}: valid CreateHyperParameterTuningJob request ({spec.name}, {spec.config['Strategy']})")
    if args.log:
        from amtlocal.algorithms import metric_definitions_for
        from amtlocal.metrics import scrape_log

        for definition in spec.definitions():  # a built-in algorithm's predefined metrics when it has none
            scraper = scrape_log(args.log, metric_definitions_for(definition))
            for d in scraper.definitions:
                name = d["Name"]
                if name in scraper.counts:
                    also = (
                        f" (also captured {scraper.rejected[name]!r}, not a number)" if name in scraper.rejected else ""
                    )
                    print(
                        f"  {name}: {scraper.counts[name]} value(s), last {scraper.last[name]!r}{also}  regex {d['Regex']}"
                    )
                else:
                    why = f" (captured {scraper.rejected[name]!r}, not a number)" if name in scraper.rejected else ""
                    print(f"  {name}: matched nothing{why}  regex {d['Regex']}")
    return 0


def cmd_list(args) -> int:
    backend = _backend(args)
    jobs = backend.list_tuning_jobs()
    if args.json:  # the AWS CLI's shape: amtlocal's own additions left out
        _print_json(
            {
                "HyperParameterTuningJobSummaries": [
                    {k: v for k, v in j.items() if k != "InterruptedTrainingJobs"} for j in jobs
                ]
            }
        )
        return 0
    print(f"{'NAME':32}  {'STRATEGY':10} {'STATUS':11} {'JOBS':>9}  CREATED")
    for j in jobs:
        c = j["TrainingJobStatusCounters"]
        interrupted = j.get("InterruptedTrainingJobs", 0)
        done = sum(c.values()) - c["InProgress"] - interrupted  # those counted toward MaxNumberOfTrainingJobs
        total = j["ResourceLimits"].get("MaxNumberOfTrainingJobs", "?")
        extra = f"  (+{interrupted} interrupted, run again)" if interrupted else ""
        if _holder_lost(backend, j):
            extra += "  (no tuner runs it: run it again to resume, or amtlocal stop)"
        print(
            f"{j['HyperParameterTuningJobName']:32}  {j['Strategy']:10} {j['HyperParameterTuningJobStatus']:11} "
            f"{f'{done}/{total}':>9}  {j['CreationTime']:%Y-%m-%d %H:%M:%S}{extra}"
        )
    return 0


def cmd_describe(args) -> int:
    backend = _backend(args)
    desc = backend.describe(args.name)
    _print_json(desc)
    if _holder_lost(backend, desc):
        print(
            f"note: no tuner runs {desc['HyperParameterTuningJobName']} any more (its process ended before the job "
            "did, killed?): run the same spec again to resume it, or `amtlocal stop` it (Stopped); through the API "
            "(amtlocal serve, amtlocal.client()) the next Describe resumes it",
            file=sys.stderr,
        )
    return 0


def _holder_lost(backend, summary: dict) -> bool:
    """Whether a local tuning job (a Describe or List summary) InProgress or Stopping has no live tuner. The CLI only
    says so; the API takes such a job over when it reads it (``LocalBackend.take_over``)."""
    holder_lost = getattr(backend, "holder_lost", None)
    if holder_lost is None or summary["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping"):
        return False
    try:
        return bool(holder_lost(summary["HyperParameterTuningJobName"]))
    except Exception:  # noqa: BLE001 - a note only: never fails the command (a read-only home, a job just removed)
        return False


def cmd_jobs(args) -> int:
    backend = _backend(args)
    kwargs = {"SortBy": args.sort_by, "SortOrder": args.sort_order}
    if args.status:
        kwargs["StatusEquals"] = args.status
    rows = list(backend.all_training_jobs(args.name, **kwargs))
    if args.json:
        _print_json({"TrainingJobSummaries": rows})
        return 0
    names = sorted({k for r in rows for k in r.get("TunedHyperParameters", {})})
    cells = [[_short(r["TunedHyperParameters"].get(n, "")) for n in names] for r in rows]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
    head = f"{'TRAINING JOB':48} {'STATUS':10} {'OBJECTIVE':>10}  " + "  ".join(
        n.ljust(w) for n, w in zip(names, widths)
    )
    print(head + ("  FAILURE REASON" if args.failures else ""))
    for r, c in zip(rows, cells):
        m = r.get("FinalHyperParameterTuningJobObjectiveMetric")
        value = f"{m['Value']:.6g}" if m else "-"
        line = f"{r['TrainingJobName']:48} {r['TrainingJobStatus']:10} {value:>10}  " + "  ".join(
            v.ljust(w) for v, w in zip(c, widths)
        )
        if args.failures and r.get("FailureReason"):
            line += "  " + short_failure_reason(r["FailureReason"])
        print(line)
    if args.sort_by == "FinalObjectiveMetricValue":
        unsorted = {"StatusEquals": args.status} if args.status else {}
        hidden = sum(1 for _ in backend.all_training_jobs(args.name, **unsorted)) - len(rows)
        if hidden:  # AMT leaves them out of this sort; say so rather than let them vanish
            print(
                f"({hidden} training job(s) without an objective value not listed: AMT leaves them out when sorting "
                "by FinalObjectiveMetricValue)"
            )
    return 0


def short_failure_reason(reason: str, width: int = 200) -> str:
    """One table cell for a FailureReason. For the toolkit's ``ExecuteUserScriptError`` (``ExitCode n`` +
    ``ErrorMessage "<end of stderr>"``), the exit code and the last line of stderr, where a Python error names itself
    (``ValueError: ...``); otherwise the reason's start on one line. ``--json`` keeps the whole text."""
    match = re.search(
        r'ExecuteUserScriptError:\s*ExitCode (.*?)\s*ErrorMessage "(.*?)(?:"\s*Command "|$)', reason, re.S
    )
    if match:
        lines = [x.strip() for x in match.group(2).splitlines() if x.strip()]
        last = lines[-1] if lines else "(nothing on stderr)"
        return " ".join(f"AlgorithmError: ExitCode {match.group(1)}: {last}".split())[:width]
    return " ".join(reason.split())[:width]


def _short(value: str) -> str:
    """A tuned value for the table: floats to 6 significant digits, the rest as sent."""
    try:
        f = float(value)
    except ValueError:
        return value
    return value if f.is_integer() and "." not in value else f"{f:.6g}"


def cmd_stop(args) -> int:
    from amtlocal.lifecycle import is_terminal

    backend = _backend(args)
    before = backend.describe(args.name)["HyperParameterTuningJobStatus"]
    backend.stop(args.name)
    after = backend.describe(args.name)["HyperParameterTuningJobStatus"]
    if after == before and is_terminal(before):
        print(f"{args.name}: already {before}; nothing to stop")  # AMT refuses this stop; it changes nothing
    elif after in ("Completed", "Failed"):
        print(f"{args.name}: {after} (it ended before the stop took effect)")
    elif after == "Stopped":
        print(f"{args.name}: Stopped")
    else:  # a live tuner stops its training jobs (SIGTERM, then SIGKILL after the grace period), then ends Stopped
        print(f"{args.name}: Stopping; its running training jobs are being stopped")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="amtlocal", description="SageMaker Automatic Model Tuning, locally or on AWS with one flag."
    )
    _add_common(p, None)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("tune", help="run a tuning job from a CreateHyperParameterTuningJob request (JSON or YAML)")
    t.add_argument("spec")
    t.add_argument("--job-name", default=None, help="override HyperParameterTuningJobName")
    t.add_argument("--no-wait", action="store_true", help="start the job in the background and return")
    t.add_argument("--dry-run", action="store_true", help="print the request that would be sent; start nothing")
    t.add_argument(
        "--worker-slots",
        type=int,
        default=None,
        help="with a shared (PostgreSQL) --storage: at most this many training jobs at once in this worker",
    )
    t.set_defaults(func=cmd_tune)

    v = sub.add_parser("validate", help="validate a spec without running anything")
    v.add_argument("spec")
    v.add_argument("--log", default=None, help="a sample training log: show what each metric regex captures")
    v.set_defaults(func=cmd_validate)

    ls = sub.add_parser("list", help="list tuning jobs")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    d = sub.add_parser("describe", help="print DescribeHyperParameterTuningJob as JSON")
    d.add_argument("name")
    d.set_defaults(func=cmd_describe)

    j = sub.add_parser("jobs", help="the training jobs of a tuning job")
    j.add_argument("name")
    j.add_argument("--json", action="store_true", help="print the ListTrainingJobsForHyperParameterTuningJob response")
    j.add_argument("--sort-by", default="Name", choices=("Name", "CreationTime", "Status", "FinalObjectiveMetricValue"))
    j.add_argument("--sort-order", default="Ascending", choices=("Ascending", "Descending"))
    j.add_argument("--status", default=None, choices=("InProgress", "Completed", "Failed", "Stopping", "Stopped"))
    j.add_argument(
        "--failures",
        action="store_true",
        help="add each training job's FailureReason, shortened to its gist (the whole text: --json)",
    )
    j.set_defaults(func=cmd_jobs)

    s = sub.add_parser("stop", help="stop a tuning job")
    s.add_argument("name")
    s.set_defaults(func=cmd_stop)

    from amtlocal.cli import _dashboard, _doctor, _pull, _report, _serve, _training

    _training.register(sub)
    _pull.register(sub)
    _report.register(sub)
    _dashboard.register(sub)
    _doctor.register(sub)
    _serve.register(sub)
    # The global options are also accepted after the command (`amtlocal tune SPEC --backend sagemaker`).
    for command in sub.choices.values():
        _add_common(command, argparse.SUPPRESS)
    return p


def _add_common(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "--backend",
        choices=("local", "sagemaker"),
        default=default,
        help="where jobs run (default: $AMTLOCAL_BACKEND or local)",
    )
    parser.add_argument("--home", default=default, help="local store folder (default: $AMTLOCAL_HOME or ~/.amtlocal)")
    parser.add_argument(
        "--storage",
        default=default,
        help="Optuna RDB storage URL for the local store, e.g. postgresql://... (default: the journal file store.journal in the home folder)",
    )


def _other_kind_hint(args, name: str, training_job: bool) -> str:
    """A command of one kind given the other kind's name, when the local store of ``args`` holds that: for a training
    job ``"; 'NAME' is a training job: amtlocal describe-training-job NAME"``, for a tuning job ``"; 'NAME' is a tuning
    job: its training jobs are listed by `amtlocal jobs NAME`"``; else ``""``."""
    from amtlocal.backends import get_backend
    from amtlocal.exceptions import AmtLocalError

    if (getattr(args, "backend", None) or os.environ.get("AMTLOCAL_BACKEND") or "local") != "local":
        return ""  # the other backend's names are not in the local store
    try:
        backend = get_backend("local", home=getattr(args, "home", None), storage_url=getattr(args, "storage", None))
        if training_job:
            backend.describe_training_job(name)
        elif not backend.exists(name):
            return ""
    except (AmtLocalError, OSError, ValueError):
        return ""
    if training_job:
        return f"; {name!r} is a training job: amtlocal describe-training-job {name}"
    return f"; {name!r} is a tuning job: its training jobs are listed by `amtlocal jobs {name}`"


def _storage_error_line(error: OSError, home: str | None) -> str | None:
    """One line for an OSError that says the disk refused a write (full, over quota, read-only, no permission),
    naming the file and, for the amtlocal home ``home``, what to do; None for any other OSError (a bug: its traceback
    is shown)."""
    import errno

    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = " (free some space, then run the command again)"
    elif error.errno in (errno.EROFS, errno.EACCES):
        inside = home is not None and str(error.filename or "").startswith(os.path.abspath(home))
        advice = " (the amtlocal home must be writable: choose another with --home or $AMTLOCAL_HOME)" if inside else ""
    else:
        return None
    where = f": {error.filename}" if error.filename else ""
    return f"{error.strerror or error}{where}{advice}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from amtlocal.exceptions import (
        AmtLocalError,
        AmtValidationError,
        TrainingJobExists,
        TrainingJobNotFound,
        TuningJobExists,
        TuningJobNotFound,
    )

    try:
        return args.func(args)
    except (
        AmtValidationError,
        TuningJobExists,
        TrainingJobExists,
    ) as e:  # the spec is at fault (ResourceInUse: the name is taken)
        print(f"amtlocal: error: {e}", file=sys.stderr)
        return 2
    except TuningJobNotFound as e:
        print(f"amtlocal: error: {e}{_other_kind_hint(args, e.name, training_job=True)}", file=sys.stderr)
        return 1
    except TrainingJobNotFound as e:
        print(f"amtlocal: error: {e}{_other_kind_hint(args, e.name, training_job=False)}", file=sys.stderr)
        return 1
    except AmtLocalError as e:
        print(f"amtlocal: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `amtlocal describe X | head`
        return 0
    except OSError as e:  # the home cannot be written (a full disk, a read-only mount): one line, not a traceback
        from amtlocal.store import default_home

        line = _storage_error_line(e, getattr(args, "home", None) or str(default_home()))
        if line is None:
            raise
        print(f"amtlocal: error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        # The commands that can leave a job in some state say which (tune); anywhere else nothing was started.
        msg = str(e) or "interrupted"
        print(f"amtlocal: {msg}", file=sys.stderr)
        return 130


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``amtlocal`` command (console script and ``python -m amtlocal``): :func:`main`, then the process ends as a
    normal interpreter exit would, without the teardown of every module and object (about 0.1 s once Optuna, pandas
    and botocore are imported, paid by every command; ``main`` itself returns normally, for callers in a process).

    What an exit does that can be seen still happens, in the interpreter's order: non-daemon threads are waited for,
    ``atexit`` callbacks run (logging's final flush among them), stdout and stderr are flushed (a reader gone, as
    under ``| head``, is not an error); then ``os._exit`` with main's code (``SystemExit`` from argparse included:
    0 for ``--help``, 2 for a usage error). Every file amtlocal writes is closed before ``main`` returns.
    """
    import atexit
    import threading

    try:
        code: object = main(argv)
    except SystemExit as e:
        code = e.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # as the interpreter treats SystemExit("message")
        print(code, file=sys.stderr)
        status = 1
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status & 0xFF)


if __name__ == "__main__":
    run()
