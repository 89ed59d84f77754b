"""``amtlocal report``: one self-contained HTML file (summary table, then the charts) that opens offline.

The browser test drives Debian's /usr/bin/chromium with its own CLI flags (``--dump-dom``, ``--screenshot``) with
the network off (a network namespace when ``unshare`` allows one, and always a dead proxy plus a resolver that
resolves nothing). It skips only when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import argparse
import html as htmllib
import json
import os
import re
import signal
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from test_viz import JOBS, viz_jobs  # noqa: F401  (the session fixture with the three warm-started jobs)

CHROMIUM = Path("/usr/bin/chromium")
PROBE = Path(__file__).parent / "viz_assets" / "probe.js"


@pytest.fixture(scope="session")
def report(viz_jobs, tmp_path_factory):  # noqa: F811
    """report.html (+ report.png) of viz-grand and its warm-start ancestors."""
    from amtlocal.viz import write_report

    path = write_report(
        ["viz-grand"], tmp_path_factory.mktemp("report") / "out" / "report.html", backend=viz_jobs[0], png=True
    )
    return path


def test_report_is_one_self_contained_file(report):
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]*\bsrc=", text) and not re.search(r"<link\b", text)  # nothing loaded
    assert "cdn.jsdelivr" not in text and "unpkg.com" not in text
    assert "vegaEmbed(" in text and "window.vegaEmbed=" in text  # the bundle is inline
    spec = json.loads(re.search(r"const spec = (\{.*?\});\n", text, re.S).group(1))
    assert {"scored", "trials", "metrics", "importance", "parallel"} <= set(spec["datasets"])  # data inline too
    assert [p["name"] for p in spec["params"]] == ["brush", "hover"]


def test_summary_table_on_top(report, viz_jobs):  # noqa: F811
    from amtlocal.viz._data import gather
    from amtlocal.viz._report import summary_rows

    text = report.read_text(encoding="utf-8")
    start = text.index('<table class="summary">')
    table = text[start : text.index("</table>", start)]
    assert text.index('<table class="summary">') < text.index('<div id="amtlocal-charts">')
    head = re.findall(r"<th>(.*?)</th>", table)
    assert head == [
        "Tuning job",
        "Status",
        "Strategy",
        "Warm start from",
        "Training jobs",
        "Best f1",
        "Best hyperparameters",
        "Best training job",
        "Wall time",
    ]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert len(rows) == 3
    cells = [
        [htmllib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
    ]
    assert [c[0].split()[0] for c in cells] == list(JOBS)
    assert [c[0].endswith("(parent)") for c in cells] == [True, True, False]
    assert [c[2] for c in cells] == ["Random", "Bayesian", "Random"] and [c[3] for c in cells] == [
        "-",
        "viz-random",
        "viz-bayes",
    ]
    assert cells[0][4].startswith("6 (") and "failed" in cells[0][4]
    data = gather("viz-grand", backend=viz_jobs[0], trials_only=True)
    for row, facts in zip(cells, summary_rows(data)):
        best = data.trials[data.trials["TuningJobName"] == facts["name"]]["f1"].max()
        assert facts["best_value"] == pytest.approx(best) and row[5] == f"{best:.6g}"
        assert row[6].startswith("layers=") and "lr=" in row[6] and "optimizer=" in row[6]
        assert row[7] == facts["best_training_job"] and re.fullmatch(r"\d+:\d\d:\d\d", row[8])


def read_png(path: Path) -> tuple[int, int, list[bytes], int]:
    """(width, height, unfiltered rows, bytes per pixel) of an 8-bit, non-interlaced RGB/RGBA/grey PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0, (depth, interlace)
            bpp = {0: 1, 2: 3, 4: 2, 6: 4}[color]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def ink(rows: list[bytes], bpp: int, y0: int = 0, y1: int | None = None) -> tuple[float, int]:
    """(fraction of non-white pixels, number of distinct colours) in rows y0..y1 (sampled every 2nd pixel)."""
    dark, total, colours = 0, 0, set()
    for row in rows[y0:y1]:
        for x in range(0, len(row), 2 * bpp):
            px = row[x : x + min(bpp, 3)]
            total += 1
            colours.add(px)
            dark += min(px) < 235
    return dark / max(total, 1), len(colours)


@pytest.mark.slow
def test_png_written_by_vl_convert(report):
    png = report.with_suffix(".png")
    width, height, rows, bpp = read_png(png)
    assert width > 800 and height > 1500
    frac, colours = ink(rows, bpp)
    assert frac > 0.03 and colours > 30


