"""The example notebook (examples/digits_workflow.ipynb), executed by nbclient in a fresh kernel, then exported to
HTML by nbconvert and rendered in headless Chromium with the network off.

It runs once per session with small budgets (6 training jobs per tuning job, 2 at a time; 3 for the warm start).
Every display message the kernel sends is recorded (tests/notebook_runner.py), so the test sees the progress output
change during ``wait()``, not only its final state. The kernel is the one of this Python (jupyter_client's native
``python3`` kernel spec); it runs in a network namespace with only loopback when the machine allows one.
"""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "digits_workflow.ipynb"

nbformat = pytest.importorskip(
    "nbformat", reason="the test extras (nbformat, nbclient, nbconvert, ipykernel) are needed"
)
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _offline_prefix() -> list[str]:
    """Run in a new network namespace with only loopback up (the kernel and nbclient talk over it), when the machine
    allows unprivileged namespaces; else no prefix (the notebook then runs offline by construction only)."""
    probe = ["unshare", "-rn", "sh", "-c", "ip link set lo up"]
    try:
        if subprocess.run(probe, capture_output=True, timeout=10).returncode == 0:
            return ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
    except (OSError, subprocess.SubprocessError):
        pass
    return []


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """(notebook after execution, recorded messages, working folder); executed with the network off."""
    work = tmp_path_factory.mktemp("notebook")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = (
        f"TRAINING = {str(ROOT / 'training')!r}\nDATA = {str(work / 'data')!r}\nMAX_JOBS = 6\nPARALLEL = 2\n"
    )
    nbformat.write(nb, work / "in.ipynb")
    env = {
        k: v for k, v in os.environ.items() if k not in ("AMTLOCAL_PROGRESS", "AMTLOCAL_BACKEND", "AMTLOCAL_STORAGE")
    }
    env["AMTLOCAL_HOME"] = str(work / "home")
    runner = [sys.executable, str(Path(__file__).parent / "notebook_runner.py")]
    args = [str(work / "in.ipynb"), str(work / "out.ipynb"), str(work / "messages.json"), str(work)]
    r = subprocess.run([*_offline_prefix(), *runner, *args], env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]
    messages = [tuple(m) for m in json.loads((work / "messages.json").read_text())]
    return nbformat.read(work / "out.ipynb", as_version=4), messages, work


def test_the_notebook_runs_with_the_network_off():
    """The fixture's namespace really has no route out (so the notebook's results were made offline)."""
    prefix = _offline_prefix()
    if not prefix:
        pytest.skip("this machine allows no unprivileged network namespace (unshare -rn)")
    code = "\n".join(
        [
            "import socket",
            "try:",
            " socket.create_connection(('1.1.1.1', 443), 3)",
            "except OSError as e:",
            " print(e.errno)",
        ]
    )
    r = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "101", (r.stdout, r.stderr)  # ENETUNREACH


def _cell_index(nb, needle: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and needle in _source(c))


@pytest.mark.slow
def test_notebook_runs_without_error_or_warning(executed):
    nb, messages, work = executed
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            assert out.output_type != "error", (i, _source(cell), out.get("ename"), out.get("evalue"))
            assert not (out.output_type == "stream" and out.name == "stderr"), (i, _source(cell), out.text)
            text = json.dumps(out.get("data", {})) + out.get("text", "")
            assert "Warning" not in text and "IProgress" not in text, (i, text[:500])
    statuses = nb.cells[-1].outputs[-1]["data"]["text/plain"]
    assert re.findall(r"'(digits-[a-z]+-[^']+)': '(\w+)'", statuses) and set(re.findall(r": '(\w+)'", statuses)) == {
        "Completed"
    }
    assert (work / "report.html").exists()


@pytest.mark.slow
def test_one_training_job_completed(executed):
    nb, _, _ = executed
    outs = nb.cells[_cell_index(nb, "estimator.fit(")].outputs
    progress = [o for o in outs if o.output_type == "display_data"]
    assert len(progress) == 1, outs  # one live output, ended by its summary
    summary = progress[0]["data"]["text/plain"]
    assert re.match(r"digits-rf-\S+: Completed in \d:\d\d:\d\d; .*valid-f1 0\.\d+", summary), summary
    shown = next(o for o in outs if o.output_type == "execute_result")["data"]["text/plain"]  # the estimator's repr
    assert "Status: Completed" in shown and re.search(r"valid-f1: 0\.\d+", shown), shown


