"""The embedded store: Optuna's journal file in the home folder, its flock lock, and the storage-URL alternative."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from amtlocal.testing import GOOD_SCRIPT, make_request, run_job, summaries, use_script


def test_default_store_is_a_journal_per_job_in_the_home(workdir, tmp_path):
    from amtlocal.backends.local import LocalStore

    use_script(workdir, GOOD_SCRIPT)
    store = LocalStore(tmp_path / "home")
    run_job(make_request("journal", max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, store)
    journal = store.journal_of("journal")
    assert store.storage_url is None and store.journal_path is None and store.journal_paths() == [journal]
    assert journal is not None and journal.parent == tmp_path / "home" / "store" / "journals"
    lines = journal.read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    assert '"study_name":"journal"' in lines[0] and not (tmp_path / "home" / "store.journal").exists()
    # Another process (a new store object reading the file) sees the same records.
    again = LocalStore(tmp_path / "home")
    assert sorted(s["TrainingJobName"] for s in summaries("journal", again)) == sorted(
        s["TrainingJobName"] for s in summaries("journal", store)
    )
    assert not (tmp_path / "home" / "store.db").exists()


def test_storage_url_selects_an_rdb_storage(workdir, tmp_path, monkeypatch):
    from amtlocal.backends.local import LocalStore

    use_script(workdir, GOOD_SCRIPT)
    url = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("AMTLOCAL_STORAGE", url)
    store = LocalStore(tmp_path / "home")
    desc = run_job(make_request("rdb", max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, store)
    assert desc["TrainingJobStatusCounters"]["Completed"] == 2
    assert store.storage_url == url and store.journal_path is None
    assert (tmp_path / "other.db").stat().st_size > 0 and not (tmp_path / "home" / "store.journal").exists()


def test_a_killed_holder_never_leaves_the_journal_locked(tmp_path):
    """flock is released by the kernel when its holder dies (Optuna's default symlink lock would stay for its grace
    period): a writer killed inside the lock does not block the next one."""
    from amtlocal.store import FlockJournalLock

    path = str(tmp_path / "store.journal.lock")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nsys.path[:0] = [sys.argv[1]]\n"
            "from amtlocal.store import FlockJournalLock\n"
            "FlockJournalLock(sys.argv[2]).acquire(); print('held', flush=True); time.sleep(60)",
            os.getcwd(),
            path,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    lock = FlockJournalLock(path)
    try:
        import fcntl

        fd = os.open(path, os.O_RDWR)
        try:  # held now: a non-blocking attempt fails
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            raise AssertionError("the lock was not held")
        except BlockingIOError:
            pass
        finally:
            os.close(fd)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        start = time.monotonic()
        assert lock.acquire() is True
        assert time.monotonic() - start < 2
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_journal_cut_mid_write_is_repaired_on_open(workdir, tmp_path):
    """A last line without its newline (a writer killed during a multi-page write) is dropped when the store opens,
    so later changes append cleanly and every complete record stays readable."""
    from amtlocal.backends.local import LocalStore

    use_script(workdir, GOOD_SCRIPT)
    home = tmp_path / "home"
    run_job(make_request("cut", max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, LocalStore(home))
    journal = LocalStore(home).journal_of("cut")
    complete = journal.read_bytes()
    with open(journal, "ab") as f:
        f.write(b'{"op_code":5,"worker_id":"x","trial_id":1,"user_attr":{"summary":{"TrainingJobName":"cut-00')
    store = LocalStore(home)
    _ = store.load("cut")  # opening the job's journal repairs it
    assert journal.read_bytes() == complete
    run_job(make_request("cut2", max_jobs=1, integer=[("x", 1, 9, "Linear")]), workdir, store)
    again = LocalStore(home)
    assert len(summaries("cut", again)) == 2 and len(summaries("cut2", again)) == 1


def test_a_creation_cut_short_takes_no_name(workdir, tmp_path):
    """A tuner killed between creating the study and recording its request (the request is written last) leaves a
    study that is no tuning job: list, describe and stop do not see it, and the name can be used again."""
    import optuna

    from amtlocal.backends.local import LocalBackend, LocalStore
    from amtlocal.exceptions import TuningJobNotFound

    use_script(workdir, GOOD_SCRIPT)
    store = LocalStore(tmp_path / "home")
    run_job(make_request("whole", max_jobs=1, integer=[("x", 1, 9, "Linear")]), workdir, store)
    cut = optuna.create_study(study_name="cut", storage=store.storage)
    cut.set_user_attr("status", "InProgress")  # some attributes, not the request
    backend = LocalBackend(store)
    assert [j["HyperParameterTuningJobName"] for j in backend.list_tuning_jobs()] == ["whole"]
    for call in (backend.describe, backend.stop):
        try:
            call("cut")
            raise AssertionError(f"{call.__name__} found the half-made job")
        except TuningJobNotFound:
            pass
    desc = run_job(make_request("cut", max_jobs=2, integer=[("x", 1, 9, "Linear")]), workdir, store)
    assert desc["HyperParameterTuningJobStatus"] == "Completed" and desc["TrainingJobStatusCounters"]["Completed"] == 2
    assert sorted(backend.store.names()) == ["cut", "whole"]


def test_ctrl_c_while_the_job_is_being_created_leaves_it_whole_and_stopped(workdir, tmp_path, monkeypatch):
    """A Ctrl-C that lands during set-up (here: right after the study is created) is taken once set-up is done:
    the job is complete, Stopped and resumable, never half-made or InProgress without a tuner."""
    from amtlocal.backends.local import LocalStore, LocalTuningJob, describe
    from amtlocal.spec import TuningSpec
    from amtlocal.store import LocalStore as Store

    use_script(workdir, GOOD_SCRIPT)
    original = Store.create

    def create_then_ctrl_c(self, *args, **kwargs):
        study = original(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return study

    monkeypatch.setattr(Store, "create", create_then_ctrl_c)
    store = LocalStore(tmp_path / "home")
    req = make_request("early", max_jobs=2, integer=[("x", 1, 9, "Linear")])
    try:
        LocalTuningJob(TuningSpec(req, workdir), store).run()
        raise AssertionError("the Ctrl-C was lost")
    except KeyboardInterrupt:
        pass
    desc = describe(store.load("early"))
    assert desc["HyperParameterTuningJobStatus"] == "Stopped" and sum(desc["TrainingJobStatusCounters"].values()) == 0
    monkeypatch.setattr(Store, "create", original)
    assert run_job(req, workdir, store)["TrainingJobStatusCounters"]["Completed"] == 2  # resumes


def test_list_tidies_folders_of_tuners_killed_before_creating_their_job(workdir, tmp_path):
    from amtlocal.backends.local import LocalBackend, LocalStore

    use_script(workdir, GOOD_SCRIPT)
    store = LocalStore(tmp_path / "home")
    run_job(make_request("real", max_jobs=1, integer=[("x", 1, 9, "Linear")]), workdir, store)
    jobs = tmp_path / "home" / "jobs"
    (jobs / "ghost").mkdir()
    (jobs / "ghost" / "tuner.lock").write_text("12345")  # a killed tuner's lock: free
    (jobs / "busy").mkdir()
    (jobs / "other").mkdir()
    (jobs / "other" / "notes.txt").write_text("mine")  # not ours to remove
    holder = store.lock("busy").acquire()  # a tuner that is creating its job right now
    try:
        assert [j["HyperParameterTuningJobName"] for j in LocalBackend(store).list_tuning_jobs()] == ["real"]
        assert sorted(p.name for p in jobs.iterdir()) == ["busy", "other", "real"]
        assert (jobs / "busy" / "tuner.lock").exists() and (jobs / "real" / "tuner.lock").exists()
    finally:
        holder.release()


def test_probing_the_job_lock_never_makes_a_tuner_fail_to_take_it(tmp_path):
    """held_elsewhere() takes the lock for an instant; a tuner taking it at that instant must not be told another
    tuner runs the job (acquire retries a lock held only briefly)."""
    import threading

    from amtlocal.store import JobLock

    path = tmp_path / "jobs" / "j" / "tuner.lock"
    done = threading.Event()

    def probe():
        while not done.is_set():
            JobLock(path).held_elsewhere()

    prober = threading.Thread(target=probe)
    path.parent.mkdir(parents=True)
    prober.start()
    try:
        for _ in range(300):
            JobLock(path).acquire().release()  # raises TuningJobBusy if a probe made it fail
    finally:
        done.set()
        prober.join()


def test_a_stop_never_overwrites_the_status_a_tuner_writes(workdir, tmp_path, monkeypatch):
    """While a tuner holds the job, `stop` only raises the request count: describe shows Stopping, and the status
    the tuner writes last (here Completed, as when it finishes at the same moment) is what stays."""
    from amtlocal.backends.local import LocalBackend, LocalStore, describe

    use_script(workdir, GOOD_SCRIPT)
    store = LocalStore(tmp_path / "home")
    run_job(make_request("race", max_jobs=1, integer=[("x", 1, 9, "Linear")]), workdir, store)
    study = store.load("race")
    study.set_user_attr("status", "InProgress")  # as a running tuner has it
    monkeypatch.setattr(LocalBackend, "STOP_TAKEN_SECONDS", 0.3)  # this "tuner" never takes the request
    tuner = store.lock("race").acquire()
    try:
        LocalBackend(store).stop("race")
        assert study.user_attrs["status"] == "InProgress"  # not written by the stop
        assert describe(store.load("race"))["HyperParameterTuningJobStatus"] == "Stopping"
        study.set_user_attr("status", "Completed")  # the tuner's last word
    finally:
        tuner.release()
    assert describe(store.load("race"))["HyperParameterTuningJobStatus"] == "Completed"


def _background(workdir, tmp_path, name, monkeypatch, **kw):
    """A LocalBackend on a fresh home and a 3-job request over GOOD_SCRIPT."""
    from amtlocal.backends.local import LocalBackend, LocalStore

    use_script(workdir, GOOD_SCRIPT)
    monkeypatch.setenv("AMTLOCAL_HOME", str(tmp_path / "home"))
    return LocalBackend(LocalStore(tmp_path / "home")), make_request(
        name, max_jobs=3, integer=[("x", 1, 9, "Linear")], **kw
    )


def _final(backend, name, timeout=60):
    deadline = time.time() + timeout
    while (desc := backend.describe(name))["HyperParameterTuningJobStatus"] not in ("Completed", "Failed", "Stopped"):
        assert time.time() < deadline, desc
        time.sleep(0.1)
    return desc


def test_a_stop_while_a_background_start_sets_up_ends_that_run(workdir, tmp_path, monkeypatch):
    """fit(wait=False) holds the job while it sets up; a stop then must end the worker's run, not be swallowed."""
    import threading

    from amtlocal.backends import local as _tuning

    backend, req = _background(workdir, tmp_path, "setup", monkeypatch)
    original = _tuning.LocalTuningJob.prepare
    stops = []

    def prepare_with_a_stop(self):
        study = original(self)
        if not stops:  # the caller's prepare: a stop arrives while it holds the job
            stops.append(threading.Thread(target=backend.stop, args=("setup",)))
            stops[0].start()
            while not any(k.startswith("stop_request.") for k in study.user_attrs):
                time.sleep(0.01)
        return study

    monkeypatch.setattr(_tuning.LocalTuningJob, "prepare", prepare_with_a_stop)
    backend.create_tuning_job(req, workdir, wait=False)
    stops[0].join(30)
    desc = _final(backend, "setup")
    assert desc["HyperParameterTuningJobStatus"] == "Stopped" and sum(desc["TrainingJobStatusCounters"].values()) == 0


