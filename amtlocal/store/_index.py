"""The index of a sharded home: which journal holds which study, a digest of each study for ``list``, each study's
training-job rows for ListTrainingJobs (table ``training_rows``: kept apart so ``list`` never reads them) and each
study's Optuna attributes for ``get_all_studies`` (table ``study_attrs``: what optuna-dashboard lists). An index of an
earlier version gets the tables on its first writable open and their values on demand.

A stdlib SQLite file (``<home>/store/index.sqlite``) in WAL mode: readers never block the writer, concurrent writers
(two tuners creating jobs at once) are serialised by SQLite's own lock (``BEGIN IMMEDIATE``, 60 s busy timeout), and a
killed writer leaves the last committed state. SQLite rather than a JSON-lines file because ``list`` needs the newest
digest of each job (an update in place, not an append) and the unique case-insensitive name is a constraint the
database enforces across processes.

The journals are the truth: a study's row is created before its journal (a crash in between leaves a row whose journal
is missing: a study with no attributes, that is no job), a digest (and a study's training-job rows) is tagged with the
stamp (inode, size, mtime) of its journal when it was read and recomputed whenever the journal has changed since, and
the whole index is rebuilt from the journals when it is missing or unreadable.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    study_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL UNIQUE,
    directions TEXT NOT NULL,
    stamp TEXT,
    digest TEXT
);
CREATE TABLE IF NOT EXISTS owners (
    name_lower TEXT PRIMARY KEY,
    study_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS training_rows (
    study_id INTEGER PRIMARY KEY,
    stamp TEXT,
    rows TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS study_attrs (
    study_id INTEGER PRIMARY KEY,
    stamp TEXT,
    attrs TEXT NOT NULL
);
"""
# Values kept per study and journal stamp, made from the journal when it changed: table -> its value column.
_CACHED = {"training_rows": "rows", "study_attrs": "attrs"}


LOCKED_WAIT_SECONDS = 60.0  # as the connections' busy timeout


def is_busy(error: sqlite3.Error) -> bool:
    """Whether ``error`` says another connection holds the database (locked or busy), as opposed to damage."""
    return isinstance(error, sqlite3.OperationalError) and ("locked" in str(error) or "busy" in str(error))


