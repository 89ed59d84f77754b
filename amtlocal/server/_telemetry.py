"""CloudWatch metrics and CloudWatch Logs of local training jobs, as SageMaker publishes them (issue 14 item 2).

- Metrics: namespace ``/aws/sagemaker/TrainingJobs``, one metric per MetricDefinitions name, dimension
  ``Host = <training-job-name>/algo-1`` (the documented one) and, as a second metric, ``TrainingJobName = <name>`` (what
  SDK v2's TrainingJobAnalytics asks for), one datum per scraped value at the time it was printed (the store's metric
  series). Before any CloudWatch request reaches moto, the points scraped since the last request are put into moto's
  CloudWatch backend of the request's region, so moto answers GetMetricData, GetMetricStatistics and ListMetrics in
  whichever protocol the client speaks (botocore uses CBOR for CloudWatch). Non-finite values are left out, as
  CloudWatch refuses them.
- Logs: log group ``/aws/sagemaker/TrainingJobs``, one stream per training job, ``<job>/algo-1-<epoch seconds of its
  CreationTime>``, whose events are the job's log lines (stdout and stderr as written). DescribeLogStreams,
  GetLogEvents and FilterLogEvents on that group are answered here (other groups go to moto). The store keeps no time
  per line: every event carries the job's TrainingStartTime (else CreationTime); FilterLogEvents' ``filterPattern``
  matches lines holding every space-separated term (quoted phrases as one term), not CloudWatch's whole syntax.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import shlex
import threading
from collections.abc import Callable, Iterator
from typing import Any

from amtlocal.server import _sdk, _wire

log = logging.getLogger(__name__)

NAMESPACE = "/aws/sagemaker/TrainingJobs"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
LOG_OPERATIONS = ("DescribeLogStreams", "GetLogEvents", "FilterLogEvents")
_MAX_EVENTS = 10000  # GetLogEvents' and FilterLogEvents' page size (the service's default limit)
Response = tuple[int, list[tuple[str, str]], bytes]


def _ms(value: Any) -> int:
    """A timestamp (datetime or epoch seconds) as epoch milliseconds."""
    return int(round((value.timestamp() if hasattr(value, "timestamp") else float(value)) * 1000))


class Telemetry:
    """Publishes the store's metric series to moto's CloudWatch and answers the training-job log group.

    Args:
        backend: the server's LocalBackend (only its public Backend methods are called).
    """

    def __init__(self, backend: Any):
        self.backend = backend
        self._pushed: dict[str, int] = {}  # training job -> series points already put into moto
        self._finished: set[str] = set()  # jobs that ended with every point pushed
        self._lock = threading.Lock()

    # -- jobs ---------------------------------------------------------------------------------------------------------
    def _jobs(self) -> list[tuple[str | None, dict[str, Any]]]:
        """``(tuning job name or None, TrainingJobSummary)`` of every training job in the store."""
        out: list[tuple[str | None, dict[str, Any]]] = []
        owned: set[str] = set()
        for t in self.backend.list_tuning_jobs():
            name = t["HyperParameterTuningJobName"]
            for s in self.backend.all_training_jobs(name):
                out.append((name, s))
                owned.add(s["TrainingJobName"])
        token = None
        while True:
            page = self.backend.training_jobs(MaxResults=100, **({"NextToken": token} if token else {}))
            out.extend((None, s) for s in page["TrainingJobSummaries"] if s["TrainingJobName"] not in owned)
            token = page.get("NextToken")
            if not token:
                return out

    # -- metrics ------------------------------------------------------------------------------------------------------
    def publish_metrics(self, region: str) -> int:
        """Put the points scraped since the last call into moto's CloudWatch (account 000000000000, ``region``).
        Returns how many points were put."""
        import datetime as dt

        from moto.cloudwatch.models import cloudwatch_backends

        from amtlocal.lifecycle import TERMINAL_STATUSES

        cloudwatch = cloudwatch_backends[_sdk.ACCOUNT_ID][region]
        put = 0
        with self._lock:
            for tuning, summary in self._jobs():
                name = summary["TrainingJobName"]
                if name in self._finished:
                    continue
                ended = summary["TrainingJobStatus"] in TERMINAL_STATUSES
                series = self.backend.metric_series(tuning, name)
                new = series[self._pushed.get(name, 0) :]
                data = [
                    {
                        "MetricName": p["MetricName"],
                        "Value": float(p["Value"]),
                        # naive UTC: moto compares with the naive datetimes it parses from requests
                        "Timestamp": dt.datetime.fromtimestamp(p["Timestamp"], dt.timezone.utc).replace(tzinfo=None),
                        "Dimensions": [dimension],
                        "Unit": "None",
                    }
                    for p in new
                    if math.isfinite(float(p["Value"]))
                    for dimension in (
                        {"Name": "Host", "Value": f"{name}/algo-1"},
                        {"Name": "TrainingJobName", "Value": name},
                    )
                ]
                if data:
                    cloudwatch.put_metric_data(NAMESPACE, data)
                    put += len(data)
                self._pushed[name] = len(series)
                if ended:
                    self._finished.add(name)
        return put

    # -- logs ---------------------------------------------------------------------------------------------------------
    @staticmethod
    def handles_logs(operation: str, body: bytes) -> bool:
        """Whether a CloudWatch Logs request (``Logs_20140328.<operation>``) is about the training-job log group."""
        if operation not in LOG_OPERATIONS:
            return False
        try:
            return json.loads(body or b"{}").get("logGroupName") == LOG_GROUP
        except (ValueError, AttributeError):
            return False

    def logs(self, operation: str, body: bytes) -> Response:
        """Answer DescribeLogStreams / GetLogEvents / FilterLogEvents on the training-job log group (JSON 1.1)."""
        from amtlocal.exceptions import TrainingJobNotFound

        try:
            params = json.loads(body or b"{}")
            handler = {
                "DescribeLogStreams": self._describe_log_streams,
                "GetLogEvents": self._get_log_events,
                "FilterLogEvents": self._filter_log_events,
            }[operation]
            return _wire.json_response(handler(params))
        except TrainingJobNotFound:
            return _wire.error_response("ResourceNotFoundException", "The specified log stream does not exist.")
        except (ValueError, KeyError, TypeError) as e:
            return _wire.error_response("InvalidParameterException", f"{operation}: {e}")

    def _stream(self, summary: dict[str, Any]) -> dict[str, Any]:
        created = _ms(summary["CreationTime"])
        name = f"{summary['TrainingJobName']}/algo-1-{created // 1000}"
        last = _ms(summary.get("TrainingEndTime") or summary.get("LastModifiedTime") or summary["CreationTime"])
        return {
            "logStreamName": name,
            "creationTime": created,
            "firstEventTimestamp": created,
            "lastEventTimestamp": last,
            "lastIngestionTime": last,
            "storedBytes": 0,
        }

    def _summaries(self, prefix: str) -> list[dict[str, Any]]:
        """Summaries of the training jobs whose stream name may start with ``prefix``."""
        from amtlocal.exceptions import TrainingJobNotFound

        if "/" in prefix:  # the SDKs ask for "<job>/": one job
            try:
                return [self.backend.describe_training_job(prefix.split("/", 1)[0])]
            except TrainingJobNotFound:
                return []
        return [s for _, s in self._jobs() if s["TrainingJobName"].startswith(prefix)]

    def _describe_log_streams(self, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("logStreamNamePrefix") or ""
        streams = [self._stream(s) for s in self._summaries(prefix)]
        streams = [s for s in streams if s["logStreamName"].startswith(prefix)]
        by_time = params.get("orderBy") == "LastEventTime"
        streams.sort(key=lambda s: s["lastEventTimestamp"] if by_time else s["logStreamName"])
        if params.get("descending"):
            streams.reverse()
        start = int(params.get("nextToken") or 0)
        size = int(params.get("limit") or 50)
        out: dict[str, Any] = {"logStreams": streams[start : start + size]}
        if start + size < len(streams):
            out["nextToken"] = str(start + size)
        return out

    def _events(self, stream: str) -> Iterator[dict[str, Any]]:
        """The events of log stream ``stream``, oldest first, read lazily (a log may be hundreds of MB). Raises
        TrainingJobNotFound for a stream of no training job (before the first event is asked for)."""
        from amtlocal.exceptions import TrainingJobNotFound

        job = stream.rsplit("/algo-1-", 1)[0]
        desc = self.backend.describe_training_job(job)
        if self._stream(desc)["logStreamName"] != stream:
            raise TrainingJobNotFound(job)
        when = _ms(desc.get("TrainingStartTime") or desc["CreationTime"])
        lines = self.backend.training_job_logs(job)
        return ({"timestamp": when, "message": line, "ingestionTime": when} for line in lines)

    def _get_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        """GetLogEvents as CloudWatch Logs documents it: without ``nextToken``, ``startFromHead`` (default false) picks
        the first or the latest ``limit`` events; ``nextForwardToken`` pages on towards the newest, ``nextBackwardToken``
        back towards the oldest, events always oldest first within a page; at either end the token passed in comes
        back unchanged (the pager's stop signal; a forward pager keeps asking with it for lines written later).
        A token is ``f/<position>`` or ``b/<position>``, a position being a line index between events."""
        limit = int(params.get("limit") or _MAX_EVENTS)
        if not 1 <= limit <= _MAX_EVENTS:
            raise ValueError(f"limit must be between 1 and {_MAX_EVENTS}, got {limit}")
        token = params.get("nextToken")
        if token:
            try:
                direction, position = token[0], int(token[2:])
            except ValueError:
                direction, position = "", -1
            if direction not in ("f", "b") or token[1:2] != "/" or position < 0:
                raise ValueError("The specified nextToken is invalid.")
        else:
            direction, position = ("f", 0) if params.get("startFromHead") else ("b", -1)  # -1: the stream's end
        start_time, end_time = params.get("startTime"), params.get("endTime")

        def wanted(e: dict[str, Any]) -> bool:
            return (start_time is None or e["timestamp"] >= start_time) and (
                end_time is None or e["timestamp"] < end_time
            )

        events = enumerate(self._events(params["logStreamName"]))
        if direction == "f":
            page, begin, end = _forward_page(events, position, limit, wanted)
        else:
            page, begin, end = _backward_page(events, position, limit, wanted)
        forward, backward = f"f/{end:056d}", f"b/{begin:056d}"
        if token and direction == "f" and end == position:  # nothing further: the same token back
            forward = token
        if token and direction == "b" and begin == position:
            backward = token
        return {"events": page, "nextForwardToken": forward, "nextBackwardToken": backward}

    def _filter_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        names = params.get("logStreamNames")
        if names:
            streams = names
        else:
            listed = self._describe_log_streams(
                {"logStreamNamePrefix": params.get("logStreamNamePrefix"), "limit": 10000}
            )
            streams = [s["logStreamName"] for s in listed["logStreams"]]
        terms = shlex.split(params.get("filterPattern") or "")
        found = []
        for stream in streams:
            for i, e in enumerate(self._events(stream)):
                if params.get("startTime") is not None and e["timestamp"] < params["startTime"]:
                    continue
                if params.get("endTime") is not None and e["timestamp"] > params["endTime"]:
                    continue
                if all(t in e["message"] for t in terms):
                    found.append({**e, "logStreamName": stream, "eventId": f"{stream}:{i}"})
        start = int(params.get("nextToken") or 0)
        size = int(params.get("limit") or _MAX_EVENTS)
        out: dict[str, Any] = {
            "events": found[start : start + size],
            "searchedLogStreams": [{"logStreamName": s, "searchedCompletely": True} for s in streams],
        }
        if start + size < len(found):
            out["nextToken"] = str(start + size)
        return out


def _forward_page(
    events: Iterator[tuple[int, dict[str, Any]]], position: int, limit: int, wanted: Callable[[dict[str, Any]], bool]
) -> tuple[list[dict[str, Any]], int, int]:
    """The first ``limit`` wanted events at or after ``position``, and the positions before and after the page."""
    page, end = [], position
    for i, e in events:
        if i < position:
            continue
        end = i + 1
        if wanted(e):
            page.append(e)
            if len(page) == limit:
                break
    return page, position, end


def _backward_page(
    events: Iterator[tuple[int, dict[str, Any]]], position: int, limit: int, wanted: Callable[[dict[str, Any]], bool]
) -> tuple[list[dict[str, Any]], int, int]:
    """The last ``limit`` wanted events before ``position`` (-1: the stream's end), oldest first, and the positions
    before and after the page."""
    newest: collections.deque[tuple[int, dict[str, Any]]] = collections.deque(maxlen=limit)
    end = 0
    for i, e in events:
        if i == position:
            break
        end = i + 1
        if wanted(e):
            newest.append((i, e))
    begin = newest[0][0] if len(newest) == limit else 0
    return [e for _, e in newest], begin, end
