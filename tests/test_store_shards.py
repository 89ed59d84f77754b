"""The sharded store (issue 18): a journal per study and an index, so a command's cost grows with what it reads.

A home of an earlier version (one ``store.journal``) is migrated on its first writable open (nothing lost, the old
journal kept, a migration cut short started over, a read-only home read as it is); concurrent writers share the
index; damage in one job's journal leaves every other job whole; an index that disagrees with the journals is
rebuilt from them; ``describe`` opens one journal whatever the size of the home.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amtlocal.testing import GOOD_SCRIPT, make_request, run_job, summaries, use_script


def _store(home: Path, **kwargs):
    from amtlocal.store import LocalStore

    return LocalStore(home, **kwargs)


def _state(store) -> dict:
    """Every tuning job's Describe and training job summaries, the listing, and the standalone training jobs."""
    from amtlocal.backends.local import LocalBackend, describe

    backend = LocalBackend(store)
    return {
        "jobs": {
            name: json.dumps([describe(store.load(name)), summaries(name, store)], default=str, sort_keys=True)
            for name in sorted(store.names())
        },
        "list": json.dumps(backend.list_tuning_jobs(), default=str, sort_keys=True),
        "standalone": {n: store.find_training_job(n).summary for n in sorted(store.training_job_names())},
        "children": sorted(r.name for r in store.all_training_jobs()),
    }


