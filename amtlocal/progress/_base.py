"""The contract of a progress display."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator

from amtlocal.progress._snapshot import Snapshot


class ProgressDisplay(abc.ABC):
    """Shows one job's progress somewhere (a notebook output, a terminal line, a log).

    An implementation must provide :meth:`update` (called with every new :class:`Snapshot`, possibly from another
    thread than the caller's, never concurrently) and :meth:`close` (called once, with the last snapshot, when the
    job ended or the caller stopped waiting). Neither may raise for a display problem: progress is never worth
    failing a job over.
    """

    #: False when the display shows only the start and the end: no polling thread is run for it.
    live: bool = True

    @abc.abstractmethod
    def update(self, snap: Snapshot) -> None:
        """Show ``snap`` (in place of the previous one where the medium allows it)."""

    @abc.abstractmethod
    def close(self, snap: Snapshot | None) -> None:
        """End the display; show ``snap.summary()`` when the job ended (``snap`` None: nothing was learnt)."""

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """While the body writes to the same medium (a job's log lines through logging): take the display out of
        the way, then show it again. Nothing to do by default; a redrawn terminal line clears itself."""
        yield
