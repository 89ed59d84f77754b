"""Streaming scraper for ``AlgorithmSpecification.MetricDefinitions``.

AMT applies each metric regex to every line the algorithm writes to stdout and stderr (AMT_REFERENCE.md section 2,
"Metrics and objective"). This module does the same, one line at a time, so a log is never held in memory whole.

Rules (documented choices where AMT is silent):
- every match of a regex in a line counts (``re.finditer``), in order;
- the value is capture group 1 (the whole match when the regex has no group) parsed with ``float``; a capture that
  is empty or is not a number is dropped and counted in :attr:`MetricScraper.rejected` (SDK issue #3208);
- ``nan``, ``inf`` and ``-inf`` parse and are kept in the series, but a final objective value that is not finite
  cannot be ranked: the training job's ObjectiveStatus becomes Failed (see :func:`objective_outcome`).

From a byte stream to lines (:class:`LineSplitter`; the same lines for any split of the stream into chunks):
- a line ends at ``\n`` only. A ``\r\n`` ending is removed whole (Windows line endings: ``$`` in a regex then
  matches at the end of the value). Every other ``\r`` stays in the line: a progress bar that redraws itself with
  carriage returns is ONE line holding every redraw, as the raw CloudWatch event holds it, so ``finditer`` finds
  each redraw's value in order and the last one is final; ``^`` anchors only the start of the whole line.
- ANSI colour codes and any other bytes stay: regexes see the raw text, as AMT's do. Bytes are decoded as UTF-8
  with invalid sequences replaced by U+FFFD (a line with bad bytes is still scraped).
- a last line without a newline is scraped when the stream ends.
- line length cap, :data:`MAX_LINE_BYTES` (1 MiB): a longer line is cut into 1 MiB pieces as it streams, and each
  piece is scraped (and logged) as a line of its own, like CloudWatch Logs splitting an oversized event. Memory per
  stream stays under the cap plus one read chunk whatever the line length; every byte is still logged and scraped.
  The one loss: a match that straddles a 1 MiB boundary inside such a line is not found (nor is a ``^`` anchor
  matched at the start of a continuation piece).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

MAX_LINE_BYTES = 1 << 20  # lines longer than this are scraped in pieces of this size (see the module docstring)
READ_CHUNK_BYTES = 64 << 10  # how much a reader takes from a pipe at a time


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
        self._context_free = [_context_free(rx.pattern) for _, rx in self._compiled]

    def feed_lines(self, raws: list[bytes], timestamp: float) -> list[MetricPoint]:
        """Scrape raw lines from :class:`LineSplitter`: exactly what :meth:`feed` gives on each ``line_text(raw)``,
        in the same order, but fast when most lines hold no metric.

        A regex whose match cannot depend on text outside the match (no anchors, no lookaround, no backreference)
        is searched over the whole batch at once; only a line where such a search finds a match start is scraped on
        its own (a match within a line is also a match in the batch text, at the same place, so no line is missed).
        """
        if not raws:
            return []
        if not all(r.endswith(b"\n") for r in raws) or not all(self._context_free):
            out: list[MetricPoint] = []
            for raw in raws:
                out.extend(self.feed(line_text(raw), timestamp))
            return out
        text = b"".join(raws).decode("utf-8", errors="replace")
        hits: dict[int, str] = {}  # line start offset -> the line's text, for lines where some regex may match
        for _, rx in self._compiled:
            pos, n = 0, len(text)
            while pos < n:
                m = rx.search(text, pos)
                if m is None:
                    break
                start = text.rfind("\n", 0, m.start()) + 1
                end = text.find("\n", m.start())
                end = n if end < 0 else end
                if start not in hits:
                    line = text[start:end]
                    hits[start] = line[:-1] if line.endswith("\r") else line
                pos = end + 1
        out = []
        for start in sorted(hits):
            out.extend(self.feed(hits[start], timestamp))
        return out

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

    def unmatched(self) -> list[dict]:
        """The definitions that produced no numeric value so far."""
        return [d for d in self.definitions if d["Name"] not in self.counts]


def _context_free(pattern: str) -> bool:
    """True when whether the pattern matches at a position depends only on the characters it consumes: no anchors
    (``^ $ \\A \\Z \\b \\B``), no lookaround, no backreferences. Unknown constructs count as context-dependent."""
    try:
        import re._parser as parser  # Python >= 3.11
        from re import _constants as c
    except ImportError:  # Python 3.10
        import sre_constants as c  # type: ignore[no-redef]
        import sre_parse as parser  # type: ignore[no-redef]
    try:
        tree = parser.parse(pattern)
    except Exception:  # noqa: BLE001
        return False
    banned = {c.AT, c.ASSERT, c.ASSERT_NOT, c.GROUPREF, c.GROUPREF_EXISTS}

    def ok(items) -> bool:
        for op, av in items:
            if op in banned:
                return False
            if op is c.SUBPATTERN and not ok(av[-1]):
                return False
            if op is c.BRANCH and not all(ok(b) for b in av[1]):
                return False
            if op in (c.MAX_REPEAT, c.MIN_REPEAT) or getattr(c, "POSSESSIVE_REPEAT", None) is op:
                if not ok(av[2]):
                    return False
            if getattr(c, "ATOMIC_GROUP", None) is op and not ok(av):
                return False
        return True

    return ok(tree)


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
        return (
            None,
            f"The objective metric {metric_name!r} was never emitted: its regex {regex} matched no number in the logs{extra}",
        )
    value = scraper.last[metric_name]
    if not math.isfinite(value):
        return (
            None,
            f"The objective metric {metric_name!r} ended at {value!r}, which cannot be ranked (non-finite values never count as an objective)",
        )
    return value, None


class LineSplitter:
    """Cuts a byte stream, fed in chunks of any size, into log lines (rules in the module docstring).

    ``feed`` and ``flush`` return raw lines: a complete line keeps its ``b"\n"`` (and a ``b"\r"`` before it), a
    piece of an over-long line or the unterminated last line has no ``b"\n"``. :func:`line_text` gives the text a
    regex sees. Concatenating every returned line gives back the stream exactly.

    Args:
        max_line: the cap in bytes (default :data:`MAX_LINE_BYTES`); a line longer than this is returned in
            ``max_line`` pieces, so the splitter never holds more than ``max_line`` bytes between calls.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES):
        if max_line < 1:
            raise ValueError("max_line must be >= 1")
        self.max_line = max_line
        self._pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Add a chunk; returns the lines (and over-long pieces) it completes, in order."""
        if not data:
            return []
        buf = self._pending + data if self._pending else bytes(data)
        cap = self.max_line
        out: list[bytes] = []
        start = 0
        find = buf.find
        while True:
            nl = find(b"\n", start)
            if nl < 0:
                break
            if nl + 1 - start <= cap + 1:  # the common case: a line within the cap (cap counts bytes before \n)
                out.append(buf[start : nl + 1])
            else:
                for i in range(start, nl, cap):
                    out.append(buf[i : min(i + cap, nl + 1)] if i + cap < nl else buf[i : nl + 1])
            start = nl + 1
        rest = len(buf) - start
        if rest > cap:  # an over-long line still streaming: hand out its whole pieces now
            n = (rest - 1) // cap  # pieces certainly followed by more bytes of the line (the last piece carries the \n)
            for i in range(n):
                out.append(buf[start + i * cap : start + (i + 1) * cap])
            start += n * cap
        self._pending = buf[start:]
        return out

    def flush(self) -> list[bytes]:
        """The stream ended: the unterminated last line, if any (as ``[line]``)."""
        pending, self._pending = self._pending, b""
        return [pending] if pending else []

    @property
    def pending(self) -> int:
        """Bytes held for a line not yet complete (at most ``max_line``)."""
        return len(self._pending)


def line_text(raw: bytes) -> str:
    """The text of a raw line from :class:`LineSplitter` as regexes see it: ``\n`` or ``\r\n`` ending removed,
    everything else kept, decoded as UTF-8 with U+FFFD for invalid bytes."""
    if raw.endswith(b"\n"):
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    return raw.decode("utf-8", errors="replace")


def scrape_log(path: str | os.PathLike, definitions: list[dict]) -> MetricScraper:
    """Scrape a saved training log (a file of stdout/stderr lines) with ``definitions`` (MetricDefinitions), with
    the same line rules as a running training job's scraper (:class:`LineSplitter`, :func:`line_text`), streaming:
    the file is never held in memory whole. Timestamps are 0.

    Returns:
        the :class:`MetricScraper` afterwards (its ``counts``, ``last`` and ``rejected`` per metric name).

    Raises:
        OSError: the file cannot be read.
    """
    scraper = MetricScraper(definitions)
    splitter = LineSplitter()
    with open(path, "rb") as f:
        while chunk := f.read(READ_CHUNK_BYTES):
            for raw in splitter.feed(chunk):
                scraper.feed(line_text(raw), 0.0)
    for raw in splitter.flush():
        scraper.feed(line_text(raw), 0.0)
    return scraper