def journal_stamp(path: Path | str) -> str | None:
    """``inode:size:mtime_ns`` of journal ``path`` (None when missing): any append, truncation or rewrite changes it.
    Taken BEFORE the journal is read, so a digest is never older than its stamp."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


class JobIndex:
    """The SQLite index file of a sharded home.

    Args:
        path: ``<home>/store/index.sqlite``.
        read_only: open without writing (a read-only file system or ``amtlocal doctor`` without ``--repair``); a
            missing index is then an empty one.
    """

    def __init__(self, path: Path, read_only: bool = False):
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._con: sqlite3.Connection | None = None

    @property
    def con(self) -> sqlite3.Connection:
        if self._con is None:
            self._con = self._connect()
        return self._con

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            if not self.path.exists():
                con = sqlite3.connect(":memory:", check_same_thread=False)
                con.executescript(_SCHEMA)
                return con
            # A WAL database on a read-only file system opens read-only when its -wal and -shm files exist (SQLite
            # >= 3.22); without them everything is in the main file, read as immutable (no -shm to make).
            wal = all(os.path.exists(f"{self.path}{suffix}") for suffix in ("-wal", "-shm"))
            mode = "ro" if wal or os.access(self.path.parent, os.W_OK) else "ro&immutable=1"
            return sqlite3.connect(f"file:{self.path}?mode={mode}", uri=True, check_same_thread=False, timeout=60)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, check_same_thread=False, timeout=60, isolation_level=None)
        # Another process making the same new index (two tuners started at once) can hold it while this one switches
        # it to WAL, and SQLite answers "database is locked" at once there, without its busy timeout: that is a
        # wait, not damage (which would move a healthy index aside and rebuild it).
        deadline = time.monotonic() + LOCKED_WAIT_SECONDS
        while True:
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=NORMAL")
                con.executescript(_SCHEMA)
                return con
            except sqlite3.OperationalError as e:
                if not is_busy(e) or time.monotonic() >= deadline:
                    con.close()
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # -- studies --------------------------------------------------------------------------------------------------
    def add(self, name: str, directions: list[int], study_id: int | None = None) -> int:
        """Insert a study row; returns its id. Raises KeyError when the name is taken (case-insensitively)."""
        with self._lock:
            try:
                cur = self.con.execute(
                    "INSERT INTO studies (study_id, name, name_lower, directions) VALUES (?, ?, ?, ?)",
                    (study_id, name, name.lower(), json.dumps(directions)),
                )
            except sqlite3.IntegrityError as e:
                raise KeyError(name) from e
            assert cur.lastrowid is not None
            return cur.lastrowid

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the index's lock (``BEGIN IMMEDIATE``: writers queue on SQLite's own lock);
        committed at the block's end, rolled back if it raises."""
        with self._lock:
            con = self.con
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def remove(self, study_id: int) -> None:
        with self._transaction() as con:
            con.execute("DELETE FROM studies WHERE study_id = ?", (study_id,))
            con.execute("DELETE FROM owners WHERE study_id = ?", (study_id,))
            for table in _CACHED:
                con.execute(f"DELETE FROM {table} WHERE study_id = ?", (study_id,))

    def by_name(self, name: str, exact: bool = True) -> tuple[int, str] | None:
        """``(study id, stored name)`` of study ``name`` (``exact``: Optuna's case-sensitive lookup; else AMT's
        case-insensitive one), or None."""
        with self._lock:
            row = self.con.execute(
                "SELECT study_id, name FROM studies WHERE name_lower = ?", (name.lower(),)
            ).fetchone()
        if row is None or (exact and row[1] != name):
            return None
        return row[0], row[1]

    def row(self, study_id: int) -> tuple[str, list[int]] | None:
        """``(name, directions)`` of study ``study_id``, or None."""
        with self._lock:
            row = self.con.execute("SELECT name, directions FROM studies WHERE study_id = ?", (study_id,)).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def rows(self) -> list[tuple[int, str, str | None, str | None]]:
        """Every study: ``(study id, name, stamp, digest JSON)``, by id."""
        with self._lock:
            return self.con.execute("SELECT study_id, name, stamp, digest FROM studies ORDER BY study_id").fetchall()

    def current(self, journals: Path) -> list[tuple[int, str, str | None, dict | None]]:
        """Every study, by id: ``(study id, name, its journal's stamp now, its digest or None)``, the digest None when
        its journal changed since it was digested (or it has none yet). Reads no journal."""
        folder = str(journals)
        out = []
        for study_id, name, stamp, digest in self.rows():
            now = journal_stamp(os.path.join(folder, f"{study_id}.journal"))  # first: a digest is at least this new
            out.append((study_id, name, now, json.loads(digest) if digest is not None and stamp == now else None))
        return out

    def ids(self) -> set[int]:
        with self._lock:
            return {r[0] for r in self.con.execute("SELECT study_id FROM studies")}

    # -- digests and owners ---------------------------------------------------------------------------------------
    def save_digests(self, updates: Iterable[tuple[int, str | None, dict[str, Any], list[str]]]) -> None:
        """Store ``(study id, stamp, digest, names of its training jobs)`` in one transaction (not when read-only)."""
        updates = list(updates)
        if self.read_only or not updates:
            return
        with self._transaction() as con:
            for study_id, stamp, digest, owned in updates:
                con.execute(
                    "UPDATE studies SET stamp = ?, digest = ? WHERE study_id = ?",
                    (stamp, json.dumps(digest, separators=(",", ":")), study_id),
                )
                con.executemany(
                    "INSERT OR REPLACE INTO owners (name_lower, study_id) VALUES (?, ?)",
                    [(n.lower(), study_id) for n in owned],
                )

    def clear_digests(self) -> None:
        """Forget every digest and owner (each is recomputed from its journal on the next read)."""
        with self._transaction() as con:
            con.execute("UPDATE studies SET stamp = NULL, digest = NULL")
            con.execute("DELETE FROM owners")
            for table in _CACHED:
                con.execute(f"DELETE FROM {table}")

    # -- values kept per journal stamp: training-job rows (ListTrainingJobs), Optuna attributes (get_all_studies) ------
    def current_rows(self, journals: Path) -> list[tuple[int, str, str | None, list[dict] | None]]:
        """Every study, by id: ``(study id, name, its journal's stamp now, its training-job rows or None)``, the rows
        None when its journal changed since they were made, or the index has none for it (one made by an earlier
        version: no such table, or no rows yet). Reads no journal."""
        return self._current(journals, "training_rows")

    def save_rows(self, updates: Iterable[tuple[int, str | None, list[dict]]]) -> None:
        """Store ``(study id, stamp, training-job rows)`` in one transaction (not when read-only)."""
        self._save("training_rows", updates)

    def current_attrs(self, journals: Path) -> list[tuple[int, str, str | None, dict | None]]:
        """As :meth:`current_rows`, each study's ``{"directions": [int], "user": {...}, "system": {...}}`` (Optuna's
        study directions and attributes)."""
        return self._current(journals, "study_attrs")

    def save_attrs(self, updates: Iterable[tuple[int, str | None, dict]]) -> None:
        """Store ``(study id, stamp, attributes)`` in one transaction (not when read-only)."""
        self._save("study_attrs", updates)

    def _current(self, journals: Path, table: str) -> list[tuple[int, str, str | None, Any]]:
        column = _CACHED[table]
        folder = str(journals)
        with self._lock:
            try:
                rows = self.con.execute(
                    f"SELECT s.study_id, s.name, r.stamp, r.{column} FROM studies s "
                    f"LEFT JOIN {table} r ON r.study_id = s.study_id ORDER BY s.study_id"
                ).fetchall()
            except sqlite3.OperationalError:  # a read-only index of an earlier version: no such table
                rows = [(i, name, None, None) for i, name, _, _ in self.rows()]
        out = []
        for study_id, name, stamp, data in rows:
            now = journal_stamp(os.path.join(folder, f"{study_id}.journal"))  # first: a value is at least this new
            out.append((study_id, name, now, json.loads(data) if data is not None and stamp == now else None))
        return out

    def _save(self, table: str, updates: Iterable[tuple[int, str | None, Any]]) -> None:
        updates = list(updates)
        if self.read_only or not updates:
            return
        with self._transaction() as con:
            con.executemany(
                f"INSERT OR REPLACE INTO {table} (study_id, stamp, {_CACHED[table]}) VALUES (?, ?, ?)",
                [(i, stamp, json.dumps(value, separators=(",", ":"))) for i, stamp, value in updates],
            )

    def owner(self, training_job_name: str) -> int | None:
        """The study id that holds training job ``training_job_name`` as one of its trials (as last digested)."""
        with self._lock:
            row = self.con.execute(
                "SELECT study_id FROM owners WHERE name_lower = ?", (training_job_name.lower(),)
            ).fetchone()
        return None if row is None else row[0]

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self.con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self.con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
