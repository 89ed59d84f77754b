"""The streaming scraper, property-based: for any output and any split of it into chunks, the reader finds exactly
what ``re.finditer`` finds on each line of the whole output (AMT applies regexes to log lines), and the log keeps
every byte. Lines longer than the cap are scraped in cap-sized pieces (amtlocal.metrics docstring)."""

from __future__ import annotations

import io
import json
import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amtlocal.backends.local._process import TrainingJobProcess
from amtlocal.metrics import MAX_LINE_BYTES, LineSplitter, MetricScraper, line_text

DEFINITIONS = [
    {"Name": "f1", "Regex": r"f1:\s+(-?[0-9\.]+|nan|inf)"},
    {"Name": "loss", "Regex": r"loss=([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"},
    {"Name": "anchored", "Regex": r"^acc ([0-9.]+)$"},
    {"Name": "lazy", "Regex": r"t=(.*?);"},
]

# Pieces of realistic and hostile output: metrics, carriage returns, CRLF, ANSI codes, bad UTF-8, multibyte UTF-8.
_atoms = st.sampled_from(
    [
        b"f1: ",
        b"0.5",
        b"-1.25",
        b"nan",
        b"inf",
        b"loss=",
        b"3e-4",
        b"1.5E+2",
        b"acc ",
        b"0.9",
        b"t=",
        b"7;",
        b";",
        b"\n",
        b"\n",
        b"\r",
        b"\r\n",
        b" ",
        b"\t",
        b"\x1b[32m",
        b"\x1b[0m",
        b"\xff",
        b"\xc3",
        b"\xa9",
        "é".encode(),
        "█".encode(),
        b"x",
        b"epoch 3 ",
    ]
)
_outputs = st.lists(_atoms, max_size=80).map(b"".join)


def _chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def _reference_lines(data: bytes, cap: int) -> list[str]:
    """Each line of the whole output (ends at \\n; a \\r\\n ending removed), cut into ``cap``-byte pieces."""
    segments = data.split(b"\n")
    out = []
    for i, seg in enumerate(segments):
        terminated = i < len(segments) - 1
        if not terminated and not seg:
            break
        pieces = [seg[j : j + cap] for j in range(0, len(seg), cap)] or [b""]
        if terminated and pieces[-1].endswith(b"\r"):
            pieces[-1] = pieces[-1][:-1]
        out.extend(p.decode("utf-8", errors="replace") for p in pieces)
    return out


def _finditer_values(lines: list[str]) -> list[tuple[str, float]]:
    found = []
    for line in lines:
        for d in DEFINITIONS:
            rx = re.compile(d["Regex"])
            for m in rx.finditer(line):
                try:
                    found.append((d["Name"], float((m.group(1) or "").strip())))
                except ValueError:
                    pass
    return found


def _same(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and (x[1] == y[1] or (math.isnan(x[1]) and math.isnan(y[1]))) for x, y in zip(a, b)
    )


def _split_all(chunks: list[bytes], cap: int) -> list[bytes]:
    s = LineSplitter(cap)
    out = []
    for c in chunks:
        out.extend(s.feed(c))
        assert s.pending <= cap
    return out + s.flush()


@settings(max_examples=400, deadline=None)
@given(_outputs, st.lists(st.integers(0, 10_000), max_size=12))
def test_lines_are_the_same_for_any_chunking(data, cuts):
    raw = _split_all(_chunked(data, cuts), MAX_LINE_BYTES)
    assert b"".join(raw) == data  # lossless
    assert [line_text(r) for r in raw] == _reference_lines(data, MAX_LINE_BYTES)


@settings(max_examples=400, deadline=None)
@given(_outputs, st.lists(st.integers(0, 10_000), max_size=12), st.integers(1, 12))
def test_over_long_lines_are_cut_into_cap_pieces_for_any_chunking(data, cuts, cap):
    raw = _split_all(_chunked(data, cuts), cap)
    assert b"".join(raw) == data
    assert all(len(r.rstrip(b"\n")) <= cap for r in raw)
    assert [line_text(r) for r in raw] == _reference_lines(data, cap)


