"""Issue 16, kind 6: the report draws every chart whatever characters a metric or hyperparameter name holds (quote,
double quote, backslash, dot, brackets), and a chart that cannot be drawn says so in the page."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pytest

from amtlocal.testing import make_request, run_job, use_script

METRIC = 'va\'l "f1" \\ a.b[0]'
HP = 'l\'r "x" \\ c.d[1]'
CAT = "o[p]t.'\"\\"
SCRIPT = r"""
import sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
lr = float(args["--l'r \"x\" \\ c.d[1]"])
bonus = {"a": 0.1, "b": 0.0}[args["--o[p]t.'\"\\"]]
for e in (1, 2, 3):
    print(f"score= {lr * e / 3 + bonus:.4f}", flush=True)
"""


@pytest.fixture(scope="module")
def odd_report(tmp_path_factory):
    from amtlocal.backends.local import LocalBackend, LocalStore
    from amtlocal.viz import write_report

    root = tmp_path_factory.mktemp("odd")
    (root / "code").mkdir()
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("1,2\n")
    use_script(root, SCRIPT)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AMTLOCAL_HOME", str(root / "home"))
        store = LocalStore(root / "home")
        req = make_request(
            "odd",
            metrics=({"Name": METRIC, "Regex": r"score= ([0-9.]+)"},),
            objective=METRIC,
            max_jobs=4,
            continuous=[(HP, 0.1, 0.9, "Linear")],
            categorical=[(CAT, ["a", "b"])],
        )
        desc = run_job(req, root, store)
        assert desc["HyperParameterTuningJobStatus"] == "Completed", desc
        path = write_report(["odd"], root / "report.html", backend=LocalBackend(store=store))
    return path


def _spec(path: Path) -> dict:
    return json.loads(re.search(r"const spec = (\{.*?\});\n", path.read_text(encoding="utf-8"), re.S).group(1))


def test_odd_names_compile_to_vega_with_their_data(odd_report):
    import vl_convert as vlc

    from amtlocal.viz._report import _vl_version

    spec = _spec(odd_report)
    vega = vlc.vegalite_to_vega(spec, vl_version=_vl_version())
    assert vega["marks"]
    # the charts of the odd names are there, titled with the names as written
    text = json.dumps(spec)
    assert json.dumps(f"{METRIC} vs {HP}")[1:-1] in text and json.dumps(f"{METRIC} per {CAT}")[1:-1] in text
    # and the data reaches the marks: the SVG draws a point per scored training job in the scatter of HP
    svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version())
    assert svg.count("<path") > 20


def test_vl_field_escapes_every_accessor_character():
    from amtlocal.viz._charts import vl_field

    assert vl_field("a'b\"c\\d.e[f]") == "a\\'b\\\"c\\\\d\\.e\\[f\\]"


def _probe(tmp_path: Path, page: Path) -> tuple[dict, str]:
    """Open a probed copy of ``page`` in headless chromium (tests/viz_assets/probe.js); (probe, dumped DOM)."""
    from test_viz_report import PROBE, chromium

    probed = tmp_path / "probed.html"
    probed.write_text(
        page.read_text(encoding="utf-8").replace("<head>", "<head>\n<script>" + PROBE.read_text() + "</script>", 1),
        encoding="utf-8",
    )
    r = chromium(tmp_path, "--dump-dom", probed.as_uri())
    assert r.returncode == 0, r.stderr[-3000:]
    found = re.findall(r'<pre id="__amtlocal_probe" style="display: none;">(.*?)</pre>', r.stdout, re.S)
    assert found, r.stdout[-2000:]
    return json.loads(htmllib.unescape(found[-1])), r.stdout


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium is not installed")
def test_odd_names_render_in_headless_chromium(odd_report, tmp_path):
    probe, dom = _probe(tmp_path, odd_report)
    assert probe.get("done"), probe
    assert probe["errors"] == [], probe["errors"]
    assert probe["svg"] >= 1 and probe["marks"] > 100, probe
    assert 'class="note chart-error"' not in dom


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium is not installed")
def test_a_chart_that_cannot_be_drawn_says_so_in_the_page(odd_report, tmp_path):
    text = odd_report.read_text(encoding="utf-8")
    spec = _spec(odd_report)
    broken = dict(spec, vconcat=[{"mark": "point", "encoding": {"x": {"field": "a'b", "type": "quantitative"}}}])
    page = tmp_path / "broken.html"
    page.write_text(
        text.replace(json.dumps(spec), json.dumps(broken))
        if json.dumps(spec) in text
        else re.sub(
            r"const spec = \{.*?\};\n", lambda _: f"const spec = {json.dumps(broken)};\n", text, count=1, flags=re.S
        ),
        encoding="utf-8",
    )
    probe, dom = _probe(tmp_path, page)
    notes = re.findall(r'<p class="note chart-error">(.*?)</p>', dom, re.S)
    assert len(notes) == 1 and notes[0].startswith("The charts could not be drawn: ") and "quote" in notes[0], notes
