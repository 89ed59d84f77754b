"""Standalone training jobs (CreateTrainingJob) in the store, and finding any training job by name.

A standalone training job is a study of its own, named ``training-job:<name>`` (never a tuning job's name), whose
attribute ``training_job`` holds its DescribeTrainingJob record (times as epoch seconds). A tuning job's training
job is a trial of the tuning job's study; its name ``<tuning job>-<NNN>-<hex>`` leads to that study first.
"""
from __future__ import annotations

import time
from typing import Any, Iterator

from amtlocal.exceptions import AmtValidationError, TrainingJobNotFound
from amtlocal.store import _schema as K
from amtlocal.store._records import TrainingJobRecord, read_trial


def _study_name(name: str) -> str:
    return K.STANDALONE_PREFIX + name


def _stored_name(store, name: str) -> str | None:
    """The study name of standalone training job ``name`` (case-insensitive, as AMT names are), or None."""
    want = _study_name(name).lower()
    return next((s.study_name for s in store.storage.get_all_studies() if s.study_name.lower() == want
                 and K.STANDALONE_RECORD in s.user_attrs), None)


def _record(study) -> TrainingJobRecord:
    record = dict(study.user_attrs[K.STANDALONE_RECORD])
    return TrainingJobRecord(name=record["TrainingJobName"], summary=record, final_metrics={
        m["MetricName"]: m["Value"] for m in record.get("FinalMetricDataList") or []},
        worker=record.get("_worker"), pid=record.get("_pid"), pid_start=record.get("_pid_start"))


def create(store, record: dict[str, Any]):
    import optuna

    name = record["TrainingJobName"]
    if _stored_name(store, name) is not None or _child(store, name) is not None:
        raise AmtValidationError("TrainingJobName", f"a training job named {name!r} already exists (AMT: ResourceInUse)")
    study = optuna.create_study(study_name=_study_name(name), storage=store.storage)
    study.set_user_attr(K.STANDALONE_MODIFIED, time.time())
    study.set_user_attr(K.STANDALONE_RECORD, record)  # last: it marks the creation complete
    return study


def update(store, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    import optuna

    stored = _stored_name(store, name)
    if stored is None:
        raise TrainingJobNotFound(name)
    study = optuna.load_study(study_name=stored, storage=store.storage)
    record = dict(study.user_attrs[K.STANDALONE_RECORD])
    record.update(fields)
    study.set_user_attr(K.STANDALONE_RECORD, record)
    study.set_user_attr(K.STANDALONE_MODIFIED, time.time())
    return record


def all_standalone(store) -> Iterator[TrainingJobRecord]:
    for s in store.storage.get_all_studies():
        if s.study_name.startswith(K.STANDALONE_PREFIX) and K.STANDALONE_RECORD in s.user_attrs:
            yield _record(s)


def _child(store, name: str) -> TrainingJobRecord | None:
    """A tuning job's training job of that name: its parent's study first (from the name), else every study."""
    low = name.lower()
    parts = name.rsplit("-", 2)
    names = store.names()
    guess = [n for n in names if len(parts) == 3 and n.lower() == parts[0].lower()]
    for tuning in guess + [n for n in names if n not in guess]:
        study = store.load(tuning)
        for t in study.get_trials(deepcopy=False):
            summary = t.user_attrs.get(K.TRIAL_FIELDS["summary"]) or {}
            if t.user_attrs.get(K.TRIAL_FIELDS["role"]) == K.ROLE_OWN and summary.get("TrainingJobName", "").lower() == low:
                return read_trial(t, study.study_name)
    return None


def find(store, name: str) -> TrainingJobRecord | None:
    stored = _stored_name(store, name)
    if stored is not None:
        return next(r for r in all_standalone(store) if r.name.lower() == name.lower())
    return _child(store, name)
