"""The HTML report in headless Chromium: the inline SVG charts and heatmap actually render."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from simulator.results.compare import compare_runs, load_run
from simulator.results.report import write_report
from tests.rundirs import make_run_dir

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium not installed (Debian: apt-get install -y chromium)"
    ),
]
TAB_BLUE = np.array([0x1F, 0x77, 0xB4])  # matplotlib tab10 colour of the first run's line


def chromium(profile, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    runs = [load_run(make_run_dir(root, f"lstm-s{s}", seed=s, n_days=60)) for s in range(2)]
    dates = runs[0].returns.index
    spy = pd.Series(np.random.default_rng(5).normal(0, 0.01, len(dates)), index=dates)
    out = root / "report.html"
    write_report(out, runs, compare_runs(runs, benchmark=spy), benchmark=spy)
    return root, out


def test_rendered_dom_has_the_charts(page):
    root, out = page
    dom = chromium(root / "profile-dom", "--dump-dom", out.as_uri()).stdout
    assert dom.count("<svg") == 3
    for section in ("equity", "drawdown", "positions"):
        svg = dom.split(f'<h2 id="{section}">')[1].split("</svg>")[0]
        paths = [p for p in svg.split("<path")[1:] if ' d="M ' in p]
        assert len(paths) >= 4, section  # frame, grid, and the data lines


def test_screenshot_shows_lines_and_heatmap(page):
    root, out = page
    shot = root / "shot.png"
    chromium(root / "profile-shot", "--window-size=1280,2600", f"--screenshot={shot}", out.as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (2600, 1280)
    non_white = (pixels.min(axis=2) < 240).mean()
    assert 0.01 < non_white < 0.6  # a page with content, not blank, not a solid block
    blue = (np.abs(pixels - TAB_BLUE).max(axis=2) < 40).sum()
    assert blue > 500  # the first run's line is drawn
    green = (pixels[:, :, 1] > pixels[:, :, 0] + 60) & (pixels[:, :, 1] > pixels[:, :, 2] + 60)
    red = (pixels[:, :, 0] > pixels[:, :, 1] + 60) & (pixels[:, :, 0] > pixels[:, :, 2] + 60)
    assert green.sum() + red.sum() > 500  # heatmap cells and coloured lines


# --- the interactive tearsheet (plotly.js inlined) ----------------------------------------------
OFFLINE = ("--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9")
"""Every host unresolvable and every request sent to a closed port: the page must need none."""


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    from simulator.results.compare_risk import compare_risk
    from simulator.results.report_interactive import write_interactive

    root = tmp_path_factory.mktemp("tearsheet")
    runs = [load_run(make_run_dir(root, f"lstm-s{s}", seed=s, n_days=90)) for s in range(2)]
    dates = runs[0].returns.index
    spy = pd.Series(np.random.default_rng(5).normal(0, 0.01, len(dates)), index=dates)
    comp = compare_runs(runs, benchmark=spy)
    risk = compare_risk(runs, comp.dates, benchmark=spy, window=20)
    out = write_interactive(root / "sheet.html", runs, comp, benchmark=spy, risk=risk)
    return root, out


def _dom(root, out, name: str, fragment: str = "") -> str:
    args = ("--dump-dom", "--virtual-time-budget=15000", "--window-size=1280,4000", *OFFLINE)
    return chromium(root / f"profile-{name}", *args, out.as_uri() + fragment).stdout


def test_tearsheet_has_no_url_outside_the_inlined_library(sheet):
    from simulator.results.report_interactive import LIB_END, LIB_START

    text = sheet[1].read_text(encoding="utf-8")
    head, rest = text.split(LIB_START)
    page = head + rest.split(LIB_END)[1]
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    import re

    loads = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page)
    assert "<script src" not in text and "<link" not in text
    assert all(u.startswith(("data:", "#")) for u in loads), loads


def test_tearsheet_dom_draws_every_figure_offline(sheet):
    from simulator.results.report_interactive import FIGURES

    dom = _dom(*sheet, "sheet-dom")
    for name in FIGURES:
        block = dom.split(f'id="fig-{name}"')[1].split("<h2")[0]
        assert 'class="main-svg"' in block, name  # plotly drew into the element
    for section in ("drawdowns", "ic", "trades", "comparison"):
        assert f'id="{section}"' in dom
    assert "t=" in dom.split('id="ic"')[1]  # the t-stats of the window ICs
    assert dom.count('class="sortable"') == 2  # one trade list per run


def test_tearsheet_trade_list_sorts_on_a_header_click(sheet):
    dom = _dom(*sheet, "sheet-sort", "#sort=notional")
    table = dom.split('id="trades"')[1].split("</table>")[0]
    assert 'data-sorted-by="notional"' in table
    head = table.split("<thead>")[1].split("</thead>")[0]
    col = [c.split(">")[1].split("<")[0] for c in head.split("<th")[1:]].index("notional")
    rows = table.split("<tbody>")[1].split("</tr>")[:-1]
    values = [float(r.split("<td>")[col + 1].split("<")[0]) for r in rows]
    assert len(values) > 5 and values == sorted(values)


def test_tearsheet_screenshot_has_non_blank_charts(sheet):
    root, out = sheet
    import json
    import re

    dom = _dom(root, out, "sheet-rects")
    rects = json.loads(html_unescape(re.search(r'data-figures="([^"]+)"', dom).group(1)))
    shot = root / "sheet.png"
    chromium(root / "profile-sheet-shot", "--window-size=1280,4000", "--virtual-time-budget=15000",
             *OFFLINE, f"--screenshot={shot}", out.as_uri())  # fmt: skip
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert len(rects) == 6
    for fig, (x, y, w, h) in rects.items():
        assert w > 300 and h > 200, fig
        if y + h > pixels.shape[0]:
            continue  # below the screenshot: drawn (DOM test), not pictured
        box = pixels[y : y + h, x : x + w]
        coloured = (box.max(axis=2) - box.min(axis=2) > 60).mean()  # traces, not grey grid/text
        assert coloured > 0.002, (fig, coloured)


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)
