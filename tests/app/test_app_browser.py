"""A real headless Chromium loads the page, uploads a routine, scores it, draws its timeline (a click on a point seeks
the video there) and saves a screenshot.

Needs Debian's `chromium` and the npm package `playwright-core` (`make setup` installs both; see app/SETUP_NOTES.md).
Skips only when no Chromium is installed (fails instead under LIMSSR_REQUIRE_BROWSER=1, as CI sets).
`LIMSSR_SCREENSHOT=docs/app_screenshot.png` also keeps the picture there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _chromium() -> str | None:
    for candidate in (os.environ.get("LIMSSR_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def test_page_scores_an_uploaded_video(served_app, routines, tmp_path):
    chromium = _chromium()
    if chromium is None:
        assert os.environ.get("LIMSSR_REQUIRE_BROWSER") != "1", "LIMSSR_REQUIRE_BROWSER=1 but no Chromium installed"
        pytest.skip("no Chromium installed (apt-get install chromium; make setup does it)")
    node = shutil.which("node")
    assert node, "Node.js is missing: the browser test drives Chromium with playwright-core (see app/SETUP_NOTES.md)"
    assert (REPO / "node_modules" / "playwright-core").is_dir(), \
        "playwright-core is missing: run `npm install --no-save playwright-core@1` in the repository (make setup)"
    screenshot = tmp_path / "app.png"
    proc = subprocess.run([node, str(HERE / "browser_check.cjs"), served_app, str(routines["video"]),
                           str(screenshot), chromium], capture_output=True, text=True, timeout=240,
                          env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"})
    assert proc.returncode == 0, f"browser run failed:\n{proc.stderr[-3000:]}"
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["headline"].startswith("TES ") and "on a 0-130 scale" in seen["headline"]
    assert "commentary" in seen["panel"] and "missing" not in seen["panel"]
    assert seen["errors"] == []
    assert seen["points"] >= 2 and "Top moments" in seen["moments"]
    assert seen["lines"] >= 3, seen  # the combined line, then video and flow (plain-text commentary is untimed)
    assert seen["seek"] is not None and seen["seek"]["seekedTo"] is not None, seen  # the click reached the video
    assert float(seen["seek"]["seekedTo"]) > 0  # the last moment starts after the routine's start
    assert seen["report"]  # the report download is offered
    assert screenshot.stat().st_size > 20_000
    keep = os.environ.get("LIMSSR_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, REPO / keep if not Path(keep).is_absolute() else keep)


def test_competition_tab_fills_a_ranked_table(served_app, routines, tmp_path):
    chromium = _chromium()
    if chromium is None:
        assert os.environ.get("LIMSSR_REQUIRE_BROWSER") != "1", "LIMSSR_REQUIRE_BROWSER=1 but no Chromium installed"
        pytest.skip("no Chromium installed (apt-get install chromium; make setup does it)")
    screenshot = tmp_path / "competition.png"
    videos = [routines["video"], routines["other"], routines["corrupt"]]
    proc = subprocess.run([shutil.which("node"), str(HERE / "competition_check.cjs"), served_app, str(screenshot),
                           chromium, *map(str, videos), "--commentary", str(routines["commentary"])],
                          capture_output=True, text=True, timeout=400,
                          env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"})
    assert proc.returncode == 0, f"browser run failed:\n{proc.stderr[-3000:]}"
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["errors"] == []
    assert any("1 of 3 routines scored" in s for s in seen["statuses"])  # the table filled as routines finished
    assert "2 of 3 routines scored, 1 could not be. Done" in seen["statuses"][-1]
    for video in videos:
        assert video.stem in seen["table"]
    assert "not scored:" in seen["table"] and seen["json"]
    keep = os.environ.get("LIMSSR_COMPETITION_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, REPO / keep if not Path(keep).is_absolute() else keep)
