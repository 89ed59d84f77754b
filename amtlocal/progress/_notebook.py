"""The notebook display: one output per job, updated in place through IPython's display protocol.

It uses ``display(..., display_id=True)`` and ``update_display``, the protocol Jupyter, JupyterLab, VS Code and
SageMaker Studio implement for every kernel output, with a ``text/plain`` line and a small ``text/html`` block (an
HTML ``<progress>`` bar). tqdm's and rich's notebook bars are ipywidgets: without ipywidgets installed they warn or
show nothing, and a saved notebook (or its nbconvert HTML) keeps no picture of them offline. IPython is imported only
when a notebook is running, where it is already loaded.
"""

from __future__ import annotations

import html
import logging

from amtlocal.progress._base import ProgressDisplay
from amtlocal.progress._snapshot import Snapshot

log = logging.getLogger("amtlocal")

_COLORS = {"Completed": "#4c9a2a", "Failed": "#d62728", "Stopped": "#ff7f0e"}


def _html(snap: Snapshot, final: bool) -> str:
    text = html.escape(snap.summary() if final else snap.line())
    if snap.kind == "training job" or not snap.total:
        bar = (
            f'<progress style="width: 16em; vertical-align: middle"{"" if not final else " value=1 max=1"}></progress>'
        )
    else:
        value = f'value="{snap.done or 0}" max="{snap.total}"'
        bar = f'<progress style="width: 16em; vertical-align: middle" {value}></progress>'
    color = _COLORS.get(snap.status, "#333") if final else "#333"
    return (
        f'<div class="amtlocal-progress" style="font-family: ui-monospace, Menlo, Consolas, monospace; '
        f'font-size: 12px; color: {color}">{bar} {text}</div>'
    )


class NotebookDisplay(ProgressDisplay):
    """One output updated in place; it ends with the summary line (``text/plain``) and a filled bar."""

    def __init__(self) -> None:
        self._handle = None
        self._last: dict[str, str] | None = None

    def _show(self, bundle: dict[str, str]) -> None:
        if bundle == self._last:
            return
        self._last = bundle
        try:
            from IPython.display import display

            if self._handle is None:
                self._handle = display(bundle, raw=True, display_id=True)
            else:
                self._handle.update(bundle, raw=True)
        except Exception:  # noqa: BLE001 - a display problem never fails the job
            log.debug("notebook progress display failed", exc_info=True)

    def update(self, snap: Snapshot) -> None:
        self._show({"text/plain": snap.line(), "text/html": _html(snap, final=False)})

    def close(self, snap: Snapshot | None) -> None:
        if snap is not None:
            self._show(
                {
                    "text/plain": snap.summary() if snap.ended else snap.line(),
                    "text/html": _html(snap, final=snap.ended),
                }
            )
