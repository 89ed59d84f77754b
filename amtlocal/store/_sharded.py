"""One Optuna storage over many journal files: a journal per study (tuning job or standalone training job) and an index.

The embedded store of a home (``<home>/store/``) since issue 18: ``journals/<study id>.journal`` (each an Optuna
journal, damage tolerant as ``_journal.DamageTolerantJournal``, with its own flock lock) and ``index.sqlite``
(:class:`~amtlocal.store._index.JobIndex`). A command opens only the journals of the studies it touches, so its cost
grows with what it reads, not with the home's history; ``list`` reads the index's digests (recomputing only those of
journals that changed since).

Ids: a study's id is its index row id (also its journal's file name); a trial's id is ``study id * TRIAL_ID_BASE +``
its id inside its journal, so any trial id leads to its journal. Imported only when a store is opened (it imports
Optuna).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Container, Sequence
from pathlib import Path
from typing import Any

from optuna.exceptions import DuplicatedStudyError
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages._base import DEFAULT_STUDY_NAME_PREFIX
from optuna.storages.journal import BaseJournalBackend
from optuna.study._frozen import FrozenStudy
from optuna.study._study_direction import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from amtlocal.store._index import JobIndex, is_busy, journal_stamp
from amtlocal.store._schema import DAMAGED_SUFFIX, INDEX_FILE, JOURNAL_SUFFIX, JOURNALS_DIR
from amtlocal.store._storage import _decode, open_journal

log = logging.getLogger("amtlocal")

TRIAL_ID_BASE = 10**8  # trials per study; ids stay below 2**53 (JSON-safe for the dashboard) up to 90 million studies
NOT_FOUND = "Record does not exist."

# (study name, user attrs, frozen trials) -> (digest JSON object, names of the study's training jobs)
Digester = Callable[[str, dict, list], tuple[dict, list]]
# (study name, user attrs, frozen trials) -> what ListTrainingJobs shows of the study's training jobs (JSON objects)
RowMaker = Callable[[str, dict, list], list[dict]]


class ShardedJournalStorage(BaseStorage):
    """Optuna's storage contract over ``root/journals/*.journal`` and ``root/index.sqlite``.

    Args:
        root: ``<home>/store``.
        read_only: never write (no index update, no repair of a cut tail, no missing journal made).

    Every method of :class:`optuna.storages.BaseStorage` routes to the one journal that holds the study or trial;
    :meth:`get_all_studies` (what optuna-dashboard lists) reads the index, and only the journals changed since it was last
    called. Thread-safe.
    """

    def __init__(self, root: Path, read_only: bool = False):
        self.root = Path(root)
        self.read_only = read_only
        self.journals = self.root / JOURNALS_DIR
        self._lock = threading.RLock()
        self._open: dict[int, JournalStorage] = {}
        # study id -> local trial id -> (the journal's trial object, its copy carrying the global id): Optuna's journal
        # replaces a trial's object on every change, so an unchanged object keeps its copy (see get_all_trials).
        self._with_ids: dict[int, dict[int, tuple[FrozenTrial, FrozenTrial]]] = {}
        if not read_only:
            self.journals.mkdir(parents=True, exist_ok=True)
        self.index = JobIndex(self.root / INDEX_FILE, read_only)
        missing = not self.index.path.exists()
        try:
            self.index.ids()
        except sqlite3.DatabaseError as e:  # not a database any more: the journals are the truth
            if is_busy(e):  # held by another process for longer than the busy timeout: not damage
                raise
            log.warning("%s is unreadable (%s); it is rebuilt from the journals", self.index.path, e)
            missing = True
            self.index.close()
            if not read_only:
                os.replace(self.index.path, f"{self.index.path}{DAMAGED_SUFFIX}-{int(time.time())}")
            else:
                self.index = JobIndex(self.root / "-", read_only=True)  # an empty in-memory index
        if missing:
            self.adopt_journals()

    # -- files ------------------------------------------------------------------------------------------------------
    def journal_path(self, study_id: int) -> Path:
        """The journal file of study ``study_id``."""
        return self.journals / f"{study_id}{JOURNAL_SUFFIX}"

    def journal_ids(self) -> list[int]:
        """Ids of every journal file in ``journals/`` (whether or not the index knows them)."""
        try:
            names = os.listdir(self.journals)
        except FileNotFoundError:
            return []
        return sorted(int(n[: -len(JOURNAL_SUFFIX)]) for n in names if n.endswith(JOURNAL_SUFFIX) and n[0].isdigit())

    def open_journal_paths(self) -> list[Path]:
        """Journals this process has opened (to take a cut tail out of after a full disk)."""
        with self._lock:
            return [self.journal_path(i) for i in self._open]

    def adopt_journals(self) -> int:
        """Give every journal the index does not know a row again (its study's name and directions read from its
        first record): the index lost rows (deleted, damaged). Returns how many were adopted."""
        known = self.index.ids()
        adopted = 0
        for study_id in self.journal_ids():
            if study_id in known:
                continue
            first = _first_record(self.journal_path(study_id))
            if first is None or first.get("op_code") != 0:
                continue
            try:
                self.index.add(first["study_name"], [int(d) for d in first["directions"]], study_id)
                adopted += 1
            except KeyError:
                log.warning("%s holds study %r, whose name another journal has", self.journal_path(study_id), first)
            except sqlite3.OperationalError:  # a read-only index
                break
        return adopted

    def unindexed(self) -> list[Path]:
        """Journals the index has no row for (their jobs are not listed until re-indexed)."""
        known = self.index.ids()
        return [self.journal_path(i) for i in self.journal_ids() if i not in known]

    def rebuild_index(self, digester: Digester) -> None:
        """Make the index agree with the journals: adopt journals it lacks, and recompute every digest."""
        self.adopt_journals()
        self.index.clear_digests()
        self.digests(digester)

    def _journal(self, study_id: int) -> JournalStorage:
        """The (cached) JournalStorage of study ``study_id``. Raises KeyError when the index has no such study."""
        with self._lock:
            js = self._open.get(study_id)
            if js is not None:
                return js
            row = self.index.row(study_id)
            if row is None:
                raise KeyError(NOT_FOUND)
            path = self.journal_path(study_id)
            if not path.exists():
                # Its creator died between the index row and the journal: a study with no attributes (no job).
                js = _in_memory() if self.read_only else open_journal(str(path))
                try:
                    js.create_new_study([StudyDirection(d) for d in row[1]], row[0])
                except DuplicatedStudyError:
                    pass  # its creator was alive after all and wrote the record first (see create_new_study)
            else:
                js = open_journal(str(path), self.read_only)
            self._open[study_id] = js
            return js

    def forget(self, study_id: int) -> None:
        """Drop the cached replay of a study (memory stays flat while digesting many)."""
        with self._lock:
            self._open.pop(study_id, None)
            self._with_ids.pop(study_id, None)

    # -- digests (the index's copy of what `list` shows) ------------------------------------------------------------
    def digests(self, digester: Digester) -> list[tuple[int, str, dict]]:
        """``[(study id, name, digest)]`` of every study, by id: the index's digest where its journal has not changed
        since, else recomputed from the journal with ``digester`` (and saved, unless read-only)."""
        owners: dict[int, list[str]] = {}

        def make(study_id: int) -> dict:
            digest, owners[study_id] = self.digest_one(study_id, digester)
            return digest

        out, made = self._indexed_or_made(self.index.current, make)
        self.index.save_digests([(study_id, stamp, digest, owners[study_id]) for study_id, stamp, digest in made])
        return out

    def refresh_digest(self, study_id: int, digester: Digester, row_maker: RowMaker | None = None) -> None:
        """Recompute and save study ``study_id``'s digest now (a writer whose job changed status), so the next
        ``list`` reads it from the index; with ``row_maker`` its training-job rows too (for ListTrainingJobs)."""
        if self.read_only:
            return
        stamp = journal_stamp(self.journal_path(study_id))  # first: the digest is at least this new
        digest, owned = self.digest_one(study_id, digester)
        self.index.save_digests([(study_id, stamp, digest, owned)])
        if row_maker is not None:
            self.index.save_rows([(study_id, stamp, self.digest_one(study_id, row_maker))])

    def training_rows(self, row_maker: RowMaker) -> list[tuple[int, str, list[dict]]]:
        """``[(study id, name, training-job rows)]`` of every study, by id: the index's rows where its journal has not
        changed since they were made, else made from the journal with ``row_maker`` (and saved, unless read-only): a
        running tuning job's journal is read once per change, a finished one's never."""
        out, made = self._indexed_or_made(
            self.index.current_rows, lambda study_id: self.digest_one(study_id, row_maker)
        )
        self.index.save_rows(made)
        return out

    def _indexed_or_made(self, current, make) -> tuple[list[tuple[int, str, Any]], list[tuple[int, str | None, Any]]]:
        """For every study of ``current(journals folder)`` (``(study id, name, journal stamp now, value or None)``):
        the index's value, or where it is None (journal changed, or none indexed) ``make(study id)`` read from its
        journal (dropped from memory again unless it was open). Returns ``([(study id, name, value)], [(study id,
        stamp, value) made])``; journals the index lacks are adopted first (when writable)."""
        if not self.read_only and len(self.journal_ids()) > len(self.index.ids()):
            self.adopt_journals()
        out, made = [], []
        for study_id, name, now, value in current(self.journals):
            if value is None:
                cached = study_id in self._open
                value = make(study_id)
                if not cached:
                    self.forget(study_id)
                made.append((study_id, now, value))
            out.append((study_id, name, value))
        return out, made

    def digest_one(self, study_id: int, digester: Callable[[str, dict, list], Any]) -> Any:
        """``digester(name, user attrs, trials)`` of study ``study_id`` (empty attributes and trials when its journal
        lost its creation record)."""
        name, _ = self.index.row(study_id) or ("", None)
        try:
            js = self._journal(study_id)
            return digester(name, js.get_study_user_attrs(0), js.get_all_trials(0, deepcopy=False))
        except KeyError:  # its creation record is damaged: a study with nothing readable (see `amtlocal doctor`)
            return digester(name, {}, [])

    def user_attrs(self, study_id: int) -> dict[str, Any]:
        """The study's user attributes; empty when its journal lost its creation record (a damaged first line)."""
        try:
            return self.get_study_user_attrs(study_id)
        except KeyError:
            return {}

    # -- studies ----------------------------------------------------------------------------------------------------
    def create_new_study(self, directions: Sequence[StudyDirection], study_name: str | None = None) -> int:
        name = study_name or DEFAULT_STUDY_NAME_PREFIX + os.urandom(8).hex()
        try:
            study_id = self.index.add(name, [int(d) for d in directions])
        except KeyError:
            raise DuplicatedStudyError(f"Another study with name '{name}' already exists.") from None
        with self._lock:
            js = open_journal(str(self.journal_path(study_id)))
            try:
                js.create_new_study(directions, name)
            except DuplicatedStudyError:
                # Another process read this study between its index row and this record, took its creator for dead
                # and wrote the same creation record (see _journal): the study is there, as asked.
                pass
            self._open[study_id] = js
        return study_id

    def delete_study(self, study_id: int) -> None:
        self._journal(study_id)  # KeyError when unknown
        self.index.remove(study_id)
        self.forget(study_id)
        path = self.journal_path(study_id)
        for p in (path, Path(f"{path}.lock")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._journal(study_id).set_study_user_attr(0, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._journal(study_id).set_study_system_attr(0, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        hit = self.index.by_name(study_name)
        if hit is None:
            raise KeyError(NOT_FOUND)
        return hit[0]

    def get_study_name_from_id(self, study_id: int) -> str:
        row = self.index.row(study_id)
        if row is None:
            raise KeyError(NOT_FOUND)
        return row[0]

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return self._journal(study_id).get_study_directions(0)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self._journal(study_id).get_study_user_attrs(0)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self._journal(study_id).get_study_system_attrs(0)

    def get_all_studies(self) -> list[FrozenStudy]:
        """Every study, by id, with its directions and attributes as its journal holds them now: from the index,
        where a study's journal has not changed since they were kept; else read from the journal (and kept, unless
        read-only). A study whose journal lost its creation record has its indexed directions and no attributes."""
        out, made = self._indexed_or_made(self.index.current_attrs, self._attrs)
        self.index.save_attrs(made)
        return [
            FrozenStudy(
                study_name=name,
                direction=None,
                directions=[StudyDirection(d) for d in value["directions"]],
                user_attrs=value["user"],
                system_attrs=value["system"],
                study_id=study_id,
            )
            for study_id, name, value in out
        ]

    def _attrs(self, study_id: int) -> dict[str, Any]:
        """``{"directions", "user", "system"}`` of study ``study_id`` read from its journal (copies)."""
        try:
            js = self._journal(study_id)
            return {
                "directions": [int(d) for d in js.get_study_directions(0)],
                "user": copy.deepcopy(js.get_study_user_attrs(0)),
                "system": copy.deepcopy(js.get_study_system_attrs(0)),
            }
        except KeyError:  # its creation record is damaged (see `amtlocal doctor`)
            _, directions = self.index.row(study_id) or ("", [])
            return {"directions": list(directions or []), "user": {}, "system": {}}

    # -- trials -----------------------------------------------------------------------------------------------------
    def _route(self, trial_id: int) -> tuple[JournalStorage, int]:
        study_id, local = divmod(trial_id, TRIAL_ID_BASE)
        return self._journal(study_id), local

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        return study_id * TRIAL_ID_BASE + self._journal(study_id).create_new_trial(0, template_trial)

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float, distribution) -> None:
        js, local = self._route(trial_id)
        js.set_trial_param(local, param_name, param_value_internal, distribution)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        return study_id * TRIAL_ID_BASE + self._journal(study_id).get_trial_id_from_study_id_trial_number(
            0, trial_number
        )

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        js, local = self._route(trial_id)
        return js.set_trial_state_values(local, state, values)

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        js, local = self._route(trial_id)
        js.set_trial_intermediate_value(local, step, intermediate_value)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        js, local = self._route(trial_id)
        js.set_trial_user_attr(local, key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        js, local = self._route(trial_id)
        js.set_trial_system_attr(local, key, value)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        js, local = self._route(trial_id)
        # Optuna's journal hands out its own object: never set the global id on it (a later read would add the
        # study's base again), give the id-carrying copy instead.
        return self._global(trial_id // TRIAL_ID_BASE, js.get_trial(local))

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        trials = self._journal(study_id).get_all_trials(0, deepcopy=deepcopy, states=states)
        base = study_id * TRIAL_ID_BASE
        if deepcopy:  # fresh copies already: they take the global id in place
            return [_with_id(t, base + t._trial_id) for t in trials]
        # Without deepcopy Optuna hands out its own objects, which the caller must not change: a shallow copy with
        # the global id is made once per trial object (each change of a trial replaces its object in the journal's
        # replay), not once per call: samplers and the scheduler read all trials for every training job.
        with self._lock:  # once per read, not per trial
            cache = self._with_ids.setdefault(study_id, {})
        return [_cached_with_id(cache, t, base) for t in trials]

    def _global(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
        """The copy of the journal's own ``trial`` object that carries the global id, made once per object."""
        with self._lock:
            cache = self._with_ids.setdefault(study_id, {})
        return _cached_with_id(cache, trial, study_id * TRIAL_ID_BASE)


def _with_id(trial: FrozenTrial, trial_id: int, copy_first: bool = False) -> FrozenTrial:
    """``trial`` carrying the global id (a shallow copy when it is the journal's cached object)."""
    if copy_first:
        trial = copy.copy(trial)
    trial._trial_id = trial_id
    return trial


def _cached_with_id(cache: dict[int, tuple[FrozenTrial, FrozenTrial]], trial: FrozenTrial, base: int) -> FrozenTrial:
    """The id-carrying copy of the journal's ``trial`` object from ``cache`` (local id -> (object, copy)), made when
    the journal has replaced the object since (Optuna's replay replaces a trial's object at every change)."""
    hit = cache.get(trial._trial_id)
    if hit is None or hit[0] is not trial:
        hit = cache[trial._trial_id] = (trial, _with_id(trial, base + trial._trial_id, copy_first=True))
    return hit[1]


def _in_memory() -> JournalStorage:
    return JournalStorage(MemoryJournal())


class MemoryJournal(BaseJournalBackend):
    """A journal held in memory (a read-only view of a study whose journal was never written; the migration)."""

    def __init__(self) -> None:
        self.logs: list[dict] = []

    def read_logs(self, log_number_from: int):
        yield from self.logs[log_number_from:]

    def append_logs(self, logs) -> None:
        self.logs.extend(json.loads(json.dumps(entry)) for entry in logs)


def _first_record(path: Path) -> dict | None:
    """The first good record of journal ``path`` (its CREATE_STUDY), or None."""
    from amtlocal.store._schema import JOURNAL_OPS

    try:
        with open(path, "rb") as f:
            for line in f:
                if line.endswith(b"\n"):
                    record = _decode(line, JOURNAL_OPS)
                    if record is not None:
                        return record
    except OSError:
        return None
    return None
