"""Charts that display offline in Jupyter, JupyterLab, VS Code and SageMaker Studio.

Altair's default renderer sends ``text/html`` that loads vega, vega-lite and vega-embed from a CDN, so without a
network a notebook shows nothing. The charts :func:`~amtlocal.viz.visualize_tuning_job` returns carry their own
``_repr_mimebundle_`` instead: ``text/html`` with vl-convert-python's vega-embed bundle inline (the same bundle as the
offline report) and ``text/plain`` with the text summary. Only these charts change: Altair's global renderer, and so
the user's other charts, stay as the user set them.

The bundle declares top-level ``const`` names, so it runs inside a function (a second chart in the same page would
otherwise fail to redeclare them) and only when the page has no ``vegaEmbed`` yet; every output still carries it, so a
saved notebook (or its nbconvert HTML) draws each chart on its own, offline.
"""

from __future__ import annotations

import html
import uuid
from typing import Any

from amtlocal.viz._report import EMBED_OPTIONS, _bundle, _script_json, _vl_version

_STYLE = (
    "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; margin: 0 0 8px 0; "
    "white-space: pre-wrap; color: #333"
)


def chart_html(spec: dict[str, Any], summary: list[str] | None = None) -> str:
    """An HTML fragment that draws the Vega-Lite ``spec`` with no network: the summary lines (escaped), a div, the
    inline vega-embed bundle (run once per page), and the ``vegaEmbed`` call (SVG renderer, as the report)."""
    div = f"amtlocal-viz-{uuid.uuid4().hex[:12]}"
    text = (
        f'<pre class="amtlocal-summary" style="{_STYLE}">{html.escape(chr(10).join(summary))}</pre>\n'
        if summary
        else ""
    )
    return (
        f'<div class="amtlocal-viz">\n{text}<div id="{div}" class="amtlocal-chart"></div>\n'
        '<script type="text/javascript">\n'
        "if (typeof window.vegaEmbed !== 'function') { (function () {\n"
        f"{_bundle(_vl_version())}\n"
        "})(); }\n"
        f'vegaEmbed("#{div}", {_script_json(spec)}, {_script_json(EMBED_OPTIONS)})'
        ".catch(function (err) { console.error(err); });\n"
        "</script>\n</div>"
    )


class OfflineChartMixin:
    """Gives an Altair top-level chart an offline notebook display (see the module docstring) and a text summary.

    ``amtlocal_summary``: the lines of :func:`~amtlocal.viz._summary.summary_lines`, shown above the chart and as the
    ``text/plain`` representation.
    """

    amtlocal_summary: list[str] = []

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        spec = self.to_dict()  # type: ignore[attr-defined]
        plain = "\n".join(self.amtlocal_summary) or repr(self)
        return {"text/html": chart_html(spec, self.amtlocal_summary), "text/plain": plain}


def offline(chart: Any, summary: list[str] | None = None) -> Any:
    """``chart`` itself, with the offline display of :class:`OfflineChartMixin` (its class becomes a subclass of its
    own Altair class, so ``isinstance`` checks and every Altair method keep working, copies included).

    The summary is stored on the class made for this chart, not on the instance: Altair sends every instance
    attribute to the Vega-Lite spec.
    """
    base = type(chart)
    if issubclass(base, OfflineChartMixin):
        base = next(c for c in base.__mro__[1:] if not issubclass(c, OfflineChartMixin))
    cls = type(f"Offline{base.__name__}", (OfflineChartMixin, base), {"amtlocal_summary": list(summary or [])})
    object.__setattr__(chart, "__class__", cls)  # Altair's own __setattr__ would put it into the spec
    return chart
