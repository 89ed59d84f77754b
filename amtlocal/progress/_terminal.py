"""The terminal display (stderr is a tty): one line redrawn in place, then the summary line; and the log display."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from amtlocal.progress._base import ProgressDisplay
from amtlocal.progress._snapshot import Snapshot

log = logging.getLogger("amtlocal")


class TerminalDisplay(ProgressDisplay):
    """The CLI's progress line on stderr, redrawn in place (``\\r`` + erase line), then the summary on its own line.

    A terminal is a display, not a log: this writes to the terminal as tqdm does rather than through logging.
    """

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self._last = ""

    def update(self, snap: Snapshot) -> None:
        line = snap.line()
        if line == self._last:
            return
        self._last = line
        try:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal never fails the job
            pass

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Erase the line (log records written meanwhile start at the line's beginning), then draw it again."""
        try:
            if self._last:
                self.stream.write("\r\033[K")
                self.stream.flush()
        except (OSError, ValueError):
            pass
        try:
            yield
        finally:
            try:
                if self._last:
                    self.stream.write(self._last)
                    self.stream.flush()
            except (OSError, ValueError):
                pass

    def close(self, snap: Snapshot | None) -> None:
        try:
            if snap is not None and snap.ended:
                self.stream.write(("\r\033[K" if self._last else "") + snap.summary() + "\n")
            elif self._last:
                self.stream.write("\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass


class LogDisplay(ProgressDisplay):
    """Neither a notebook nor a terminal (a batch job, a CI log): a start line and an end line, at INFO on the
    ``amtlocal`` logger; nothing in between."""

    live = False

    def __init__(self) -> None:
        self._started = False

    def update(self, snap: Snapshot) -> None:
        if not self._started:
            self._started = True
            total = f", up to {snap.total} training jobs" if snap.total else ""
            log.info("%s %s: started%s", snap.kind.capitalize(), snap.name, total)

    def close(self, snap: Snapshot | None) -> None:
        if snap is not None and snap.ended:
            log.info("%s", snap.summary())
