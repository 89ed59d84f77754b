"""The RDB side of the store without a PostgreSQL server (SQLite): a lost worker's training job reads Stopped
"worker lost"; a call that meets a dropped connection is retried, then ends in StorageUnavailable naming the
database. (The same with real PostgreSQL workers: tests/test_faults_shared.py.)"""

from __future__ import annotations

import pytest

from amtlocal.exceptions import StorageUnavailable


def _own_trial(study, status: str = "InProgress"):
    trial = study.ask()
    summary = {"TrainingJobName": "j-001", "TrainingJobStatus": status, "CreationTime": 1.0, "TunedHyperParameters": {}}
    trial.set_user_attr("summary", summary)
    trial.set_user_attr("role", "own")
    trial.set_user_attr("process", {"worker": "box:4242", "pid": 7, "pid_start": 1})
    return trial


def test_a_training_job_whose_trial_was_failed_under_it_reads_stopped_worker_lost():
    import optuna

    from amtlocal.store import read_trial, summaries_of

    study = optuna.create_study()
    trial = _own_trial(study)
    assert read_trial(study.get_trials()[0]).status == "InProgress"
    study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)  # what fail_stale_trials does
    rec = read_trial(study.get_trials()[0])
    assert rec.status == "Stopped" and rec.interrupted
    reason = rec.summary["FailureReason"]
    assert reason.startswith("Interrupted: worker lost: box:4242 stopped sending heartbeats"), reason
    assert rec.summary["ObjectiveStatus"] == "Failed" and rec.summary["TrainingEndTime"] > 1.0
    assert summaries_of(study)[0]["TrainingJobStatus"] == "Stopped"


def test_a_training_job_recorded_before_its_tell_is_never_called_lost():
    import optuna

    from amtlocal.store import read_trial

    study = optuna.create_study()
    trial = _own_trial(study, status="Completed")
    study.tell(trial, 0.5)
    rec = read_trial(study.get_trials()[0])
    assert rec.status == "Completed" and not rec.interrupted and "FailureReason" not in rec.summary


def _dropped():
    """The error Optuna raises when PostgreSQL restarts under a call (its misleading wrapper around the driver's)."""
    import optuna
    from sqlalchemy import exc

    try:
        try:
            raise exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
        except exc.OperationalError as e:
            raise optuna.exceptions.StorageInternalError("invalid data ... exceeding max length") from e
    except optuna.exceptions.StorageInternalError as e:
        return e


def test_a_dropped_connection_is_retried_then_named(tmp_path, monkeypatch):
    from amtlocal.store._rdb import RetryingRDBStorage, is_disconnect

    assert is_disconnect(_dropped()) and not is_disconnect(ValueError("refused"))
    url = f"sqlite:///{tmp_path}/s.db"
    storage = RetryingRDBStorage(url, retry_seconds=0.5)
    calls: list[str] = []

    def flaky():
        calls.append("x")
        if len(calls) <= 2:
            raise _dropped()
        return "answered"

    assert storage.call_with_retry(flaky) == "answered" and len(calls) == 3  # ridden out

    def down():
        calls.append("x")
        raise _dropped()

    with pytest.raises(StorageUnavailable) as err:
        storage.call_with_retry(down)
    assert str(err.value).startswith(f"the database {url} did not answer for 0.5 s (")
    assert "server closed the connection unexpectedly)" in str(err.value)
    assert "resumable" in str(err.value)
    calls.clear()
    with pytest.raises(StorageUnavailable):  # given up: the next call tries once, so a shutdown is quick
        storage.call_with_retry(down)
    assert len(calls) == 1
    assert storage.call_with_retry(lambda: 1) == 1  # answered again: retries are back
    with pytest.raises(ValueError):  # a refused statement is not retried
        storage.call_with_retry(lambda: calls.append("y") or int("x"))
    assert calls.count("y") == 1

    # The storage's database calls go through it (Optuna's calls made through a study too).
    wrapped: list[str] = []
    real = RetryingRDBStorage.call_with_retry
    monkeypatch.setattr(
        RetryingRDBStorage, "call_with_retry", lambda self, call: wrapped.append("c") or real(self, call)
    )
    assert storage.get_all_studies() == [] and wrapped == ["c"]


def test_a_bad_heartbeat_setting_names_the_variable(monkeypatch):
    from amtlocal.store._rdb import liveness_settings

    monkeypatch.setenv("AMTLOCAL_HEARTBEAT_SECONDS", "2")
    monkeypatch.delenv("AMTLOCAL_HEARTBEAT_GRACE_SECONDS", raising=False)
    assert liveness_settings() == (2, 6)
    monkeypatch.setenv("AMTLOCAL_HEARTBEAT_GRACE_SECONDS", "0.5")
    with pytest.raises(ValueError, match="AMTLOCAL_HEARTBEAT_GRACE_SECONDS: '0.5' is not a positive whole number"):
        liveness_settings()
