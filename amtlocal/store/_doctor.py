"""Checking and repairing a home's journal (``amtlocal doctor``): damaged lines, a cut tail, jobs without a tuner."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from amtlocal.store._schema import DAMAGED_SUFFIX, JOURNAL_OPS
from amtlocal.store._storage import _decode, journal_lock, keep_damaged


@dataclass
class JournalCheck:
    """What :func:`check_journal` found in a journal file.

    Attributes:
        path: the journal.
        records: complete, readable records.
        damaged: ``[(line number (1-based), byte offset, length)]`` of complete lines that are no record.
        cut_tail: bytes of a last line without its newline (a write cut short), 0 if none.
    """

    path: Path
    records: int = 0
    damaged: list[tuple[int, int, int]] = field(default_factory=list)
    cut_tail: int = 0

    @property
    def healthy(self) -> bool:
        return not self.damaged and not self.cut_tail


def check_journal(path: str | os.PathLike) -> JournalCheck:
    """Read journal ``path`` (never writes) and report its damage. A missing journal is healthy and empty."""
    check = JournalCheck(Path(path))
    if not check.path.exists():
        return check
    offset = 0
    with open(check.path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith(b"\n"):
                check.cut_tail = len(line)
                break
            if _decode(line, JOURNAL_OPS) is None:
                check.damaged.append((number, offset, len(line)))
            else:
                check.records += 1
            offset += len(line)
    return check


def repair_journal(path: str | os.PathLike) -> JournalCheck:
    """Take every damaged line and a cut tail out of journal ``path``, their bytes appended to ``<path>.damaged``
    (with their offsets), under the journal lock; the journal is rewritten atomically (a new file renamed over it).
    Call it only while no tuner runs on this home (``amtlocal doctor --repair`` checks). Returns what was found."""
    path = str(path)
    lock = journal_lock(path)
    lock.acquire()
    try:
        check = check_journal(path)
        if check.healthy:
            return check
        size = os.path.getsize(path)
        for _, start, length in check.damaged:
            keep_damaged(path, start, start + length)
        if check.cut_tail:
            keep_damaged(path, size - check.cut_tail, size)
        bad = {start for _, start, _ in check.damaged}
        tmp = path + ".repairing"
        with open(path, "rb") as src, open(tmp, "wb") as out:
            offset = 0
            for line in src:
                if line.endswith(b"\n") and offset not in bad:
                    out.write(line)
                offset += len(line)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        return check
    finally:
        lock.release()


def damaged_file(path: str | os.PathLike) -> Path:
    """Where damaged bytes taken out of journal ``path`` are kept."""
    return Path(str(path) + DAMAGED_SUFFIX)