class _Chunks:
    """A binary pipe stand-in whose ``read1`` returns the given chunks, then EOF."""

    def __init__(self, chunks: list[bytes]):
        self._chunks = list(chunks)

    def read1(self, n: int) -> bytes:
        assert n > 0
        return self._chunks.pop(0) if self._chunks else b""

    def close(self) -> None:
        pass


def _reader(tmp_path) -> TrainingJobProcess:
    proc = TrainingJobProcess(None, tmp_path, "t", {}, DEFINITIONS, "f1", 60)
    proc._log, proc._metrics = io.BytesIO(), io.StringIO()
    return proc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_outputs, st.lists(st.integers(0, 10_000), max_size=12))
def test_the_job_reader_scrapes_what_finditer_finds_on_each_line(tmp_path, data, cuts):
    proc = _reader(tmp_path)
    proc._pump(_Chunks(_chunked(data, cuts)), False)
    got = [(p["MetricName"], p["Value"]) for p in map(json.loads, proc._metrics.getvalue().splitlines())]
    assert _same(got, _finditer_values(_reference_lines(data, MAX_LINE_BYTES)))
    expected = {}
    for name, value in got:
        expected[name] = value
    assert proc.scraper.last.keys() == expected.keys()
    # output.log: the stream's bytes, plus a newline after an unterminated last line
    assert proc._log.getvalue() == (data + b"\n" if data and not data.endswith(b"\n") else data)


def test_a_long_line_is_scraped_in_pieces_and_a_match_across_a_cut_is_lost():
    cap = 16
    s = LineSplitter(cap)
    line = b"f1: 0.1 " + b"." * 8 + b"....f1: 0.2" + b"x" * 9 + b" f1: 0.3\n"
    #       piece 1: 'f1: 0.1 ........'  piece 2: "....f1: 0.2xxxxx"  piece 3: "xxxx f1: 0.3\\n"
    pieces = []
    for i in range(0, len(line), 5):
        pieces.extend(s.feed(line[i : i + 5]))
    assert [len(p) for p in pieces] == [16, 16, 13]
    scraper = MetricScraper([DEFINITIONS[0]])
    assert [p.value for piece in pieces for p in scraper.feed(line_text(piece), 0.0)] == [0.1, 0.2, 0.3]
    straddling = LineSplitter(cap).feed(b"." * 12 + b"f1: 0.4 xxxxxxx\n")  # 'f1: ' in piece 1, '0.4' in piece 2
    assert [p.value for piece in straddling for p in MetricScraper([DEFINITIONS[0]]).feed(line_text(piece), 0.0)] == []


def test_memory_held_for_a_line_is_bounded_by_the_cap():
    s = LineSplitter()
    chunk = b"y" * (64 << 10)
    total = 0
    for _ in range(100):  # 6.4 MiB without a newline
        total += sum(len(p) for p in s.feed(chunk))
        assert s.pending <= MAX_LINE_BYTES
    total += sum(len(p) for p in s.feed(b"\n") + s.flush())
    assert total == 100 * len(chunk) + 1


# The batch fast path (context-free regexes searched over a whole chunk) must give exactly the per-line results.
_FREE = [d for d in DEFINITIONS if d["Name"] != "anchored"] + [
    {"Name": "spacey", "Regex": r"acc\s+([0-9.]+)"},  # \s may match across lines in a batch: must not matter
    {"Name": "empty", "Regex": r"x*"},
]


@settings(max_examples=300, deadline=None)
@given(_outputs, st.lists(st.integers(0, 10_000), max_size=12))
def test_batch_fast_path_equals_per_line_scraping(data, cuts):
    from amtlocal.metrics import MetricScraper as Scraper

    fast, slow = Scraper(_FREE), Scraper(_FREE)
    assert all(fast._context_free)
    splitter = LineSplitter()
    got, want = [], []
    for chunk in _chunked(data, cuts) + [None]:
        lines = splitter.feed(chunk) if chunk is not None else splitter.flush()
        got += [(p.name, p.value) for p in fast.feed_lines(lines, 0.0)]
        want += [(p.name, p.value) for raw in lines for p in slow.feed(line_text(raw), 0.0)]
    assert _same(got, want)
    assert fast.rejected == slow.rejected and fast.counts == slow.counts
