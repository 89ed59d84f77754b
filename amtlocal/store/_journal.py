"""The journal file under the embedded store: Optuna's JournalFileBackend, self-describing about damage.

Imported only when a journal is opened (it imports Optuna)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator

from optuna.storages.journal import JournalFileBackend

from amtlocal.store._schema import JOURNAL_OPS
from amtlocal.store._storage import _decode, drop_partial_last_line

log = logging.getLogger("amtlocal")

_warned: set[tuple[str, int]] = set()  # (journal, line number) already reported by this process
_unsynced = threading.local()  # .depth: nesting of unsynced_appends() blocks in this thread


@contextlib.contextmanager
def unsynced_appends() -> Iterator[None]:
    """Within the block, this thread's journal appends are written but not fsynced.

    Each append is still one ``write`` under the journal lock, so every process reads it at once and a crash of this
    process loses nothing (the page cache holds it). Only a power cut or a kernel crash can lose it, and then only as
    a tail: an append to a file is made durable by the next ``fsync`` of that file, which covers every write before
    it, so the journal on disk is always a prefix of the one written: the state of a crash a moment earlier, which
    recovery handles. Use it for records whose process would die in the same power cut; a record that must be on
    disk before a process starts (a training job's launch) is appended outside it (fsynced, with all before it).
    """
    _unsynced.depth = getattr(_unsynced, "depth", 0) + 1
    try:
        yield
    finally:
        _unsynced.depth -= 1


class DamageTolerantJournal(JournalFileBackend):
    """Optuna's JournalFileBackend, self-describing about damage.

    - Read: a complete line that is not a journal record (undecodable bytes, not JSON, not an operation) is
      skipped with one warning (per process) naming the file and its line number; every record before and after
      it stays readable. Log numbers count good records only, so every reader replays the same records.
    - Write: one ``write`` per append, fsynced (but see :func:`unsynced_appends`); never after a damaged tail: a last line without its newline (a writer killed mid-write, a full
      disk) is first moved to ``<journal>.damaged`` (:func:`drop_partial_last_line`), under the journal lock.
    """

    def __init__(self, file_path: str, lock_obj) -> None:
        if os.path.exists(file_path):  # Optuna's __init__ would create it (a write) when missing only
            self._file_path, self._lock = file_path, lock_obj
        else:
            super().__init__(file_path, lock_obj)
        self._lock_obj = lock_obj
        self._good_offset: dict[int, tuple[int, int]] = {0: (0, 1)}  # good log number -> (byte offset, line number)

    def read_logs(self, log_number_from: int):
        start = log_number_from if log_number_from in self._good_offset else 0
        offset, line_no = self._good_offset[start]
        with open(self._file_path, "rb") as f:
            end = os.fstat(f.fileno()).st_size  # what was there when reading began; appends go on meanwhile
            f.seek(offset)
            number = start
            for line in f:
                if offset + len(line) > end or not line.endswith(b"\n"):
                    break  # a line being written, or a cut last line: not a record (yet)
                offset += len(line)
                record = _decode(line, JOURNAL_OPS)
                if record is None:
                    self._warn(line_no, line)
                else:
                    number += 1
                    self._good_offset.setdefault(number, (offset, line_no + 1))
                    if number > log_number_from:
                        yield record
                line_no += 1

    def _warn(self, line_no: int, line: bytes) -> None:
        key = (os.path.abspath(self._file_path), line_no)
        if key not in _warned:
            _warned.add(key)
            log.warning(
                "%s line %d is damaged (%d bytes, starting %r) and is skipped; every other record is read. "
                "`amtlocal doctor` reports and repairs the store",
                self._file_path,
                line_no,
                len(line),
                line[:40],
            )

    def append_logs(self, logs) -> None:
        data = "".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in logs).encode("utf-8")
        self._lock_obj.acquire()
        try:
            drop_partial_last_line(self._file_path, None)  # under the lock already
            with open(self._file_path, "ab") as f:  # as Optuna's: one write, flushed and fsynced
                f.write(data)
                f.flush()
                if not getattr(_unsynced, "depth", 0):  # see unsynced_appends()
                    os.fsync(f.fileno())
        finally:
            self._lock_obj.release()
