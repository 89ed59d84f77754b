"""What a fork server learns from its first finished training jobs, and how its spares use it (see ``_zygote.py``).

- Modules: the first job that exits 0 reports the modules it imported beyond what the zygote had (installed packages
  only: never modules of the job's own code folder); the zygote imports them too (at most :data:`LEARN_ROUNDS`
  rounds, each on a new memory map).
- Pages: then a job reports which of the zygote's memory pages it wrote (its private copy-on-write copies, read from
  ``/proc/self/pagemap``); each spare copies those pages ahead (``MADV_POPULATE_WRITE``, Linux >= 5.14) while it waits
  for its job, instead of taking a page fault on each during the job.

Standard library only: it runs in the zygote, which imports nothing of amtlocal.
"""

from __future__ import annotations

import json
import os
import sys

TYPE_CHECKING = False  # mypy takes it as True; the zygote does not import typing (children would inherit it)
if TYPE_CHECKING:
    from typing import IO

LEARN_ROUNDS = 2  # rounds of importing modules learned from a finished job (each also replaces the spare)
MAX_HOT_BYTES = 512 << 20  # most memory a spare copies ahead
MADV_POPULATE_WRITE = 23  # <linux/mman.h>, Linux >= 5.14
regions: list[tuple[int, int]] = []  # the zygote's private writable mappings (start, end), as its children inherit them
_madvise = None  # libc's madvise, once there are pages to copy ahead


def note_regions() -> None:
    """Record the zygote's memory map (after its imports): what children inherit and a teacher reports on."""
    global regions
    regions = private_regions()


def teach(fd: int, before: set[str], cwd: str) -> None:
    """Write what this finished job learned for the zygote to the report file ``fd`` (an unlinked temporary file the
    zygote holds: nothing is left on disk whatever happens): ``{"modules": [...], "hot": [[address, length]...]}``."""
    try:
        modules = []
        own = os.path.join(os.path.realpath(cwd), "")
        for name in sorted(set(sys.modules) - before):
            module = sys.modules.get(name)
            if name == "__main__" or module is None or getattr(module, "__spec__", None) is None:
                continue
            file = getattr(module, "__file__", None)
            if file and os.path.realpath(file).startswith(own):
                continue  # the job's own code (its copy of the code folder) is never preloaded
            modules.append(name)
        data = json.dumps({"modules": modules, "hot": written_pages()}).encode()
        while data:
            data = data[os.write(fd, data) :]
    except Exception:  # noqa: BLE001 - learning is an optimisation; a job never fails for it
        pass


def written_pages() -> list[list[int]]:
    """Runs [address, length] of the zygote's pages this process holds a private copy of (pagemap bits 63 and 56:
    present and exclusively mapped), i.e. the pages a job writes; empty where pagemap cannot be read."""
    if not sys.platform.startswith("linux") or not regions:
        return []
    import array

    page = os.sysconf("SC_PAGE_SIZE")
    runs: list[list[int]] = []
    total = 0
    try:
        with open("/proc/self/pagemap", "rb", buffering=0) as f:
            for start, end in regions:
                n = (end - start) // page
                f.seek(start // page * 8)
                entries = array.array("Q")
                entries.frombytes(f.read(n * 8))
                first = None
                for i, e in enumerate(entries):
                    hot = (e >> 63) & 1 and (e >> 56) & 1
                    if hot and first is None:
                        first = i
                    elif not hot and first is not None:
                        runs.append([start + first * page, (i - first) * page])
                        total += (i - first) * page
                        first = None
                if first is not None:
                    runs.append([start + first * page, (n - first) * page])
                    total += (n - first) * page
                if total > MAX_HOT_BYTES:
                    break
    except OSError:
        return []
    return runs


def private_regions() -> list[tuple[int, int]]:
    """The private writable mappings of this process (heap, anonymous memory, libraries' data), not the stack."""
    if not sys.platform.startswith("linux"):
        return []
    out = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                perms = parts[1]
                name = parts[5] if len(parts) > 5 else ""
                if perms[:2] != "rw" or perms[3] != "p" or (name.startswith("[") and name != "[heap]"):
                    continue
                start, end = (int(x, 16) for x in parts[0].split("-"))
                out.append((start, end))
    except OSError:
        return []
    return out


def copy_ahead(hot: list[list[int]]) -> None:
    """In a spare: fault in (copy) the pages a job is expected to write. Errors are ignored: a range that is no
    longer mapped or writable is simply not copied."""
    if _madvise is None:
        return
    for address, length in hot:
        _madvise(address, length, MADV_POPULATE_WRITE)


class Learner:
    """What the zygote learns from finished jobs: modules to import, then pages to copy ahead (see the module doc)."""

    def __init__(self, reload):
        self._reload = reload  # imports modules into the zygote and settles it (see _zygote._settle)
        self.hot: list[list[int]] | None = None  # None: still learning
        self.rounds = 0
        self.teacher: tuple[int, IO[bytes]] | None = None  # (pid, report file) of the job that reports what it learned
        self.report: IO[bytes] | None = None  # the report file of the next teacher (an unlinked temporary file)

    def enrol(self, request: dict) -> int | None:
        """When a teacher is needed, make this request's job the one (``request["_learn"]``) and return the fd of
        its report file, which the job gets as ``request["_learn_fd"]`` (inherited, or passed to a spare)."""
        if self.teacher is None and self.hot is None:
            import tempfile

            self.report = tempfile.TemporaryFile()
            request["_learn"] = True
            return self.report.fileno()
        return None

    def started(self, pid: int, request: dict) -> None:
        if request.get("_learn"):
            assert self.report is not None  # enrol() made it for this request
            self.teacher, self.report = (pid, self.report), None

    def forget(self) -> None:
        """The teacher failed: its report (if any) is not used; the next job teaches."""
        if self.teacher is not None:
            self.teacher[1].close()
            self.teacher = None

    def learn(self) -> bool:
        """Read the teacher's report (it has been reaped); True when the zygote changed (the spare is stale)."""
        global _madvise
        assert self.teacher is not None, "learn() is for the teacher's end"
        report_file = self.teacher[1]
        self.teacher = None
        try:
            report_file.seek(0)
            report = json.loads(report_file.read() or b"null")
        except (OSError, ValueError):
            report = None
        finally:
            report_file.close()
        if not report:
            return False
        known = set(sys.modules)
        new = [m for m in report.get("modules", []) if m not in known]
        if new and self.rounds < LEARN_ROUNDS:
            self.rounds += 1
            self._reload(new)
            return True  # the next job teaches again, on the new memory map
        hot = report.get("hot") or []
        if hot and _madvise is None:
            try:
                import ctypes

                fn = ctypes.CDLL(None, use_errno=True).madvise
                fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
                _madvise = fn
            except (OSError, AttributeError):
                hot = []
        self.hot = hot
        return bool(hot)
