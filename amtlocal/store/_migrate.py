"""Migrating a home made before issue 18 (one journal, ``<home>/store.journal``) to the sharded store (``<home>/store/``).

Atomic: the new store is built whole in ``<home>/store.migrating/`` (a journal per study, written and fsynced, and the
index with every digest), then renamed to ``<home>/store/`` in one step; only then is the old journal renamed to
``store.journal.pre-sharding`` (kept as the backup: nothing is deleted). A migration cut short leaves
``store.migrating/`` (started over on the next open) or both ``store/`` and ``store.journal`` (the rename finished on the
next open). Study ids are the old ones plus one, trial numbers stay; every study attribute and every trial (state,
values, params, attributes, intermediate values, times) is copied through Optuna's own journal operations.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from amtlocal.store import _schema as K
from amtlocal.store._storage import journal_lock, open_journal

log = logging.getLogger("amtlocal")


def migrate(home: Path) -> bool:
    """Migrate ``home``'s single journal to the sharded store. False (nothing done, the old journal stays in use for
    now) while a tuner or training job of an earlier version runs there (it appends to the old journal). Takes the
    old journal's lock: writers of an earlier version wait for the migration."""
    legacy = home / K.JOURNAL_FILE
    lock = journal_lock(str(legacy))
    lock.acquire()
    try:
        if (home / K.STORE_DIR).exists():  # another process migrated it meanwhile
            finish(home)
            return True
        if not legacy.exists():
            return True
        if _live_job(home):
            log.warning("%s is not migrated to the sharded store yet: a job runs there (it is, once none runs)", home)
            return False
        log.warning(
            "migrating %s (%.1f MB) to a journal per job and an index: once, about 2 s per 1,000 training jobs",
            legacy,
            legacy.stat().st_size / 1e6,
        )
        tmp = home / K.MIGRATING_DIR
        shutil.rmtree(tmp, ignore_errors=True)  # a migration cut short starts over
        copied = _copy(legacy, tmp)
        os.replace(tmp, home / K.STORE_DIR)
        _fsync_dir(home)
        finish(home)
        log.info(
            "%s: %d studies migrated to %s (the old journal is kept as %s)", home, copied, K.STORE_DIR, K.LEGACY_BACKUP
        )
        return True
    finally:
        lock.release()


def finish(home: Path) -> None:
    """The last step: the old journal becomes the backup (an older backup is never overwritten)."""
    legacy = home / K.JOURNAL_FILE
    if not legacy.exists():
        return
    backup = home / K.LEGACY_BACKUP
    n = 1
    while backup.exists():
        backup = home / f"{K.LEGACY_BACKUP}.{n}"
        n += 1
    os.replace(legacy, backup)
    _fsync_dir(home)


def _copy(legacy: Path, tmp: Path) -> int:
    """Write every study of journal ``legacy`` to its own journal under ``tmp`` and index them all. Returns how many."""
    from optuna.storages import JournalStorage

    from amtlocal.store._index import JobIndex, journal_stamp
    from amtlocal.store._records import digest_of, training_rows_of
    from amtlocal.store._sharded import MemoryJournal

    source = open_journal(str(legacy), read_only=True)  # under our lock already; a cut tail stays in the backup
    journals = tmp / K.JOURNALS_DIR
    journals.mkdir(parents=True)
    index = JobIndex(tmp / K.INDEX_FILE)
    studies = source.get_all_studies()
    updates, rows = [], []
    for study in studies:
        study_id = study._study_id + 1
        trials = source.get_all_trials(study._study_id, deepcopy=False)
        memory = MemoryJournal()
        target = JournalStorage(memory)
        target.create_new_study(study.directions, study.study_name)
        for key, value in study.user_attrs.items():
            target.set_study_user_attr(0, key, value)
        for key, value in study.system_attrs.items():
            target.set_study_system_attr(0, key, value)
        for trial in trials:
            target.create_new_trial(0, template_trial=trial)
        path = journals / f"{study_id}{K.JOURNAL_SUFFIX}"
        _write_lines(path, memory.logs)
        index.add(study.study_name, [int(d) for d in study.directions], study_id)
        digest, owned = digest_of(study.study_name, study.user_attrs, trials)
        updates.append((study_id, journal_stamp(path), digest, owned))
        rows.append((study_id, updates[-1][1], training_rows_of(study.study_name, study.user_attrs, trials)))
    index.save_digests(updates)
    index.save_rows(rows)
    index.close()
    _fsync_dir(journals)
    _fsync_dir(tmp)
    return len(studies)


def _write_lines(path: Path, logs: list[dict]) -> None:
    import json

    with open(path, "wb") as f:
        f.write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in logs).encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _live_job(home: Path) -> bool:
    """True when a process holds a tuning job's or standalone training job's lock in ``home``."""
    from amtlocal.store._locks import JobLock

    for folder, lock_name in (("jobs", K.LOCK_FILE), ("training-jobs", "job.lock")):
        try:
            entries = list((home / folder).iterdir())
        except OSError:
            continue
        for entry in entries:
            if (entry / lock_name).exists() and JobLock(entry / lock_name).held_elsewhere():
                return True
    return False
