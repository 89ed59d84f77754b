"""One training job as a child process: start, stream and scrape its output, enforce its time limit, stop it.

- Start: :meth:`TrainingJobProcess._spawn` (after ``amtlocal.container`` prepared the job: requirements overlay,
  ``/opt/ml``, checkpoints) is the one place a child is created, by a runner (``amtlocal.runners``:
  a new process, or a fork of a warm fork server): an argv list (never a shell), the environment built by
  :class:`ScriptModeJob`, stdin from /dev/null, stdout and stderr as pipes, and a new session led by a per-job
  supervisor (``amtlocal/runners/_supervisor.py``, the toolkit's process in the container): the entry point is not a
  leader, so its own ``os.setsid()``/``os.setpgrp()`` succeed, and on Linux every descendant, even one in a session
  of its own, stays below the supervisor (a child subreaper). A training job ends when its entry point exits: the
  supervisor then kills whatever it left behind (as a container's processes go with the container), so nothing they
  print later reaches the log or the objective; stopping a job signals every one of its processes.
- Output: one reader thread per pipe takes chunks of :data:`~amtlocal.metrics.READ_CHUNK_BYTES` with a single
  ``read`` each and cuts them into lines with :class:`~amtlocal.metrics.LineSplitter`: nothing waits for a newline,
  a line of any length costs at most :data:`~amtlocal.metrics.MAX_LINE_BYTES`, and a log of any size streams to
  ``logs/output.log`` (raw bytes; a newline is added after a cut piece of an over-long line and after an
  unterminated last line) while every line is scraped (``logs/metrics.jsonl``). Memory stays flat.
- Stop: SIGTERM to the group, then SIGKILL after a grace period (120 s in AMT; ``stop_grace`` here). What the job
  prints in the grace period (a last metric from a SIGTERM handler) is kept and counts.
- End: exit 0 -> Completed (``output/success``); non-zero exit or death by a signal -> Failed, FailureReason
  ``AlgorithmError: `` + the first characters of ``output/failure``: the script's own text if it wrote that file,
  else the toolkit's ``ExecuteUserScriptError`` text with the exit code (and the signal's name) and the end of
  stderr; a stopped job -> Stopped with the stop's reason.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from amtlocal.container import ScriptModeJob
from amtlocal.lifecycle import TrainingJobOutcome
from amtlocal.metrics import READ_CHUNK_BYTES, LineSplitter, MetricPoint, MetricScraper, line_text, objective_outcome
from amtlocal.runners import BaseRunner, Command, ProcessRunner

if TYPE_CHECKING:
    from amtlocal.container import CheckpointSync

log = logging.getLogger(__name__)

DEFAULT_STOP_GRACE_SECONDS = 120.0  # AMT_REFERENCE.md: "Stopping sends SIGTERM and allows a 120 s grace period"
STDERR_TAIL_LINES = 10
TAIL_LINE_CHARS = 512  # each remembered tail line is cut to this (a line may be megabytes long)
ERROR_MESSAGE_CHARS = 700  # the end of stderr kept in ErrorMessage, so ExitCode and the error fit in FailureReason
FAILURE_REASON_MAX = 1024  # FailureReason max length in the API model
READER_JOIN_SECONDS = 10.0  # after the group is ended, how long the readers may take to drain the pipes
READER_QUIET_SECONDS = 0.5  # after a normal end, how long the pipes may stay open before the tuner sweeps the job


class TrainingJobProcess:
    """Runs one training job of a :class:`ScriptModeJob` under the script-mode contract.

    Args:
        job: the resolved definition.
        job_dir: this training job's folder (the local /opt/ml).
        name: TrainingJobName.
        wire_hyperparameters: the hyperparameters map as AMT sends it (strings).
        metric_definitions: ``[{"Name", "Regex"}]``.
        objective_name: HyperParameterTuningJobObjective.MetricName.
        max_runtime: StoppingCondition.MaxRuntimeInSeconds (seconds).
        on_metric: called from a reader thread with each :class:`MetricPoint` as it is scraped.
        stop_grace: seconds between SIGTERM and SIGKILL.
        runner: where the process runs (default: a new process, :class:`~amtlocal.runners.ProcessRunner`).
        home: amtlocal's home folder (``requirements.txt`` overlays are cached in ``<home>/environments``).
        output_path: the local ``OutputDataConfig.S3OutputPath`` to pack ``model.tar.gz`` under (default the job's
            :attr:`ScriptModeJob.output_path`; callers pass the folder the estimators' placeholder stands for).

    Around the script it does what SageMaker's script-mode container does (``amtlocal.container``): installs the
    code folder's ``requirements.txt`` (its log first in the job's log; a failed install fails the job, nothing
    starts), shows the job folder at ``/opt/ml`` when the code names ``/opt/ml`` paths (or fails the job at once
    naming the ``SM_*`` variable where that is impossible), restores and syncs ``CheckpointConfig``, and at the end
    (Completed or Stopped) packs ``model/`` as ``model.tar.gz`` under a local output path (:attr:`model_artifacts`).
    """

    def __init__(
        self,
        job: ScriptModeJob,
        job_dir: Path,
        name: str,
        wire_hyperparameters: dict[str, str],
        metric_definitions: list[dict],
        objective_name: str,
        max_runtime: float,
        on_metric: Callable[[MetricPoint], None] | None = None,
        stop_grace: float = DEFAULT_STOP_GRACE_SECONDS,
        runner: BaseRunner | None = None,
        home: Path | None = None,
        output_path: str | None = None,
    ):
        self.runner = runner or ProcessRunner()
        self.home = home
        self.model_artifacts: str | None = None  # ModelArtifacts.S3ModelArtifacts once packed
        self.output_path = output_path or getattr(job, "output_path", None)  # tests drive the reader without a job
        self._checkpoints: CheckpointSync | None = None
        self.job, self.job_dir, self.name = job, Path(job_dir), name
        self.wire_hyperparameters = wire_hyperparameters
        self.scraper = MetricScraper(metric_definitions)
        self.objective_name = objective_name
        self.objective_regex = next((d["Regex"] for d in metric_definitions if d["Name"] == objective_name), "")
        self.max_runtime = max_runtime
        self.on_metric = on_metric
        self.stop_grace = stop_grace
        self.popen = None  # subprocess.Popen or a Popen-like (see _spawn)
        self.start_time = 0.0
        self._stop_reason: str | None = None
        self._stop_failure: str | None = None
        self._stop_at: float | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._output_tail: collections.deque[str] = collections.deque(maxlen=3)
        self._saw_ansi = False
        self._readers: list[threading.Thread] = []
        self.argv: list[str] = []
        self.write_error: OSError | None = None  # the first error writing the job's log (a full disk)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> TrainingJobOutcome | None:
        """Lay out the job folder, prepare its container and start the entry point (argv list, no shell, new
        process group).

        Returns:
            None once it runs; a Failed outcome when it must not start (a failed ``requirements.txt`` install: the
            toolkit's ``InstallRequirementsError`` text; ``/opt/ml`` paths where ``/opt/ml`` cannot be shown).

        Raises:
            OSError: the entry point could not be started.
        """
        from amtlocal.container import CheckpointSync, prepare_job_container, scan_optml_paths

        argv, env, cwd = self.job.prepare(self.job_dir, self.name, self.wire_hyperparameters)
        self.argv = argv
        logs = self.job_dir / "logs"
        self._log = open(logs / "output.log", "ab")
        self._metrics = open(logs / "metrics.jsonl", "a", encoding="utf-8")
        self.start_time = time.time()  # the install runs inside the job's time, as in SageMaker
        try:
            if self.home is None:
                from amtlocal.store import default_home

                self.home = default_home()
            # /opt/ml only for code that names it: other jobs keep their host paths in SM_* and start no wrapper.
            container = prepare_job_container(
                self.job_dir,
                cwd,
                self.job.program,
                argv,
                env,
                self.home,
                optml=getattr(self.job, "needs_optml", False) or bool(scan_optml_paths(cwd)),
                install_timeout=self.max_runtime,
                first_on_path=getattr(self.job, "first_on_path", None),
                requirements=getattr(self.job, "installs_requirements", None),
            )
            if container.log:  # SageMaker's log of a job starts with pip's output
                self._log.write(container.log.encode("utf-8", errors="replace").rstrip(b"\n") + b"\n")
                self._log.flush()
            if container.failure_reason:
                self._log.close()
                self._metrics.close()
                outcome = TrainingJobOutcome.failed(container.failure_reason)
                outcome.start_time = self.start_time
                return outcome
            if self.job.checkpoint_config:
                self._checkpoints = CheckpointSync(self.job.checkpoint_config, self.job_dir, self.job.base_dir)
                self._checkpoints.restore()
            self.popen = self._spawn(
                argv, container.env, cwd, optml_dir=container.optml_dir, sys_path=container.sys_path
            )
        except BaseException:
            self._log.close()
            self._metrics.close()
            raise
        if self._checkpoints is not None:
            self._checkpoints.start()
        for stream, is_err in ((self.popen.stdout, False), (self.popen.stderr, True)):
            t = threading.Thread(
                target=self._pump, args=(stream, is_err), name=f"{self.name}-{'err' if is_err else 'out'}", daemon=True
            )
            t.start()
            self._readers.append(t)
        return None

    def _spawn(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        optml_dir: Path | None = None,
        sys_path: list[str] | None = None,
    ):
        """Create the child process through the runner; the only place one is created (see BaseRunner's contract)."""
        return self.runner.start(Command(argv, env, cwd, self.name, optml_dir=optml_dir, sys_path=list(sys_path or [])))

    # -- output ---------------------------------------------------------------------------------------------------
    def _pump(self, stream, is_err: bool) -> None:
        """Reader thread: chunks -> lines -> log + scraper, until the pipe closes."""
        read = getattr(stream, "read1", None) or stream.read
        splitter = LineSplitter()
        try:
            while True:
                try:
                    chunk = read(READ_CHUNK_BYTES)
                except OSError:
                    break
                if not chunk:
                    break
                if not self._saw_ansi and b"\x1b" in chunk:
                    self._saw_ansi = True
                self._take(splitter.feed(chunk), is_err)
            self._take(splitter.flush(), is_err)
        finally:
            with contextlib.suppress(OSError):
                stream.close()

    def _take(self, lines: list[bytes], is_err: bool) -> None:
        if not lines:
            return
        now = time.time()
        found: list[MetricPoint] = []
        with self._lock:
            if self._closed:  # a descendant outside the group kept writing after the job ended
                return
            found = self.scraper.feed_lines(lines, now)
            try:
                self._write(lines, found)
            except OSError as e:  # a full disk: the job's output is still read and scraped (never left to block)
                if self.write_error is None:
                    self.write_error = e
                    log.warning("%s: its log cannot be written (%s); its output is scraped but not kept", self.name, e)
            for raw in lines[-STDERR_TAIL_LINES:] if is_err else ():
                self._stderr_tail.append(line_text(raw[: TAIL_LINE_CHARS * 4])[:TAIL_LINE_CHARS])
            for raw in lines[-3:]:
                self._output_tail.append(line_text(raw[:800])[:200])
        if self.on_metric:
            for p in found:
                self.on_metric(p)

    def _write(self, lines: list[bytes], found: list[MetricPoint]) -> None:
        if all(raw.endswith(b"\n") for raw in lines):
            self._log.write(b"".join(lines))
        else:
            self._log.write(b"".join(raw if raw.endswith(b"\n") else raw + b"\n" for raw in lines))
        for p in found:
            self._metrics.write(json.dumps({"MetricName": p.name, "Value": p.value, "Timestamp": p.timestamp}) + "\n")
        # Out to the files with every chunk read: the log can be followed while the job runs (as CloudWatch
        # streams it), and a tuner killed mid-job leaves what the job printed so far.
        self._log.flush()
        if found:
            self._metrics.flush()

    # -- stopping -------------------------------------------------------------------------------------------------
    def stop(self, reason: str, failure_reason: str | None = None) -> None:
        """Ask the job to stop: SIGTERM to its process group now, SIGKILL after ``stop_grace`` (in :meth:`wait`).

        Args:
            reason: recorded as the stop reason (e.g. ``"MaxRuntimeExceeded"``, ``"StopRequested"``).
            failure_reason: FailureReason to report for the Stopped job, if any.
        """
        with self._lock:
            if self._stop_at is not None or self.popen is None:
                return
            self._stop_reason, self._stop_failure = reason, failure_reason
            self._stop_at = time.time()
        if not self._signal(signal.SIGTERM) and self.popen.poll() is None:
            # Started a moment ago: its session (and process group) may not exist yet; signal the process itself.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.popen.pid, signal.SIGTERM)

    def hurry(self) -> None:
        """Cut the stop's grace period short: SIGKILL at the next check in :meth:`wait` (within 0.2 s)."""
        self.stop_grace = 0

    def _signal(self, sig: int) -> bool:
        """Signal the job's process group; False when there is no such group."""
        return self.runner.stop(self.popen, sig)

    def wait(self) -> TrainingJobOutcome:
        """Block until the job ends (enforcing MaxRuntimeInSeconds and the stop grace); return its outcome."""
        assert self.popen is not None, "start() first"
        deadline = self.start_time + self.max_runtime
        while True:
            rc = self.runner.poll(self.popen, timeout=0.2)
            if rc is not None:
                break
            now = time.time()
            if now >= deadline and self._stop_at is None:
                self.stop(
                    "MaxRuntimeExceeded",
                    f"MaxRuntimeExceeded: Training job runtime exceeded MaxRuntimeInSeconds provided ({self.max_runtime:g} s)",
                )
            if self._stop_at is not None and now >= self._stop_at + self.stop_grace:
                self._signal(signal.SIGKILL)
        self._end_and_drain()
        end = time.time()
        with self._lock:
            self._closed = True
            for f in (self._log, self._metrics):
                try:
                    f.close()
                except OSError as e:  # buffered bytes a full disk refused
                    self.write_error = self.write_error or e
        if any(t.is_alive() for t in self._readers):
            log.warning(
                "%s: a process that left the training job's process group still holds its output; further output is dropped",
                self.name,
            )
        if self._checkpoints is not None:
            try:
                self._checkpoints.stop()
            except OSError as e:
                log.warning("%s: last checkpoint sync failed: %s", self.name, e)
        outcome = self._outcome(rc, end)
        self._pack(outcome)
        return outcome

    def _end_and_drain(self) -> None:
        """The entry point has exited: whatever it left behind goes too, so the pipes close and nothing lingers;
        then the readers take the last output.

        The job's supervisor kills what is left as soon as the entry point is reaped (``_supervisor.py``), so after a
        normal end the readers see end-of-file at once and no sweep of ``/proc`` is paid here (about a millisecond
        per job); a stopped job, or output still open after :data:`READER_QUIET_SECONDS` (a supervisor gone), is
        swept from here too."""
        if self._stop_at is not None:
            self._signal(signal.SIGKILL)
        else:
            for t in self._readers:
                t.join(timeout=READER_QUIET_SECONDS)
            if any(t.is_alive() for t in self._readers):
                self._signal(signal.SIGKILL)
        for t in self._readers:
            t.join(timeout=READER_JOIN_SECONDS)

    def _pack(self, outcome: TrainingJobOutcome) -> None:
        """Completed or Stopped (SageMaker saves a stopped job's model too): ``model/`` -> ``model.tar.gz`` and
        ``output/data`` -> ``output.tar.gz`` under ``<output path>/<job>/output/`` when the output path is local."""
        from amtlocal.container import pack_output

        if outcome.status not in ("Completed", "Stopped") or not self.output_path:
            return
        try:
            packed = pack_output(self.job_dir, self.output_path, self.name, self.job.base_dir)
            self.model_artifacts = packed.model_artifacts
        except OSError as e:  # the job's files stay in its folder; the job's status is what the script did
            log.warning("%s: output not packed: %s", self.name, e)

    # -- the outcome ----------------------------------------------------------------------------------------------
    def _outcome(self, rc: int, end: float) -> TrainingJobOutcome:
        out_dir = self.job_dir / "output"
        objective, objective_reason = objective_outcome(self.scraper, self.objective_name, self.objective_regex)
        if objective_reason and self._saw_ansi:
            objective_reason += " (the log holds ANSI colour codes: regexes see them raw, as in AMT)"
        if objective_reason and self._output_tail:
            objective_reason += ". Last log lines: " + " | ".join(self._output_tail)
        common = dict(
            exit_code=rc,
            start_time=self.start_time,
            end_time=end,
            final_metrics=dict(self.scraper.last),
            objective=objective,
            objective_reason=objective_reason,
        )
        if self._stop_at is not None:
            return TrainingJobOutcome("Stopped", self._stop_failure, stop_reason=self._stop_reason, **common)
        if rc == 0:
            (out_dir / "success").touch()
            return TrainingJobOutcome("Completed", None, **common)
        failure_file = out_dir / "failure"
        text = None
        if failure_file.is_file():  # the script wrote its own; the toolkit writes one only if it did not
            try:
                with open(failure_file, "rb") as f:
                    text = f.read(4 * FAILURE_REASON_MAX).decode("utf-8", errors="replace")
            except OSError:
                text = None
        else:
            with contextlib.suppress(OSError):
                failure_file.write_text(self._toolkit_failure_text(rc), encoding="utf-8")
        if not (text or "").strip():  # no file of the script's own, or an empty one: the toolkit's text
            text = self._toolkit_failure_text(rc)
        reason = ("AlgorithmError: " + text)[:FAILURE_REASON_MAX]
        # A failed job's objective never ranks (AMT counts it ObjectiveStatus Failed).
        common.update(objective=None, objective_reason=f"the training job failed with exit code {rc}")
        return TrainingJobOutcome("Failed", reason, **common)

    def _toolkit_failure_text(self, rc: int) -> str:
        """``output/failure`` as sagemaker-training-toolkit writes it, with the signal spelled out for a negative code."""
        code = f"{rc}"
        if rc < 0:
            code += f" ({describe_signal(-rc)})"
        with self._lock:
            message = "\n".join(self._stderr_tail)
        if len(message) > ERROR_MESSAGE_CHARS:
            message = "..." + message[-ERROR_MESSAGE_CHARS:]
        command = " ".join(self.argv)
        return f'ExecuteUserScriptError:\nExitCode {code}\nErrorMessage "{message}"\nCommand "{command}"'


def overlay_sys_path(job: ScriptModeJob, home: str | os.PathLike | None) -> list[str] | None:
    """What a fork server for ``job``'s entry point must put first on its ``sys.path`` (``runner_for``'s
    ``sys_path``): the ``requirements.txt`` overlay its training jobs will have, ``[]`` without one (or for code
    the toolkit installs nothing for: not a ``.py`` entry point, no code folder), None when the first job's pip has
    yet to build it (the fork server then starts at that job, with its overlay: never without it)."""
    from amtlocal.container import requirements_sys_path

    code = job.code_source
    if code is None or not job.program.endswith(".py") or not Path(code).is_dir():
        return []
    if home is None:
        from amtlocal.store import default_home

        home = default_home()
    try:
        return requirements_sys_path(code, home)
    except OSError:  # unreadable now: the job's own install reports it
        return None


def describe_signal(signum: int) -> str:
    """``killed by signal 11 (SIGSEGV: Segmentation fault)``; for SIGKILL also the usual cause (out of memory)."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        return f"killed by signal {signum}"
    text = f"killed by signal {signum} ({name}: {signal.strsignal(signum) or name})"
    if signum == signal.SIGKILL:
        text += "; an unexpected SIGKILL usually comes from the out-of-memory killer"
    return text


class Interrupts(threading.Event):
    """Interrupts within :func:`deferred_sigint` (Ctrl-C, SIGTERM, SIGHUP): set at the first; ``forced`` set at the
    second; ``signum`` is the first one's signal number (0 while none came)."""

    def __init__(self) -> None:
        super().__init__()
        self.forced = threading.Event()
        self.signum = 0


# Every way a terminal, a shell or a job system asks a process to end: Ctrl-C, ``kill``/``timeout``/systemd/Slurm/CI
# cancellation (SIGTERM), a closed SSH session or terminal (SIGHUP). Each is taken as a Ctrl-C: the same shutdown.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def deferred_sigint() -> Iterator[Interrupts]:
    """Within the block, Ctrl-C (SIGINT), SIGTERM and SIGHUP never land halfway through starting or recording a
    training job: the first only sets the yielded event (the tuner then stops its training jobs with SIGTERM and their
    grace period), the second sets its ``forced`` event (the tuner kills them at once, and still records them), and a
    third raises KeyboardInterrupt at once (a way out should the tuner be stuck). Outside the main thread nothing is
    installed; a signal that is ignored (``nohup``: SIGHUP) stays ignored."""
    flag = Interrupts()

    def handler(signum, frame):
        if flag.forced.is_set():
            raise KeyboardInterrupt
        if flag.is_set():
            flag.forced.set()
        else:
            flag.signum = signum
            flag.set()

    previous: dict[signal.Signals, object] = {}
    try:
        for sig in STOP_SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread of the main interpreter
        pass
    try:
        yield flag
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before if before is not None else signal.SIG_DFL)
