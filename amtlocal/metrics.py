"""Streaming scraper for ``AlgorithmSpecification.MetricDefinitions``.

AMT applies each metric regex to every line the algorithm writes to stdout and stderr (AMT_REFERENCE.md section 2,
"Metrics and objective"). This module does the same, one line at a time, so a log is never held in memory whole.

Rules (documented choices where AMT is silent):
- every match of a regex in a line counts (``re.finditer``), in order;
- the value is capture group 1 (the whole match when the regex has no group) parsed with ``float``; a capture that
  is empty or is not a number is dropped and counted in :attr:`MetricScraper.rejected` (SDK issue #3208);
- ``nan``, ``inf`` and ``-inf`` parse and are kept in the series, but a final objective value that is not finite
  cannot be ranked: the training job's ObjectiveStatus becomes Failed (see :func:`objective_outcome`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable


@dataclass
class MetricPoint:
    """One scraped value: ``name`` of the metric definition, ``value`` (float), ``timestamp`` (epoch seconds)."""

    name: str
    value: float
    timestamp: float


@dataclass
class MetricScraper:
    """Applies MetricDefinitions (``[{"Name": str, "Regex": str}, ...]``) to log lines.

    Attributes:
        last: the last value per metric name (the AMT "final" value, FinalMetricDataList).
        counts: matches kept per metric name.
        rejected: per metric name, the last capture that was not a number (or empty), if any.
    """

    definitions: list[dict]
    last: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._compiled = [(d["Name"], re.compile(d["Regex"])) for d in self.definitions]

    def feed(self, line: str, timestamp: float) -> list[MetricPoint]:
        """Scrape one log line (without its newline); returns the points found, in order of definition then match."""
        points: list[MetricPoint] = []
        for name, rx in self._compiled:
            for m in rx.finditer(line):
                raw = m.group(1) if rx.groups else m.group(0)
                value = _to_float(raw)
                if value is None:
                    self.rejected[name] = raw if raw is not None else ""
                    continue
                self.last[name] = value
                self.counts[name] = self.counts.get(name, 0) + 1
                points.append(MetricPoint(name, value, timestamp))
        return points

    def feed_all(self, lines: Iterable[str], timestamp: float = 0.0) -> list[MetricPoint]:
        """Scrape many lines; convenience for tests and ``amtlocal validate --log``."""
        out: list[MetricPoint] = []
        for line in lines:
            out.extend(self.feed(line, timestamp))
        return out

    def unmatched(self) -> list[dict]:
        """The definitions that produced no numeric value so far."""
        return [d for d in self.definitions if d["Name"] not in self.counts]


def _to_float(raw: str | None) -> float | None:
    if raw is None:
        return None
    raw = raw.strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def objective_outcome(scraper: MetricScraper, metric_name: str, regex: str) -> tuple[float | None, str | None]:
    """The final objective value and, when there is none usable, the reason why.

    Returns:
        ``(value, None)`` when the last match of ``metric_name`` is a finite float; otherwise ``(None, reason)``,
        the reason naming the metric and its regex (ObjectiveStatus Failed in AMT terms).
    """
    if metric_name not in scraper.last:
        extra = ""
        if metric_name in scraper.rejected:
            extra = f"; its last capture {scraper.rejected[metric_name]!r} is not a number"
        return None, f"The objective metric {metric_name!r} was never emitted: its regex {regex} matched no number in the logs{extra}"
    value = scraper.last[metric_name]
    if not math.isfinite(value):
        return None, f"The objective metric {metric_name!r} ended at {value!r}, which cannot be ranked (non-finite values never count as an objective)"
    return value, None