def test_a_stop_while_the_background_worker_starts_keeps_a_stopped_job_stopped(workdir, tmp_path, monkeypatch):
    """The caller hands the job's lock to its worker (no moment when it is free); a stop while the worker is still
    starting is a request above the caller's count, so the worker ends its run at once."""
    import threading

    from amtlocal.backends.local import LocalBackend

    backend, req = _background(workdir, tmp_path, "idle", monkeypatch)
    backend.store.create(req, workdir).set_user_attr("status", "Stopped")  # stopped before any training job
    original = LocalBackend._start_worker
    stops = []

    def stop_meanwhile(self, name, stops_seen, lock):
        worker = original(self, name, stops_seen, lock)
        stops.append(threading.Thread(target=self.stop, args=(name,)))
        stops[0].start()
        return worker

    monkeypatch.setattr(LocalBackend, "_start_worker", stop_meanwhile)
    backend.create_tuning_job(req, workdir, wait=False)
    stops[0].join(30)
    desc = _final(backend, "idle")
    assert desc["HyperParameterTuningJobStatus"] == "Stopped" and sum(desc["TrainingJobStatusCounters"].values()) == 0
    assert "Traceback" not in (tmp_path / "home" / "jobs" / "idle" / "tuner.log").read_text()


def test_a_stop_while_a_holder_that_will_not_run_the_job_has_it(workdir, tmp_path, monkeypatch):
    """A `tune` that holds the job for a moment and then gives up (refused, or nothing to do) never takes the stop
    request: once it lets go, the stop itself ends the job; it is never left Stopping with no tuner."""
    import threading

    backend, req = _background(workdir, tmp_path, "held", monkeypatch)
    backend.store.create(req, workdir)  # InProgress, as a dead tuner left it
    holder = backend.store.lock("held").acquire()
    threading.Timer(1.0, holder.release).start()
    backend.stop("held")
    assert backend.describe("held")["HyperParameterTuningJobStatus"] == "Stopped"