def test_cli_report_subcommand(viz_jobs, tmp_path, capsys):  # noqa: F811
    from amtlocal.cli._report import register as register_cli

    backend, home = viz_jobs
    parser = argparse.ArgumentParser(prog="amtlocal")  # the global options amtlocal's parser has
    parser.add_argument("--backend", default=None)
    parser.add_argument("--home", default=None)
    parser.add_argument("--storage", default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    register_cli(sub)
    out = tmp_path / "r" / "viz.html"
    args = parser.parse_args(
        [
            "--home",
            str(home),
            "--storage",
            f"sqlite:///{home / 'store.db'}",
            "report",
            "viz-bayes",
            "-o",
            str(out),
            "--trials-only",
        ]
    )
    assert args.func(args) == 0
    assert capsys.readouterr().out.split() == [str(out)]
    text = out.read_text(encoding="utf-8")
    assert "viz-bayes" in text and "viz-random" in text and not out.with_suffix(".png").exists()
    spec = json.loads(re.search(r"const spec = (\{.*?\});\n", text, re.S).group(1))
    assert "metrics" not in spec["datasets"]  # --trials-only: no learning curves


@pytest.mark.slow
def test_amtlocal_report_command_when_registered(viz_jobs, tmp_path):  # noqa: F811
    import sys

    from amtlocal import cli

    parser = cli.build_parser()
    choices = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "report" not in choices:
        pytest.skip("amtlocal.cli does not register the report subcommand yet (amtlocal.cli._report.register)")
    backend, home = viz_jobs
    out = tmp_path / "cli.html"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "amtlocal",
            "--home",
            str(home),
            "--storage",
            f"sqlite:///{home / 'store.db'}",
            "report",
            "viz-grand",
            "-o",
            str(out),
            "--png",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr
    assert out.exists() and out.with_suffix(".png").exists()
    r = subprocess.run(
        [sys.executable, "-m", "amtlocal", "--home", str(home), "report", "no-such-job", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "no-such-job" in r.stderr and "Traceback" not in r.stderr


# -- the browser ---------------------------------------------------------------------------------------------------
def _no_network_prefix() -> list[str]:
    """``unshare`` into an empty network namespace when this machine allows it (else rely on the flags alone)."""
    for prefix in (["unshare", "-rn"], ["unshare", "-n"]):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.SubprocessError):
            continue
    return []


def chromium(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run headless chromium with the network off; its whole process group is ended afterwards."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [
        *_no_network_prefix(),
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        "--disable-default-apps",
        "--mute-audio",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=20000",
        "--window-size=1400,3000",
        *args,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # only the group this test started
        except ProcessLookupError:
            pass
        if proc.returncode is None:
            proc.communicate()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def page_console(stderr: str) -> list[str]:
    """Console messages of our page (chromium logs them as INFO:CONSOLE ... source: file://...)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line and "source: file://" in line]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_report_renders_offline_in_headless_chromium(report, tmp_path):
    # 1. a probed copy: console, loads, rendered marks, then a hover and a brush
    text = report.read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(text.replace("<head>", "<head>\n<script>" + PROBE.read_text() + "</script>", 1), encoding="utf-8")
    r = chromium(tmp_path, "--dump-dom", probed.as_uri())
    assert r.returncode == 0, r.stderr[-3000:]
    found = re.findall(r'<pre id="__amtlocal_probe" style="display: none;">(.*?)</pre>', r.stdout, re.S)
    assert found, r.stdout[-2000:]
    probe = json.loads(htmllib.unescape(found[-1]))
    assert probe.get("done"), probe
    assert probe["errors"] == [] and probe["warnings"] == [], probe
    assert page_console(r.stderr) == []
    assert all(not u.startswith(("http:", "https:")) for u in probe["resources"]), probe["resources"]
    assert probe["svg"] >= 1 and probe["marks"] > 300, probe  # the charts drew (SVG renderer)
    # hover: exactly the hovered training job is outlined, in every view that draws it as a point/bar
    assert probe["litBefore"] == 0 and probe["hovered"]
    assert set(probe["lit"]) == {probe["hovered"]} and len(probe["lit"]) >= 6, probe["lit"]
    # brush on start time: the lr scatter dims the training jobs outside the interval, keeps the others
    assert set(probe["opacityBefore"]) == {"0.9"}
    assert "0.15" in probe["opacityAfter"] and "0.9" in probe["opacityAfter"], probe["opacityAfter"]

    # 2. the report itself, as a screenshot: not blank, charts below the summary table
    shot = tmp_path / "report.png"
    r = chromium(tmp_path, f"--screenshot={shot}", report.as_uri())
    assert r.returncode == 0 and shot.exists(), r.stderr[-3000:]
    assert page_console(r.stderr) == []
    width, height, rows, bpp = read_png(shot)
    assert (width, height) == (1400, 3000)
    frac, colours = ink(rows, bpp)
    assert frac > 0.03 and colours > 30, (frac, colours)
    frac_charts, _ = ink(rows, bpp, 600, 2600)
    assert frac_charts > 0.02, frac_charts
