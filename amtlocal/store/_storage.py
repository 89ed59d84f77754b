"""The storage back-ends under the store: Optuna journal files (the embedded default) or an RDB URL.

- Journal: a journal per study under ``<home>/store/`` (``_sharded.py``; a home's single ``store.journal`` before
  issue 18), each a ``JournalStorage`` with ``JournalFileBackend`` (each change is one appended,
  fsynced line, about five times cheaper per training job than SQLite through SQLAlchemy), locked with ``flock``
  (:class:`FlockJournalLock`) so that a killed process never leaves the store locked; a last line cut mid-write is
  dropped on opening (:func:`drop_partial_last_line`).
- RDB: any Optuna RDB URL (``postgresql://...``, ``sqlite:///...``); SQLite in WAL mode; heartbeats (PostgreSQL)
  and reconnects in ``_rdb.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from amtlocal.store._locks import FlockJournalLock
from amtlocal.store._schema import DAMAGED_SUFFIX, JOURNAL_FILE, STORE_DIR


def open_storage(home: Path, storage_url: str | None, read_only: bool = False):
    """The Optuna storage: the sharded store in ``home`` when ``storage_url`` is None (:func:`open_home`), else the
    RDB at that URL. ``read_only``: write nothing (no repair of a cut tail, no migration, no index update)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not read_only:
        home.mkdir(parents=True, exist_ok=True)
    if storage_url is None:
        return open_home(home, read_only)
    return open_rdb(storage_url)


def open_home(home: Path, read_only: bool = False):
    """A home's embedded store: ``<home>/store/`` (``_sharded.ShardedJournalStorage``: a journal per study and an
    index). A home made before issue 18 (its single ``store.journal``) is migrated first (``_migrate.migrate``); one
    that cannot be yet (read-only, or a job of an earlier version runs there) is read as it is: that journal."""
    from amtlocal.store._sharded import ShardedJournalStorage

    writable = not read_only and _writable(str(home))
    if (home / JOURNAL_FILE).exists():
        from amtlocal.store import _migrate

        if not (home / STORE_DIR).exists():
            if not writable or not _migrate.migrate(home):
                return open_journal(str(home / JOURNAL_FILE), read_only)
        elif writable:
            _migrate.finish(home)  # migrated, but the old journal's rename was cut short
    return ShardedJournalStorage(home / STORE_DIR, not writable)


def open_journal(path: str, read_only: bool = False):
    """Optuna's JournalStorage over ``path`` (``_journal.DamageTolerantJournal``) with the flock lock, after taking
    out a cut last line (kept in ``<path>.damaged``) when the journal is writable; a read-only journal is only read."""
    from optuna.storages import JournalStorage

    from amtlocal.store._journal import DamageTolerantJournal

    lock = journal_lock(path)
    if not read_only and _writable(path):
        drop_partial_last_line(path, lock)
    return JournalStorage(DamageTolerantJournal(path, lock))


def _writable(path: str) -> bool:
    """True when ``path`` (or, missing, its folder) can be written: not a read-only file system or file."""
    target = path if os.path.exists(path) else os.path.dirname(path) or "."
    if not os.access(target, os.W_OK):
        return False
    try:
        return not (os.statvfs(target).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _decode(line: bytes, ops: frozenset) -> dict | None:
    """The journal record on ``line``, or None when it is damaged (not UTF-8 JSON of an operation Optuna knows)."""
    import json

    try:
        record = json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None
    if not isinstance(record, dict) or record.get("op_code") not in ops or "worker_id" not in record:
        return None
    return record


def journal_lock(path: str) -> FlockJournalLock:
    """The lock every writer of journal ``path`` takes (flock on ``<path>.lock``)."""
    return FlockJournalLock(path + ".lock")


def open_rdb(url: str):
    """Optuna's RDBStorage at ``url`` (retrying a schema creation raced by another worker): a
    :class:`~amtlocal.store._rdb.RetryingRDBStorage`, with Optuna's heartbeat on PostgreSQL."""
    from amtlocal.exceptions import StorageUnavailable
    from amtlocal.store._rdb import rdb_storage

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
        _sqlite_wal(url)
    storage = None
    for attempt in range(5):
        try:
            storage = rdb_storage(url, url.startswith(("postgresql", "postgres")), **kwargs)
            break
        except StorageUnavailable:
            raise
        except Exception:  # noqa: BLE001 - two workers creating the schema at once: the loser retries
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    assert storage is not None  # the loop above either breaks with a storage or re-raises
    if url.startswith("sqlite"):
        from sqlalchemy import event

        def _synchronous_normal(dbapi_connection, _record) -> None:  # per connection; see _sqlite_wal
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        event.listen(storage.engine, "connect", _synchronous_normal)
        storage.engine.dispose()  # reconnect with the pragma
    return storage


def _sqlite_wal(url: str) -> None:
    """Put an SQLite store in WAL mode with synchronous=NORMAL (persistent in the file).

    Every training job costs a few small transactions; in the default rollback-journal mode each one fsyncs several
    times. WAL keeps each commit atomic and durable across a crash of the tuner (power loss may drop the last few
    commits, never corrupt the file), and readers (``amtlocal describe``) no longer block the writer.
    """
    import sqlite3

    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=60)
    try:
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def drop_partial_last_line(path: str, lock: FlockJournalLock | None) -> None:
    """A journal whose last line has no newline was cut mid-write (a writer killed during a write of more than a
    page, a full disk, power loss): that change never completed, so it is taken out, its bytes kept in
    ``<path>.damaged`` (:func:`keep_damaged`). Left there, the next appended line would be glued to it and the record
    lost. ``lock``: the journal lock, taken here (None: the caller holds it)."""
    if not os.path.exists(path):
        return
    if lock is not None:
        lock.acquire()
    try:
        with open(path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            cut = _after_last_newline(f, size)
            keep_damaged(path, cut, size)
            f.truncate(cut)
    finally:
        if lock is not None:
            lock.release()


def keep_damaged(path: str, start: int, end: int) -> None:
    """Copy bytes ``start:end`` of journal ``path`` to ``<path>.damaged`` (appended, after a header line naming the
    offset and time) before they are taken out of the journal: nothing is ever silently deleted."""
    import time as _time

    with open(path, "rb") as src:
        src.seek(start)
        data = src.read(end - start)
    with open(path + DAMAGED_SUFFIX, "ab") as out:
        out.write(f"# {_time.strftime('%Y-%m-%dT%H:%M:%S')} bytes {start}-{end} of {os.path.basename(path)}\n".encode())
        out.write(data + b"\n")
        out.flush()
        os.fsync(out.fileno())


def _after_last_newline(f, size: int, step: int = 1 << 16) -> int:
    """The offset just after the last newline of open file ``f`` (0 if none), read backwards a block at a time."""
    pos = size
    while pos > 0:
        start = max(0, pos - step)
        f.seek(start)
        block = f.read(pos - start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        pos = start
    return 0
