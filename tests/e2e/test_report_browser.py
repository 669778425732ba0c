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