def _old_home(home: Path, workdir: Path) -> Path:
    """A home as versions before issue 18 made it: every record in one journal, ``<home>/store.journal``."""
    from amtlocal.store._storage import open_journal

    use_script(workdir, GOOD_SCRIPT)
    home.mkdir(parents=True)
    store = _store(home)
    store._storage = open_journal(str(home / "store.journal"))  # the single-journal storage of earlier versions
    run_job(make_request("first", max_jobs=3, integer=[("x", 1, 9, "Linear")]), workdir, store)
    run_job(make_request("second", max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, store)
    store.create_training_job({"TrainingJobName": "solo", "TrainingJobStatus": "Completed", "CreationTime": 1.0})
    assert store.sharded is None and not (home / "store").exists()
    return home


def test_an_old_home_is_migrated_on_first_open_with_nothing_lost(workdir, tmp_path):
    home = _old_home(tmp_path / "home", workdir)
    old_bytes = (home / "store.journal").read_bytes()
    before = _state(_store(home, read_only=True))  # read-only: read as it is, not migrated
    assert not (home / "store").exists() and (home / "store.journal").exists()
    assert set(before["jobs"]) == {"first", "second"} and list(before["standalone"]) == ["solo"]

    store = _store(home)
    assert store.sharded is not None  # the first writable open migrated it
    assert _state(store) == before
    assert (home / "store.journal.pre-sharding").read_bytes() == old_bytes  # the backup, byte for byte
    assert not (home / "store.journal").exists() and not (home / "store.migrating").exists()
    journals = sorted(p.name for p in (home / "store" / "journals").glob("*.journal"))
    assert len(journals) == 3 == len(store.journal_paths())  # a journal per study
    first = store.journal_of("first").read_text()
    assert '"study_name":"first"' in first and "second-" not in first and "solo" not in first
    # Trial numbers and Optuna's view are kept; a resumed or new job writes on.
    trials = store.trials(store.load("first"))
    assert [t.trial_number for t in trials] == [0, 1, 2] and all(t.params for t in trials)
    run_job(make_request("third", max_jobs=1, integer=[("x", 1, 9, "Linear")]), workdir, store)
    assert sorted(_store(home).names()) == ["first", "second", "third"]


def test_a_migration_cut_short_is_started_over(workdir, tmp_path):
    home = _old_home(tmp_path / "home", workdir)
    before = _state(_store(home, read_only=True))
    # A process killed while building the new store left a partial copy (and one killed after the switch but before
    # the backup's rename leaves both: covered by finish()).
    partial = home / "store.migrating" / "journals"
    partial.mkdir(parents=True)
    (partial / "1.journal").write_bytes(b'{"op_code":0,"worker_id":"x","study_name":"fir')
    assert _state(_store(home)) == before
    assert not (home / "store.migrating").exists() and (home / "store.journal.pre-sharding").exists()


def test_an_old_home_with_a_running_job_is_read_as_it_is_until_none_runs(workdir, tmp_path):
    from amtlocal.store import JobLock

    home = _old_home(tmp_path / "home", workdir)
    before = _state(_store(home, read_only=True))
    lock = JobLock(home / "jobs" / "first" / "tuner.lock")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(lock.path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = _store(home)
        assert store.sharded is None and _state(store) == before  # an earlier version's tuner appends there
    finally:
        holder.kill()
        holder.wait(10)
    assert _store(home).sharded is not None and _state(_store(home)) == before


def test_damage_in_one_jobs_journal_leaves_the_others_whole(workdir, tmp_path, caplog):
    import logging

    use_script(workdir, GOOD_SCRIPT)
    home = tmp_path / "home"
    for name in ("first", "second"):
        run_job(make_request(name, max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, _store(home))
    before = _state(_store(home))
    journal = _store(home).journal_of("first")
    journal.write_bytes(b"\xff\xfe not a record\n" * 3 + journal.read_bytes()[40:])  # its creation is gone
    with caplog.at_level(logging.WARNING, logger="amtlocal"):
        after = _state(_store(home))
    assert after["jobs"] == {"second": before["jobs"]["second"]}  # first is unreadable, second untouched
    assert f"{journal} line 1 is damaged" in caplog.text and "second" not in caplog.text
    run_job(make_request("third", max_jobs=1, integer=[("x", 1, 9, "Linear")]), workdir, _store(home))
    assert sorted(_store(home).names()) == ["second", "third"]


def test_an_index_that_disagrees_with_the_journals_is_rebuilt_from_them(workdir, tmp_path):
    use_script(workdir, GOOD_SCRIPT)
    home = tmp_path / "home"
    store = _store(home)
    run_job(make_request("first", max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, store)
    run_job(make_request("second", max_jobs=1, integer=[("x", 1, 9, "Linear")]), workdir, store)
    before = _state(_store(home))
    index = home / "store" / "index.sqlite"
    # A stale digest: the journal changed behind the index's back (an earlier version, a copied file).
    second = _store(home).journal_of("second")
    with open(second, "ab") as f:
        f.write(json.dumps({"op_code": 2, "worker_id": "w", "study_id": 0, "user_attr": {"status": "Failed"}}).encode())
        f.write(b"\n")
    from amtlocal.backends.local import LocalBackend

    listed = {j["HyperParameterTuningJobName"]: j for j in LocalBackend(_store(home)).list_tuning_jobs()}
    assert listed["second"]["HyperParameterTuningJobStatus"] == "Failed"
    # A lost index: every journal is adopted again, with the same ids.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    rebuilt = _state(_store(home))
    assert rebuilt["jobs"]["first"] == before["jobs"]["first"] and set(rebuilt["jobs"]) == {"first", "second"}
    # A damaged index file: moved aside (kept), rebuilt.
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(b"this is not a database" * 100)
    assert _state(_store(home))["jobs"]["first"] == before["jobs"]["first"]
    assert list(index.parent.glob("index.sqlite.damaged-*"))


_CREATE = """
import sys
from pathlib import Path
from amtlocal.store import LocalStore
from amtlocal.testing import make_request
store = LocalStore(sys.argv[1])
for i in range(int(sys.argv[3])):
    study = store.create(make_request(f"{sys.argv[2]}-{i}", max_jobs=1, integer=[("x", 1, 9, "Linear")]), Path("."))
    store.update_tuning_job(study, status="Completed")
"""


def test_concurrent_writers_share_the_index(tmp_path):
    home = tmp_path / "home"
    procs = [
        subprocess.Popen([sys.executable, "-c", _CREATE, str(home), f"w{w}", "8"], stderr=subprocess.PIPE, text=True)
        for w in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = _store(home)
    names = sorted(store.names())
    assert names == sorted(f"w{w}-{i}" for w in range(4) for i in range(8))
    assert all(listing.record.status == "Completed" for listing in store.tuning_job_listings())
    journals = store.journal_paths()
    assert len(journals) == 32
    for name in names:  # each journal holds its own study only
        text = store.journal_of(name).read_text()
        assert text.count('"op_code":0') == 1 and f'"study_name":"{name}"' in text


_OPENED = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" and isinstance(args[0], str) else None)
from amtlocal.cli import main  # the command's own code (``python -m amtlocal`` would end the process in it)
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write("\\n".join(sorted({p for p in opened if p.endswith(".journal")})) + "\\n")
sys.stderr.write("optuna imported\\n" if "optuna" in sys.modules else "")
"""


@pytest.mark.parametrize("command", ["describe", "jobs", "describe-training-job", "list"])
def test_a_command_reads_only_its_jobs_journal_in_a_home_of_many(tmp_path, command):
    """A small bench-like home (20 tuning jobs of 5 training jobs): describe, jobs and describe-training-job open one
    journal (the job's), list opens none (the index's digests are up to date)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import bench_store_scale as bench

    home = tmp_path / "home"
    bench.PER_JOB = 5
    try:
        bench.fill(home, 100, tmp_path)
    finally:
        bench.PER_JOB = 50
    store = _store(home)
    assert len(store.names()) == 20  # (indexes every digest once)
    target = store.journal_of(bench.TARGET)
    child = store.trials(store.load(bench.TARGET))[2].name
    arg = {"describe": bench.TARGET, "jobs": bench.TARGET, "describe-training-job": child, "list": None}[command]
    done = subprocess.run(
        [sys.executable, "-c", _OPENED, "--home", str(home), command, *([arg] if arg else [])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert bench.TARGET in done.stdout or command == "list"
    journals = [line for line in done.stderr.splitlines() if line.endswith(".journal")]
    assert journals == ([] if command == "list" else [str(target)]), done.stderr
    # list reads the index alone: not even Optuna is imported when every digest is up to date
    assert ("optuna imported" in done.stderr) == (command != "list"), done.stderr
    size = sum(p.stat().st_size for p in store.journal_paths())
    assert target.stat().st_size < size / 10  # what describe reads is a small part of the home


def test_an_empty_home_opens_quickly(tmp_path):
    start = time.perf_counter()
    store = _store(tmp_path / "home")
    assert store.names() == [] and store.tuning_job_listings() == []
    assert time.perf_counter() - start < 0.5


def test_trials_read_without_deepcopy_carry_global_ids_and_follow_every_change(tmp_path):
    """get_all_trials(deepcopy=False) hands out one id-carrying copy per trial object (not one per call: TPE and the
    scheduler read every trial for every training job); a trial that changed is read changed, never a stale copy."""
    import optuna

    from amtlocal.store import LocalStore

    storage = LocalStore(tmp_path / "home").storage
    study = optuna.create_study(study_name="ids", storage=storage)
    other = optuna.create_study(study_name="other", storage=storage)
    other.ask()  # trials of another study never mix in
    first, second = study.ask(), study.ask()
    read = storage.get_all_trials(study._study_id, deepcopy=False)
    assert [t._trial_id for t in read] == [first._trial_id, second._trial_id]
    assert first._trial_id // 10**8 == study._study_id != other._study_id
    again = storage.get_all_trials(study._study_id, deepcopy=False)
    assert again[0] is read[0] and again[1] is read[1]  # unchanged: the same copies
    study.tell(first, 0.5)
    storage.set_trial_user_attr(second._trial_id, "note", "x")
    after = storage.get_all_trials(study._study_id, deepcopy=False)
    assert after[0].state == optuna.trial.TrialState.COMPLETE and after[0].value == 0.5
    assert after[1].user_attrs == {"note": "x"} and after[1].state == optuna.trial.TrialState.RUNNING
    assert [t._trial_id for t in after] == [first._trial_id, second._trial_id]
    assert read[0].state == optuna.trial.TrialState.RUNNING  # what was handed out before is not changed under it
    deep = storage.get_all_trials(study._study_id, deepcopy=True)
    assert [t._trial_id for t in deep] == [first._trial_id, second._trial_id] and deep[0] is not after[0]


_QUERIES = [
    {},
    {"MaxResults": 100},
    {"SortBy": "Name", "SortOrder": "Descending", "MaxResults": 7, "NextToken": "14"},
    {"SortBy": "Status", "MaxResults": 100},
    {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 100},
    {"NameContains": "BENCH-0000", "MaxResults": 100},
    {"NameContains": "solo"},
    {"StatusEquals": "InProgress", "MaxResults": 100},
    {"StatusEquals": "Completed", "SortBy": "Name", "NextToken": "90"},
    {"CreationTimeAfter": 1500.0, "MaxResults": 100},
    {"CreationTimeBefore": 1500.0, "LastModifiedTimeAfter": 1000.5, "MaxResults": 100},
    {"LastModifiedTimeBefore": 1100.5, "SortBy": "Name", "MaxResults": 100},
]


def _listing_home(tmp_path: Path):
    """20 finished tuning jobs of 5 (bench-like), a standalone training job, and a running tuning job with one
    training job so far (its times set apart so the time filters cut through the home)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import bench_store_scale as bench

    home = tmp_path / "home"
    bench.PER_JOB = 5
    try:
        bench.fill(home, 100, tmp_path)
        store = _store(home)
        store.create_training_job({"TrainingJobName": "solo", "TrainingJobStatus": "InProgress", "CreationTime": 1e3})
        store.update_training_job(
            "solo",
            TrainingJobStatus="Failed",
            SecondaryStatus="Failed",
            TrainingEndTime=1001.0,
            LastModifiedTime=1001.0,
        )
        running = store.create(bench._request("live", tmp_path), Path.cwd())
    finally:
        bench.PER_JOB = 50
    _launch(store, running, 1)
    return home, running, bench


def _launch(store, study, i: int) -> str:
    """Start training job ``i`` of running tuning job ``study`` (InProgress, created at 2000 + i)."""
    import optuna

    trial = study.ask({"x": optuna.distributions.FloatDistribution(0.0, 1.0)})
    name = f"live-{i:03d}-abcd"
    store.record_launch(trial, {"TrainingJobName": name, "CreationTime": 2000.0 + i, "TrainingJobStatus": "InProgress"})
    return name


def _listed_before(home: Path, query: dict, monkeypatch) -> dict:
    """ListTrainingJobs through ``amtlocal.client()`` as the code before the index rows answered it: every training
    job's record replayed from its journal, each summary cut from its DescribeTrainingJob."""
    from amtlocal.backends.local import _training_jobs as T
    from amtlocal.store import LocalStore

    store = _store(home)

    def described(rec):
        d = T.describe_child(store, rec) if rec.tuning_job_name else T.describe_standalone(rec)
        return {k: d[k] for k in T._SUMMARY_KEYS if k in d}

    with monkeypatch.context() as m:
        m.setattr(LocalStore, "listed_training_jobs", lambda self: list(self.all_training_jobs()))
        m.setattr(T, "_summary", described)
        return _listed_now(home, query, m)


def _listed_now(home: Path, query: dict, monkeypatch) -> dict:
    import amtlocal

    monkeypatch.setenv("AMTLOCAL_HOME", str(home))
    out = amtlocal.client().list_training_jobs(**query)
    return {k: v for k, v in out.items() if k != "ResponseMetadata"}


def _journals_opened(home: Path, *args: str) -> tuple[list[str], str]:
    """The journals ``amtlocal training-jobs --json ARGS`` opens (plus ``optuna`` when it imported Optuna), and its
    output."""
    done = subprocess.run(
        [sys.executable, "-c", _OPENED, "--home", str(home), "training-jobs", "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    opened = [line for line in done.stderr.splitlines() if line.endswith(".journal")]
    return opened + (["optuna"] if "optuna imported" in done.stderr else []), done.stdout


def test_list_training_jobs_reads_the_index_rows_and_replays_only_changed_journals(tmp_path, monkeypatch):
    """ListTrainingJobs gives what it gave when it replayed every journal (summaries, filters, sorting, pages), but
    reads each finished job's training jobs from the index: a changed (running) job's journal is read once, then
    none; a training job the running job starts after that is listed."""
    home, running, _ = _listing_home(tmp_path)
    for query in _QUERIES:
        assert _listed_now(home, query, monkeypatch) == _listed_before(home, query, monkeypatch), query
    assert len(_listed_now(home, {"MaxResults": 100}, monkeypatch)["TrainingJobSummaries"]) == 100
    store = _store(home)
    new = _launch(store, running, 2)  # the running job's journal changes: only it is read again
    live = store.journal_of("live")
    opened, out = _journals_opened(home, "--name-contains", "live")
    assert opened == [str(live), "optuna"]
    assert [r["TrainingJobName"] for r in json.loads(out)["TrainingJobSummaries"]] == ["live-001-abcd", new]
    opened, out = _journals_opened(home)
    assert opened == []  # every study's rows are current: no journal, no Optuna
    assert len(json.loads(out)["TrainingJobSummaries"]) == 103  # 100 finished, the standalone one, 2 running
    for query in _QUERIES:
        assert _listed_now(home, query, monkeypatch) == _listed_before(home, query, monkeypatch), query


def test_list_training_jobs_fills_an_index_of_the_previous_version_on_demand(tmp_path, monkeypatch):
    """An index made before the rows table existed (no table) answers the same, read-only too, and is filled by
    the first writable listing, after which no journal is opened."""
    import sqlite3

    home, _, _ = _listing_home(tmp_path)
    query = {"SortBy": "Name", "MaxResults": 100}
    expected = _listed_before(home, query, monkeypatch)
    con = sqlite3.connect(home / "store" / "index.sqlite")
    con.execute("DROP TABLE training_rows")
    con.commit()
    con.close()
    from amtlocal.backends.local import _training_jobs as T

    read_only = T.list_training_jobs(_store(home, read_only=True), **query)
    con = sqlite3.connect(home / "store" / "index.sqlite")
    assert con.execute("SELECT name FROM sqlite_master WHERE name = 'training_rows'").fetchall() == []  # untouched
    con.close()
    assert T.list_training_jobs(_store(home), **query) == read_only  # (fills the rows)
    con = sqlite3.connect(home / "store" / "index.sqlite")
    assert con.execute("SELECT COUNT(*) FROM training_rows").fetchone() == (22,)  # 20 finished, solo, live
    con.close()
    assert _listed_now(home, query, monkeypatch) == expected
    opened, out = _journals_opened(home, "--sort-by", "Name", "--max-results", "100")
    assert opened == []
    names = [r["TrainingJobName"] for r in expected["TrainingJobSummaries"]]
    assert [r["TrainingJobName"] for r in json.loads(out)["TrainingJobSummaries"]] == names


def _all_studies(storage) -> list[tuple]:
    return [(s._study_id, s.study_name, s.directions, s.user_attrs, s.system_attrs) for s in storage.get_all_studies()]


def _all_studies_replayed(home: Path) -> list[tuple]:
    """get_all_studies as it was answered before the index kept the attributes: every journal replayed."""
    storage = _store(home, read_only=True).storage
    out = []
    for study_id, name, _, _ in storage.index.rows():
        js = storage._journal(study_id)
        attrs = (js.get_study_directions(0), js.get_study_user_attrs(0), js.get_study_system_attrs(0))
        out.append((study_id, name, *attrs))
    return out


def test_get_all_studies_reads_the_index_and_replays_only_changed_journals(tmp_path, monkeypatch):
    """What optuna-dashboard lists (every study, its directions and attributes) is what every journal holds, read
    from the index: no journal once the index has them, a study changed since read from its journal once; an index
    of the previous version (no table) answers the same read-only, untouched."""
    import sqlite3

    from amtlocal.store._sharded import ShardedJournalStorage

    home, running, _ = _listing_home(tmp_path)
    expected = _all_studies_replayed(home)
    assert len(expected) == 22 and expected[-1][1] == "live"  # 20 finished, the standalone job, the running job
    assert expected[-1][3]["request"]["HyperParameterTuningJobName"] == "live"
    con = sqlite3.connect(home / "store" / "index.sqlite")
    con.execute("DROP TABLE study_attrs")
    con.commit()
    con.close()
    assert _all_studies(_store(home, read_only=True).storage) == expected
    con = sqlite3.connect(home / "store" / "index.sqlite")
    assert con.execute("SELECT name FROM sqlite_master WHERE name = 'study_attrs'").fetchall() == []
    con.close()
    assert _all_studies(_store(home).storage) == expected  # a writable open: the table, then its values
    opened: list[int] = []
    real = ShardedJournalStorage._journal
    monkeypatch.setattr(ShardedJournalStorage, "_journal", lambda self, i: (opened.append(i), real(self, i))[1])
    assert _all_studies(_store(home).storage) == expected
    assert opened == []
    _store(home).storage.set_study_user_attr(running._study_id, "note", "changed")
    opened.clear()
    got = _all_studies(_store(home).storage)
    assert opened == [running._study_id]
    assert got[-1][3]["note"] == "changed" and got[:-1] == expected[:-1]
    assert got == _all_studies_replayed(home)


def test_an_index_another_process_holds_is_waited_for_not_rebuilt(tmp_path, monkeypatch, caplog):
    """Two tuners starting at once on a new home: SQLite can answer "database is locked" at once while the other
    one makes the index (switching it to WAL does not wait for the busy timeout). That was taken for damage: the
    index was moved aside and rebuilt, with a warning (tests/test_interrupt.py failed on it in CI). It is a wait."""
    import sqlite3

    from amtlocal.store import _index

    home = tmp_path / "home"
    store = _store(home)
    store.create(make_request("held"), tmp_path)
    real_connect = sqlite3.connect
    refusals = []

    class Held:  # the first two WAL switches find the database held by another process
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            if sql.startswith("PRAGMA journal_mode") and len(refusals) < 2:
                refusals.append(sql)
                raise sqlite3.OperationalError("database is locked")
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(_index.sqlite3, "connect", lambda *a, **k: Held(real_connect(*a, **k)))
    reopened = _store(home)
    assert reopened.names() == ["held"] and len(refusals) == 2
    assert not [p.name for p in (home / "store").iterdir() if "damaged" in p.name]
    assert "unreadable" not in caplog.text
