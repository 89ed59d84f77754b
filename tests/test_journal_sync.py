"""Durability of the embedded store's journal against the cost of fsync: a training job's records reach the disk
before its process starts, and a tuning job pays about one fsync per training job (not one per record)."""

from __future__ import annotations

import os

from amtlocal.testing import make_request, run_job, summaries, use_script

SCRIPT = """\
import argparse
p = argparse.ArgumentParser(); p.add_argument('-x', type=int); a = p.parse_args()
print('f1: %d' % a.x)
"""


def test_every_record_is_fsynced_before_a_training_job_starts(workdir, store, monkeypatch):
    from amtlocal.backends.local._process import TrainingJobProcess
    from amtlocal.store._journal import DamageTolerantJournal

    events: list[tuple[str, bool]] = []
    fsyncs: list[int] = []
    real_fsync, real_append, real_spawn = os.fsync, DamageTolerantJournal.append_logs, TrainingJobProcess._spawn

    def fsync(fd):
        fsyncs.append(fd)
        return real_fsync(fd)

    def append_logs(self, logs):
        before = len(fsyncs)
        real_append(self, logs)
        events.append(("append", len(fsyncs) > before))

    def spawn(self, *args, **kwargs):
        events.append(("spawn", True))
        return real_spawn(self, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(DamageTolerantJournal, "append_logs", append_logs)
    monkeypatch.setattr(TrainingJobProcess, "_spawn", spawn)
    use_script(workdir, SCRIPT)
    jobs = 6  # an 11-append-per-job main (b082779..3d225e28) fsynced 25 times here; now 6 + the tuning job's own
    run_job(make_request("synced", max_jobs=jobs, integer=[("x", 1, 9, "Linear")]), workdir, store)

    done = summaries("synced", store)
    assert [s["TrainingJobStatus"] for s in done] == ["Completed"] * jobs
    spawns = [i for i, (kind, _) in enumerate(events) if kind == "spawn"]
    assert len(spawns) == jobs
    for i in spawns:
        appends = [synced for kind, synced in events[:i] if kind == "append"]
        assert appends and appends[-1], "an append not fsynced before a training job's process started"
    assert events[-1] == ("append", True)  # the tuning job's end makes every record before it durable
    appended = sum(1 for kind, _ in events if kind == "append")
    # Each training job writes about a dozen records (ask, parameters, launch, pid, result, tell); one fsync each
    # cost ~12 per job before. Now: the launch record's, plus a few for the tuning job's own records.
    assert appended >= 8 * jobs
    assert len(fsyncs) <= jobs + 8, (len(fsyncs), appended)
