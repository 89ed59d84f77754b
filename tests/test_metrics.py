"""The streaming metric scraper: the same values as re.finditer on each log line; numbers only."""

from __future__ import annotations

import math
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from amtlocal.metrics import MetricScraper, objective_outcome

LOSS = {"Name": "loss", "Regex": r"loss: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"}


def test_every_match_counts_and_the_last_is_final():
    s = MetricScraper([LOSS, {"Name": "acc", "Regex": r"acc=([0-9.]+)"}])
    pts = s.feed("loss: 2.5e-03 loss: -1.5E-04 acc=0.5", 1.0)
    assert [(p.name, p.value) for p in pts] == [("loss", 0.0025), ("loss", -0.00015), ("acc", 0.5)]
    assert s.last == {"loss": -0.00015, "acc": 0.5} and s.counts == {"loss": 2, "acc": 1}


def test_non_numbers_and_empty_lazy_groups_are_dropped():
    s = MetricScraper([{"Name": "f1", "Regex": r"f1: (\S*?)"}, {"Name": "auc", "Regex": r"auc: (\w+)"}])
    assert s.feed("f1: 0.9 auc: high", 0.0) == []
    assert s.rejected == {"f1": "", "auc": "high"}
    value, reason = objective_outcome(s, "auc", r"auc: (\w+)")
    assert value is None and "'high' is not a number" in reason and r"auc: (\w+)" in reason


def test_regex_without_group_uses_the_whole_match():
    s = MetricScraper([{"Name": "n", "Regex": r"[0-9]+\.[0-9]+"}])
    assert [p.value for p in s.feed("value 3.25 then 4.5", 0.0)] == [3.25, 4.5]


def test_non_finite_final_value_cannot_rank():
    s = MetricScraper([{"Name": "f1", "Regex": r"f1: (\S+)"}])
    s.feed("f1: 0.5", 0.0)
    s.feed("f1: nan", 0.0)
    value, reason = objective_outcome(s, "f1", r"f1: (\S+)")
    assert value is None and "nan" in reason
    s.feed("f1: -inf", 0.0)
    assert objective_outcome(s, "f1", "")[0] is None
    s.feed("f1: 0.7", 0.0)
    assert objective_outcome(s, "f1", "") == (0.7, None)


_line = st.text(st.sampled_from(list("loss: 0123456789.eE+- xacc=\t")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=20))
def test_same_values_as_finditer_per_line(lines):
    s = MetricScraper([LOSS])
    got = [p.value for line in lines for p in s.feed(line, 0.0)]
    rx = re.compile(LOSS["Regex"])
    expected = [float(m.group(1)) for line in lines for m in rx.finditer(line)]
    assert got == expected or all(math.isnan(a) and math.isnan(b) for a, b in zip(got, expected))


def test_scrape_log_reads_a_saved_log_with_the_running_job_rules(tmp_path):
    """``amtlocal validate --log``'s reader: CRLF endings removed, carriage-return redraws kept in one line, a last
    line without a newline scraped, a non-number capture reported."""
    from amtlocal.metrics import scrape_log

    log = tmp_path / "sample.log"
    log.write_bytes(b"epoch 1 f1: 0.25\r\nbar f1: 0.5\rbar f1: 0.75\nloss: abc\nf1: 0.9")
    scraper = scrape_log(log, [{"Name": "f1", "Regex": r"f1: ([0-9.]+)$"}, {"Name": "loss", "Regex": r"loss: (\S+)"}])
    assert scraper.counts == {"f1": 3} and scraper.last == {"f1": 0.9}  # 0.25, 0.75 (only the redraw at $), 0.9
    assert scraper.rejected == {"loss": "abc"} and [d["Name"] for d in scraper.unmatched()] == ["loss"]