@pytest.mark.slow
def test_wait_shows_a_progress_output_that_changes_and_ends_with_the_summary(executed):
    nb, messages, _ = executed
    i = _cell_index(nb, "random_tuner.wait()")
    shown = [
        m["data"]["text/plain"]
        for cell, kind, m in messages
        if cell == i and kind in ("display_data", "update_display_data")
    ]
    assert len(shown) >= 2 and len(set(shown)) >= 2, shown  # it changed during the run
    assert re.search(r"\d/6 training jobs done, \d running", shown[0]), shown[0]
    final = nb.cells[i].outputs
    assert len(final) == 1 and final[0].output_type == "display_data", final  # one output, updated in place
    summary = final[0]["data"]["text/plain"]
    assert re.fullmatch(
        r"digits-random-\S+: Completed in \d:\d\d:\d\d; 6 training jobs \(\d completed(, \d failed)?\); "
        r"best valid-f1 0\.\d+ \(digits-random-\S+\)",
        summary,
    ), summary
    assert "<progress" in final[0]["data"]["text/html"]


@pytest.mark.slow
def test_fit_with_wait_shows_progress_from_the_backends_callbacks(executed):
    nb, messages, _ = executed
    i = _cell_index(nb, "warm_tuner.fit(")
    shown = [m["data"]["text/plain"] for cell, kind, m in messages if cell == i and kind == "update_display_data"]
    assert shown and re.search(r"Completed in .*; 6 training jobs", shown[-1]), shown


@pytest.mark.slow
def test_charts_are_offline_html_with_a_summary(executed):
    nb, _, _ = executed
    charts = [
        (i, o)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "visualize_tuning_job(" in _source(c)
        for o in c.outputs
        if o.output_type == "execute_result"
    ]
    assert len(charts) == 3
    for _, out in charts:
        assert set(out["data"]) == {"text/html", "text/plain"}, out["data"].keys()
        page = out["data"]["text/html"]
        assert not re.search(r"<script[^>]*\bsrc=", page) and "cdn.jsdelivr" not in page
        assert "vegaEmbed(" in page
    early = charts[0][1]["data"]["text/plain"]
    assert "status: InProgress" in early or "Pending" in early or "status: Completed" in early
    assert "Number of training jobs with valid objective: 12" in charts[1][1]["data"]["text/plain"]


@pytest.mark.slow
def test_tuner_repr_html(executed):
    nb, _, work = executed
    i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _source(c).strip() == "random_tuner")
    data = nb.cells[i].outputs[0]["data"]
    assert "Best training job" in data["text/html"] and "Completed" in data["text/html"]
    assert str(work / "home" / "jobs") in htmllib.unescape(data["text/html"])


# -- rendered offline ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def exported(executed, tmp_path_factory):
    from nbconvert import HTMLExporter

    nb, _, _ = executed
    body, _ = HTMLExporter().from_notebook_node(nb)
    path = tmp_path_factory.mktemp("export") / "digits_workflow.html"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.browser
@pytest.mark.slow
def test_exported_notebook_renders_every_chart_offline_in_chromium(exported, tmp_path):
    from test_viz_report import CHROMIUM, chromium

    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    text = exported.read_text(encoding="utf-8")
    ids = re.findall(r'id="(amtlocal-viz-[0-9a-f]+)"', text)  # nbconvert may reorder the attributes
    assert len(ids) == 3
    r = chromium(tmp_path, "--dump-dom", exported.as_uri())
    assert r.returncode == 0, r.stderr[-3000:]
    dom = r.stdout
    marks = []
    for div in ids:
        start = dom.index(f'id="{div}"')
        end = dom.find('class="amtlocal-viz"', start)
        part = dom[start : end if end > 0 else len(dom)]
        assert "<svg" in part, (div, part[:500])  # vega-embed drew this chart (SVG renderer)
        marks.append(part.count("<path") + part.count("<text"))
    # the first chart may be a line of text (nothing started yet) or a timeline; the advanced dashboard draws hundreds
    assert marks[0] >= 1 and marks[1] > 300 and marks[2] > 100, marks
    # the page's own errors: a chart that failed would log "console.error"; nbconvert's CDN scripts may fail offline
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line and "amtlocal" in line]
    assert console == [], console


def test_notebook_file_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert sys.version_info >= (3, 10)


@pytest.mark.slow
def test_no_dependency_warning_in_a_kernel():
    """Optuna imports tqdm.auto, which warns "IProgress not found" in a kernel without ipywidgets; not with amtlocal."""

    def outputs(source: str) -> list[str]:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source)]
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        return [o.get("text", "") for o in nb.cells[0].outputs]

    probe = "import importlib.util; print('ipywidgets' if importlib.util.find_spec('ipywidgets') else 'none')"
    if outputs(probe) == ["none\n"]:  # the warning exists only without ipywidgets: show it does, then that it is gone
        assert any("IProgress not found" in t for t in outputs("import optuna"))
    assert outputs("import amtlocal\nimport optuna\nfrom amtlocal.viz import visualize_tuning_job") == []
