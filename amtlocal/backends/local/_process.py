"""One training job as a child process: start, stream and scrape its output, enforce its time limit, stop it.

The child runs in a new session (its own process group), so stopping a job ends everything it started. Stopping
follows SageMaker: SIGTERM to the group, then SIGKILL after a grace period (120 s in AMT; ``stop_grace`` here).
"""
from __future__ import annotations

import collections
import json
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from amtlocal.backends.local._container import ScriptModeJob
from amtlocal.metrics import MetricPoint, MetricScraper, objective_outcome

log = logging.getLogger(__name__)

DEFAULT_STOP_GRACE_SECONDS = 120.0  # AMT_REFERENCE.md: "Stopping sends SIGTERM and allows a 120 s grace period"
STDERR_TAIL_LINES = 10
FAILURE_REASON_MAX = 1024  # FailureReason max length in the API model


@dataclass
class TrainingJobOutcome:
    """How a training job ended, in AMT terms.

    Attributes:
        status: ``Completed`` | ``Failed`` | ``Stopped`` (TrainingJobStatus).
        failure_reason: FailureReason (at most 1024 characters) or None.
        exit_code: the entry point's exit code (negative: killed by that signal), None if it never started.
        start_time, end_time: epoch seconds (TrainingStartTime, TrainingEndTime).
        final_metrics: metric name -> last value (FinalMetricDataList).
        objective: the final objective value when usable, else None (ObjectiveStatus Failed).
        objective_reason: why ``objective`` is None.
        stop_reason: why the job was stopped, when it was.
    """

    status: str
    failure_reason: str | None
    exit_code: int | None
    start_time: float
    end_time: float
    final_metrics: dict[str, float] = field(default_factory=dict)
    objective: float | None = None
    objective_reason: str | None = None
    stop_reason: str | None = None


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
    """

    def __init__(self, job: ScriptModeJob, job_dir: Path, name: str, wire_hyperparameters: dict[str, str],
                 metric_definitions: list[dict], objective_name: str, max_runtime: float,
                 on_metric: Callable[[MetricPoint], None] | None = None,
                 stop_grace: float = DEFAULT_STOP_GRACE_SECONDS):
        self.job, self.job_dir, self.name = job, Path(job_dir), name
        self.wire_hyperparameters = wire_hyperparameters
        self.scraper = MetricScraper(metric_definitions)
        self.objective_name = objective_name
        self.objective_regex = next((d["Regex"] for d in metric_definitions if d["Name"] == objective_name), "")
        self.max_runtime = max_runtime
        self.on_metric = on_metric
        self.stop_grace = stop_grace
        self.popen: subprocess.Popen | None = None
        self.start_time = 0.0
        self._stop_reason: str | None = None
        self._stop_failure: str | None = None
        self._stop_at: float | None = None
        self._lock = threading.Lock()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._output_tail: collections.deque[str] = collections.deque(maxlen=3)
        self._readers: list[threading.Thread] = []
        self.argv: list[str] = []

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        """Lay out the job folder and start the entry point (argv list, no shell, new process group)."""
        argv, env, cwd = self.job.prepare(self.job_dir, self.name, self.wire_hyperparameters)
        self.argv = argv
        logs = self.job_dir / "logs"
        self._log = open(logs / "output.log", "ab")
        self._metrics = open(logs / "metrics.jsonl", "a", encoding="utf-8")
        self.start_time = time.time()
        self.popen = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, start_new_session=True)
        for stream, is_err in ((self.popen.stdout, False), (self.popen.stderr, True)):
            t = threading.Thread(target=self._read, args=(stream, is_err), name=f"{self.name}-{'err' if is_err else 'out'}", daemon=True)
            t.start()
            self._readers.append(t)

    def _read(self, stream, is_err: bool) -> None:
        for raw in iter(stream.readline, b""):
            now = time.time()
            text = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")
            with self._lock:
                self._log.write(raw if raw.endswith(b"\n") else raw + b"\n")
                points = self.scraper.feed(text, now)
                for p in points:
                    self._metrics.write(json.dumps({"MetricName": p.name, "Value": p.value, "Timestamp": p.timestamp}) + "\n")
                if is_err:
                    self._stderr_tail.append(text)
                self._output_tail.append(text[:200])
            if self.on_metric:
                for p in points:
                    self.on_metric(p)
        stream.close()

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
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self) -> TrainingJobOutcome:
        """Block until the job ends (enforcing MaxRuntimeInSeconds and the stop grace); return its outcome."""
        assert self.popen is not None, "start() first"
        deadline = self.start_time + self.max_runtime
        while True:
            try:
                rc = self.popen.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                now = time.time()
                if now >= deadline and self._stop_at is None:
                    self.stop("MaxRuntimeExceeded", f"MaxRuntimeExceeded: Training job runtime exceeded MaxRuntimeInSeconds provided ({self.max_runtime:g} s)")
                if self._stop_at is not None and now >= self._stop_at + self.stop_grace:
                    self._signal(signal.SIGKILL)
        # Whatever the entry point left behind in its group goes too, so the pipes close and nothing lingers.
        self._signal(signal.SIGKILL)
        for t in self._readers:
            t.join(timeout=10)
        end = time.time()
        self._log.close()
        self._metrics.close()
        return self._outcome(rc, end)

    def _outcome(self, rc: int, end: float) -> TrainingJobOutcome:
        out_dir = self.job_dir / "output"
        objective, objective_reason = objective_outcome(self.scraper, self.objective_name, self.objective_regex)
        if objective_reason and self._output_tail:
            objective_reason += ". Last log lines: " + " | ".join(self._output_tail)
        common = dict(exit_code=rc, start_time=self.start_time, end_time=end, final_metrics=dict(self.scraper.last),
                      objective=objective, objective_reason=objective_reason)
        if self._stop_at is not None:
            return TrainingJobOutcome("Stopped", self._stop_failure, stop_reason=self._stop_reason, **common)
        if rc == 0:
            (out_dir / "success").touch()
            return TrainingJobOutcome("Completed", None, **common)
        failure_file = out_dir / "failure"
        if not failure_file.exists():  # the toolkit writes it only if the script did not
            failure_file.write_text(self._toolkit_failure_text(rc), encoding="utf-8")
        text = failure_file.read_text(encoding="utf-8", errors="replace")
        reason = ("AlgorithmError: " + text)[:FAILURE_REASON_MAX]
        # A failed job's objective never ranks (AMT counts it ObjectiveStatus Failed).
        common.update(objective=None, objective_reason=f"the training job failed with exit code {rc}")
        return TrainingJobOutcome("Failed", reason, **common)

    def _toolkit_failure_text(self, rc: int) -> str:
        code = f"{rc}"
        if rc < 0:
            try:
                code += f" (killed by signal {signal.Signals(-rc).name})"
            except ValueError:
                pass
        with self._lock:
            message = "\n".join(self._stderr_tail)
        command = " ".join(self.argv)
        return f'ExecuteUserScriptError:\nExitCode {code}\nErrorMessage "{message}"\nCommand "{command}"'
