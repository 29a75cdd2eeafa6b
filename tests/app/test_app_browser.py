"""A real headless Chromium loads the page, uploads a routine, scores it, draws its timeline (a click on a point seeks
the video there) and saves a screenshot.

Needs Debian's `chromium` and the npm package `playwright-core` (`make setup` installs both; see app/SETUP_NOTES.md).
Skips only when no Chromium is installed (fails instead under LIMSSR_REQUIRE_BROWSER=1, as CI sets).
`LIMSSR_SCREENSHOT=docs/app_screenshot.png` also keeps the picture there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def test_page_scores_an_uploaded_video(browser, served_app, routines, tmp_path):
    screenshot = tmp_path / "app.png"
    seen = browser.run("browser_check.cjs", served_app, routines["video"], screenshot, browser.chromium)
    assert seen["headline"].startswith("TES ") and "on a 0-130 scale" in seen["headline"]
    assert "commentary" in seen["panel"] and "missing" not in seen["panel"]
    assert seen["errors"] == []
    assert seen["points"] >= 2 and "Top moments" in seen["moments"]
    assert seen["lines"] >= 3, seen  # the combined line, then video and flow (plain-text commentary is untimed)
    assert seen["seek"] is not None and seen["seek"]["seekedTo"] is not None, seen  # the click reached the video
    assert float(seen["seek"]["seekedTo"]) > 0  # the last moment starts after the routine's start
    assert seen["report"]  # the report download is offered
    # the MDA figure as the page draws it at 1400 and 1000 px windows (at 1000 px the plot is only ~366 px wide):
    # no two texts overlap, none sticks out, every modality's full name is there
    for window, drawn in seen["weights"].items():
        assert drawn["overlaps"] == [] and drawn["outside"] == [], (window, drawn)
        assert {"video", "flow", "commentary"} <= set(drawn["texts"]), (window, drawn["texts"])
    assert 340 <= seen["weights"]["1000"]["width"] < seen["weights"]["1400"]["width"]
    assert "alpha" in seen["explained"]  # the line for judges under the plot
    assert screenshot.stat().st_size > 20_000
    keep = os.environ.get("LIMSSR_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, REPO / keep if not Path(keep).is_absolute() else keep)


def test_competition_tab_fills_a_ranked_table(browser, served_app, routines, tmp_path):
    screenshot = tmp_path / "competition.png"
    videos = [routines["video"], routines["other"], routines["corrupt"]]
    seen = browser.run("competition_check.cjs", served_app, screenshot, browser.chromium, *videos, "--commentary",
                       routines["commentary"], timeout=400)
    assert seen["errors"] == []
    assert any("1 of 3 routines scored" in s for s in seen["statuses"])  # the table filled as routines finished
    assert "2 of 3 routines scored, 1 could not be. Done" in seen["statuses"][-1]
    for video in videos:
        assert video.stem in seen["table"]
    assert "not scored:" in seen["table"] and seen["json"]
    keep = os.environ.get("LIMSSR_COMPETITION_SCREENSHOT")
    if keep:
        shutil.copy(screenshot, REPO / keep if not Path(keep).is_absolute() else keep)


def test_an_avi_upload_shows_a_playable_preview_and_still_scores(browser, served_app, unplayable):
    seen = browser.run("preview_check.cjs", served_app, unplayable["avi"], browser.chromium, timeout=400)
    assert seen["errors"] == []
    assert seen["playback"]["width"] > 0 and seen["playback"]["error"] is None, seen  # the preview plays
    assert any("converted preview" in toast for toast in seen["toasts"]), seen
    assert not any("not playable" in toast.lower() for toast in seen["toasts"] + seen["after"]), seen
    assert seen["headline"].startswith("TES ")


def test_a_file_that_is_no_video_dropped_on_the_video_box_gets_a_specific_message(browser, served_app, routines):
    seen = browser.run("dropped_file_check.cjs", served_app, routines["docx"], browser.chromium)
    assert seen["errors"] == [] and seen["video"] == 0
    assert any("Invalid file type: notes.docx" in toast for toast in seen["toasts"]), seen  # Gradio's own check
    assert any("no video: upload the routine video first" in toast and ".mp4" in toast for toast in seen["after"]), seen
