"""A damaged store describes its damage (issue 16, kind 1): a damaged journal line is skipped with one warning naming
the file and line, every other record stays readable, a write never appends after a cut tail (its bytes kept in
<journal>.damaged), a read-only home can be listed and described, and ``amtlocal doctor`` reports and repairs. Each
tuning job has its own journal (issue 18): damage in one never touches another."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amtlocal.testing import GOOD_SCRIPT, make_request, run_job, summaries, use_script


def _store(home: Path, **kwargs):
    from amtlocal.store import LocalStore

    return LocalStore(home, **kwargs)


def _state(home: Path) -> dict:
    """Every tuning job's DescribeHyperParameterTuningJob and training job summaries, as JSON text per job."""
    from amtlocal.backends.local import describe

    store = _store(home, read_only=True)
    return {
        name: json.dumps([describe(store.load(name)), summaries(name, store)], default=str, sort_keys=True)
        for name in store.names()
    }


def _journal(home: Path, name: str) -> Path:
    """Tuning job ``name``'s journal file."""
    path = _store(home, read_only=True).journal_of(name)
    assert path is not None and path.exists(), name
    return path


def _amtlocal(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "amtlocal", "--home", str(home), *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def home(workdir, tmp_path) -> Path:
    """A home with two finished tuning jobs (3 and 2 training jobs)."""
    use_script(workdir, GOOD_SCRIPT)
    home = tmp_path / "home"
    run_job(make_request("first", max_jobs=3, integer=[("x", 1, 9, "Linear")]), workdir, _store(home))
    run_job(make_request("second", max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, _store(home))
    return home


def _trial_attr_line(lines: list[bytes]) -> int:
    """The index of a training job's record (a trial user attribute) in the middle of the journal."""
    third = len(lines) // 3
    return next(i for i, line in enumerate(lines) if third < i < 2 * third and json.loads(line)["op_code"] == 8)


def test_a_flipped_byte_mid_journal_skips_that_line_only_and_names_it(home, tmp_path, caplog):
    journal = _journal(home, "first")
    lines = journal.read_bytes().splitlines(keepends=True)
    k = _trial_attr_line(lines)
    # What the store reads with that one record left out: every other record, as it is.
    without = tmp_path / "without"
    shutil.copytree(home / "store", without / "store")
    (without / "store" / journal.relative_to(home / "store")).write_bytes(b"".join(lines[:k] + lines[k + 1 :]))
    expected = _state(without)
    damaged = bytearray(lines[k])
    damaged[len(damaged) // 2] = 0xFF  # not UTF-8
    journal.write_bytes(b"".join(lines[:k]) + bytes(damaged) + b"".join(lines[k + 1 :]))

    with caplog.at_level(logging.WARNING, logger="amtlocal"):
        got = _state(home)
    assert got == expected and set(got) == {"first", "second"}
    warnings = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(warnings) == 1 and f"{journal} line {k + 1} is damaged" in warnings[0], warnings
    # The CLI reads it too (one warning line, no traceback) and says which line.
    listed = _amtlocal(home, "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert sorted(line.split()[0] for line in listed.stdout.splitlines()[1:]) == ["first", "second"]
    assert f"line {k + 1} is damaged" in listed.stderr


def test_garbage_with_a_newline_is_skipped_and_writes_go_on(home, workdir, caplog):
    journal = _journal(home, "second")
    before = _state(home)
    lines = journal.read_bytes().splitlines(keepends=True)
    k = len(lines) // 2
    journal.write_bytes(b"".join(lines[:k]) + b"\x00\x9c garbage {not json\n" + b"".join(lines[k:]))
    with caplog.at_level(logging.WARNING, logger="amtlocal"):
        assert _state(home) == before
    assert any(f"line {k + 1} is damaged" in r.getMessage() for r in caplog.records)
    # A new tuning job in that home runs and records, and everything stays readable afterwards.
    run_job(make_request("third", max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, _store(home))
    after = _state(home)
    assert {k: v for k, v in after.items() if k != "third"} == before
    assert [s["TrainingJobStatus"] for s in summaries("third", _store(home))] == ["Completed", "Completed"]


def test_a_cut_last_line_then_a_new_tune_keeps_every_record_and_the_cut_bytes(home, workdir):
    journal = _journal(home, "first")
    before = _state(home)
    cut = b'{"op_code":8,"worker_id":"x","trial_id":1,"user_attr":{"summary":{"TrainingJobName":"first-00'
    with open(journal, "ab") as f:
        f.write(cut)
    spec = workdir / "third.json"
    spec.write_text(json.dumps(make_request("third", max_jobs=2, integer=[("x", 1, 9, "Linear")])))
    tuned = _amtlocal(home, "tune", str(spec))
    assert tuned.returncode == 0, tuned.stderr
    after = _state(home)
    assert {k: v for k, v in after.items() if k != "third"} == before
    assert json.loads(after["third"])[0]["HyperParameterTuningJobStatus"] == "Completed"
    assert json.loads(after["first"]) == json.loads(before["first"])  # the cut line never completed: nothing lost
    # `list` and `tune` leave a journal they do not write to as it is; the next writer of that job moves the cut
    # bytes aside first (kept, not silently deleted).
    store = _store(home)
    store.update_tuning_job(store.load("first"))
    from amtlocal.store import check_journal, damaged_file

    assert cut in damaged_file(journal).read_bytes()
    assert check_journal(journal).healthy


def test_a_write_never_appends_after_a_cut_tail(home):
    """A tail cut while the store is open (another writer killed mid-write): the next write moves it aside first."""
    store = _store(home)
    study = store.load("first")
    journal = _journal(home, "first")
    with open(journal, "ab") as f:
        f.write(b'{"op_code":2,"worker_id":"dead-writer","stu')
    store.update_tuning_job(study, failure_reason=None)
    from amtlocal.store import check_journal

    assert check_journal(journal).healthy
    assert b'"worker_id":"dead-writer","stu' in (journal.parent / (journal.name + ".damaged")).read_bytes()


@contextlib.contextmanager
def _tmpfs(folder: Path):
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_read_only_home_can_be_listed_and_described(workdir, tmp_path):
    """Root ignores file modes, so the home is a file system mounted read-only; its journal even ends in a cut line
    (which `list` used to truncate)."""
    use_script(workdir, GOOD_SCRIPT)
    with _tmpfs(tmp_path / "ro") as mount:
        home = mount / "home"
        # Made by another process, so that no file of the home stays open here (the remount needs none open to write).
        spec = workdir / "frozen.json"
        spec.write_text(json.dumps(make_request("frozen", max_jobs=2, integer=[("x", 1, 9, "Linear")])))
        tuned = _amtlocal(home, "tune", str(spec))
        assert tuned.returncode == 0, tuned.stderr
        [journal] = (home / "store" / "journals").glob("*.journal")  # the home's one job
        with open(journal, "ab") as f:
            f.write(b'{"op_code":8,"worker_id":"x"')
        content = journal.read_bytes()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        listed = _amtlocal(home, "list")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines()[1].split()[:4] == ["frozen", "Random", "Completed", "2/2"]
        described = _amtlocal(home, "describe", "frozen")
        assert described.returncode == 0, described.stderr
        assert json.loads(described.stdout)["HyperParameterTuningJobStatus"] == "Completed"
        jobs = _amtlocal(home, "jobs", "frozen")
        assert jobs.returncode == 0 and jobs.stdout.count("Completed") == 2, jobs.stdout
        doctor = _amtlocal(home, "doctor")
        assert doctor.returncode == 1 and "the last line is cut short (28 bytes" in doctor.stdout, doctor.stdout
        assert journal.read_bytes() == content


def test_doctor_reports_and_repairs_damage_and_jobs_without_a_tuner(home):
    from amtlocal.store import check_journal

    journal = _journal(home, "first")
    lines = journal.read_bytes().splitlines(keepends=True)
    k = _trial_attr_line(lines)
    damaged = bytearray(lines[k])
    damaged[len(damaged) // 2] = 0xFE
    garbage = b"\x01\x02 binary\n"
    # A tuning job left InProgress by a tuner that is gone (the last record of a run that never ended).
    store = _store(home)
    store.update_tuning_job(store.load("second"), status="InProgress")
    journal.write_bytes(b"".join(lines[:k]) + bytes(damaged) + b"".join(lines[k + 1 :]) + garbage + b'{"op_code":2')
    n = len(lines) + 1

    report = _amtlocal(home, "doctor")
    assert report.returncode == 1, report.stdout + report.stderr
    assert f"line {k + 1} (byte " in report.stdout and f"line {n} (byte " in report.stdout
    assert "the last line is cut short (12 bytes" in report.stdout
    assert "tuning job second is InProgress but no tuner runs it" in report.stdout
    assert journal.read_bytes().endswith(b'{"op_code":2')  # reporting wrote nothing

    repaired = _amtlocal(home, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    check = check_journal(journal)
    assert check.healthy and check.records >= len(lines) - 1  # every good record, and the stop's own
    kept = (journal.parent / (journal.name + ".damaged")).read_bytes()
    assert bytes(damaged) in kept and garbage in kept and b'{"op_code":2' in kept
    assert _amtlocal(home, "doctor").stdout.strip().endswith("healthy")
    from amtlocal.backends.local import describe

    assert describe(_store(home).load("second"))["HyperParameterTuningJobStatus"] == "Stopped"