def test_ctrl_c_while_a_background_start_sets_up_leaves_the_job_stopped_and_no_worker(workdir, tmp_path, monkeypatch):
    from amtlocal.backends import local as _tuning

    backend, req = _background(workdir, tmp_path, "bgint", monkeypatch)
    original = _tuning.LocalTuningJob.prepare

    def prepare_then_ctrl_c(self):
        study = original(self)
        os.kill(os.getpid(), signal.SIGINT)
        return study

    monkeypatch.setattr(_tuning.LocalTuningJob, "prepare", prepare_then_ctrl_c)
    try:
        backend.create_tuning_job(req, workdir, wait=False)
        raise AssertionError("the Ctrl-C was lost")
    except KeyboardInterrupt:
        pass
    assert backend._workers == {}  # no worker was started
    desc = backend.describe("bgint")
    assert desc["HyperParameterTuningJobStatus"] == "Stopped" and sum(desc["TrainingJobStatusCounters"].values()) == 0
    assert not backend.store.lock("bgint").held_elsewhere()


def test_the_background_worker_holds_the_handed_over_lock_and_a_foreign_ctrl_c_never_stops_its_job(
    workdir, tmp_path, monkeypatch
):
    from amtlocal.backends import local as _tuning
    from amtlocal.backends.local import LocalBackend

    backend, req = _background(workdir, tmp_path, "handed", monkeypatch)
    use_script(workdir, "import time\ntime.sleep(30)\nprint('f1: 1')\n")
    backend.create_tuning_job(req, workdir, wait=False)
    worker = backend._workers["handed"]
    lock = backend.store.lock("handed")
    deadline = time.time() + 30
    while lock.holder() != worker.pid:  # the worker wrote its pid into the lock it adopted
        assert time.time() < deadline and worker.poll() is None, (
            tmp_path / "home" / "jobs" / "handed" / "tuner.log"
        ).read_text()
        time.sleep(0.05)
    assert lock.held_elsewhere()

    def interrupted_early(self, stops_seen):
        raise KeyboardInterrupt  # a Ctrl-C in another `tune` of the same job, before it took the job

    monkeypatch.setattr(_tuning.LocalTuningJob, "_run", interrupted_early)
    try:
        LocalBackend(backend.store).create_tuning_job(req, workdir, wait=True)
        raise AssertionError("the Ctrl-C was lost")
    except KeyboardInterrupt:
        pass
    assert backend.describe("handed")["HyperParameterTuningJobStatus"] == "InProgress"  # not stopped by it
    backend.stop("handed")
    assert _final(backend, "handed")["HyperParameterTuningJobStatus"] == "Stopped"
    worker.wait(30)
    assert not lock.held_elsewhere()


def test_a_background_resume_of_a_stopped_job_is_in_progress_at_once(workdir, tmp_path, monkeypatch):
    """fit(wait=False) on a Stopped job resumes it: a describe or wait() right after the call sees it running (it
    used to see the old Stopped for about a second, and wait() returned while training jobs ran)."""
    backend, req = _background(workdir, tmp_path, "again", monkeypatch)
    backend.store.create(req, workdir).set_user_attr("status", "Stopped")
    backend.create_tuning_job(req, workdir, wait=False)
    assert backend.describe("again")["HyperParameterTuningJobStatus"] == "InProgress"
    desc = backend.wait("again")
    assert desc["HyperParameterTuningJobStatus"] == "Completed" and desc["TrainingJobStatusCounters"]["Completed"] == 3
