"""Standalone training jobs (CreateTrainingJob) in the store, and finding any training job by name.

A standalone training job is a study of its own, named ``training-job:<name>`` (never a tuning job's name), whose
attribute ``training_job`` holds its DescribeTrainingJob record (times as epoch seconds). A tuning job's training
job is a trial of the tuning job's study; its name ``<tuning job>-<NNN>-<hex>`` leads to that study first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from amtlocal.exceptions import TrainingJobExists, TrainingJobNotFound
from amtlocal.store import _schema as K
from amtlocal.store._records import TrainingJobRecord, read_trial


def _study_name(name: str) -> str:
    return K.STANDALONE_PREFIX + name


def _stored_name(store, name: str) -> str | None:
    """The study name of standalone training job ``name`` (case-insensitive, as AMT names are), or None. The sharded
    store reads the index and that job's journal only."""
    want = _study_name(name).lower()
    sharded = store.sharded
    if sharded is not None:
        hit = sharded.index.by_name(want, exact=False)
        if hit is None or K.STANDALONE_RECORD not in sharded.user_attrs(hit[0]):
            return None
        return hit[1]
    return next(
        (
            s.study_name
            for s in store.storage.get_all_studies()
            if s.study_name.lower() == want and K.STANDALONE_RECORD in s.user_attrs
        ),
        None,
    )


def _record(study) -> TrainingJobRecord:
    attrs = study.user_attrs
    record = dict(attrs[K.STANDALONE_RECORD])
    where = attrs.get(K.TRIAL_FIELDS["process"]) or {}
    return TrainingJobRecord(
        name=record["TrainingJobName"],
        summary=record,
        final_metrics={m["MetricName"]: m["Value"] for m in record.get("FinalMetricDataList") or []},
        worker=where.get(K.PROCESS_WORKER),
        pid=where.get(K.PROCESS_PID),
        pid_start=where.get(K.PROCESS_PID_START),
        stop_requests=sum(1 for key in attrs if key.startswith(K.STOP_REQUEST_PREFIX)),
    )


def _load(store, name: str):
    import optuna

    stored = _stored_name(store, name)
    if stored is None:
        raise TrainingJobNotFound(name)
    return optuna.load_study(study_name=stored, storage=store.storage)


def set_process(store, name: str, where: dict) -> None:
    _load(store, name).set_user_attr(K.TRIAL_FIELDS["process"], where)


def add_stop_request(store, name: str) -> None:
    import uuid

    _load(store, name).set_user_attr(f"{K.STOP_REQUEST_PREFIX}{uuid.uuid4().hex}", time.time())


def create(store, record: dict[str, Any]):
    import optuna

    name = record["TrainingJobName"]
    if _stored_name(store, name) is not None or _child(store, name) is not None:
        raise TrainingJobExists(
            f"a training job named {name!r} already exists (AMT: ResourceInUse); pick another TrainingJobName"
        )
    study = optuna.create_study(study_name=_study_name(name), storage=store.storage)
    study.set_user_attr(K.STANDALONE_MODIFIED, time.time())
    study.set_user_attr(K.STANDALONE_RECORD, record)  # last: it marks the creation complete
    return study


def update(store, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    study = _load(store, name)
    record = dict(study.user_attrs[K.STANDALONE_RECORD])
    record.update(fields)
    study.set_user_attr(K.STANDALONE_RECORD, record)
    study.set_user_attr(K.STANDALONE_MODIFIED, time.time())
    sharded = store.sharded
    if sharded is not None and "TrainingJobStatus" in fields:  # ListTrainingJobs then reads it from the index
        from amtlocal.store._records import digest_of, training_rows_of

        sharded.refresh_digest(study._study_id, digest_of, training_rows_of)
    return record


def all_standalone(store) -> Iterator[TrainingJobRecord]:
    sharded = store.sharded
    if sharded is None:
        for s in store.storage.get_all_studies():
            if s.study_name.startswith(K.STANDALONE_PREFIX) and K.STANDALONE_RECORD in s.user_attrs:
                yield _record(s)
        return
    import optuna

    for name in names(store):
        yield _record(optuna.load_study(study_name=_study_name(name), storage=sharded))


def names(store) -> list[str]:
    sharded = store.sharded
    if sharded is not None:
        from amtlocal.store._records import digest_of

        return [
            name[len(K.STANDALONE_PREFIX) :]
            for _, name, digest in sharded.digests(digest_of)
            if digest.get("kind") == "training" and digest.get("complete")
        ]
    return [
        s.study_name[len(K.STANDALONE_PREFIX) :]
        for s in store.storage.get_all_studies()
        if s.study_name.startswith(K.STANDALONE_PREFIX) and K.STANDALONE_RECORD in s.user_attrs
    ]


def _child(store, name: str) -> TrainingJobRecord | None:
    """A tuning job's training job of that name: its parent's study first (from the name ``<tuning job>-NNN-hex``),
    then the owner the sharded store's index names, else (another storage) every study."""
    parts = name.rsplit("-", 2)
    guess = store.resolve_name(parts[0]) if len(parts) == 3 and parts[0] else None
    found = _in_study(store, guess, name) if guess is not None else None
    if found is not None:
        return found
    if store.sharded is not None:
        owner = store.owner_of(name)
        return None if owner is None or owner == guess else _in_study(store, owner, name)
    for tuning in store.names():
        found = _in_study(store, tuning, name) if tuning != guess else None
        if found is not None:
            return found
    return None


def _in_study(store, tuning: str, name: str) -> TrainingJobRecord | None:
    """Training job ``name`` among tuning job ``tuning``'s own, or None."""
    low = name.lower()
    study = store.load(tuning)
    for t in study.get_trials(deepcopy=False):
        summary = t.user_attrs.get(K.TRIAL_FIELDS["summary"]) or {}
        if t.user_attrs.get(K.TRIAL_FIELDS["role"]) == K.ROLE_OWN and summary.get("TrainingJobName", "").lower() == low:
            return read_trial(t, study.study_name)
    return None


def find(store, name: str) -> TrainingJobRecord | None:
    if _stored_name(store, name) is not None:
        return _record(_load(store, name))
    return _child(store, name)
