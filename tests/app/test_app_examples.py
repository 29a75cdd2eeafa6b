"""The bundled example routines: the record matches the files and the bundled checkpoint, scoring each example now
gives the recorded prediction, and on the page an example fills the inputs and scores itself (cached lazily)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.examples import EXAMPLES_DIR, examples_note, is_current, load_examples
from app.state import BUNDLED_PATH, AppSettings, AppState

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.skipif(not BUNDLED_PATH.is_dir(), reason="no bundled checkpoint")


def test_the_record_lists_the_three_routines_with_their_files():
    record = load_examples()
    assert [ex.name for ex in record.examples] == ["strong", "middling", "with_a_fall"]
    for ex in record.examples:
        assert ex.video.is_file() and ex.video.stat().st_size < 1_500_000  # a few hundred KB each
        assert 20 <= ex.seconds <= 25 and ex.commentary.read_text().strip()
    falls = {ex.name: ex.falls for ex in record.examples}
    assert falls["strong"] == 0 and falls["with_a_fall"] >= 1
    true = [ex.true_score for ex in record.examples]
    assert true == sorted(true, reverse=True)  # strong > middling > with a fall


def test_the_record_was_made_with_the_bundled_checkpoint_on_disk():
    record = load_examples()
    assert is_current(record), ("assets/examples/examples.json was recorded with another build of the bundled "
                                "checkpoint: run scripts/make_examples.py --record")
    assert "another build" not in examples_note(record, True)


def test_a_changed_checkpoint_makes_the_record_stale(tmp_path):
    copy = tmp_path / "ckpt"
    shutil.copytree(BUNDLED_PATH, copy)
    config = json.loads((copy / "limssr_config.json").read_text())
    config["calibration"] = {"changed": True}
    (copy / "limssr_config.json").write_text(json.dumps(config))
    record = load_examples()
    assert not is_current(record, copy)
    assert "another build" in examples_note(record, False)


def test_a_record_without_its_files_lists_only_what_is_there(tmp_path):
    shutil.copy(EXAMPLES_DIR / "examples.json", tmp_path)
    shutil.copy(EXAMPLES_DIR / "strong.mp4", tmp_path)
    shutil.copy(EXAMPLES_DIR / "strong.txt", tmp_path)
    assert [ex.name for ex in load_examples(tmp_path).examples] == ["strong"]
    assert load_examples(tmp_path / "nowhere") is None


@pytest.mark.slow
def test_scoring_each_example_gives_its_recorded_prediction():
    from app import handlers

    state = AppState.create(AppSettings(preload=False))
    for ex in load_examples().examples:
        result = handlers.score_routine(handlers.ScoreRequest(video=str(ex.video), commentary_file=str(ex.commentary)),
                                        state)
        assert result.payload["score"] == pytest.approx(ex.predicted_score, abs=0.1), ex.name
        assert all(st["present"] for st in result.payload["modality_status"].values())


@pytest.mark.slow
def test_clicking_an_example_on_the_page_scores_it(browser, tmp_path, monkeypatch):
    from tests.app.conftest import free_port

    monkeypatch.setenv("GRADIO_EXAMPLES_CACHE", str(tmp_path / "cache"))  # the lazy cache, fresh for this test
    from app import create_app, launch

    settings = AppSettings(preload=False)
    demo, _ = create_app(settings)
    port = free_port()
    launch(demo, settings, port=port, block=False)
    try:
        ex = load_examples().examples[1]
        seen = browser.run("examples_check.cjs", f"http://127.0.0.1:{port}/", ex.label, browser.chromium,
                           timeout=400)
    finally:
        demo.close()
    expected = f"score {ex.predicted_score:.1f} on a 0-100 scale"
    assert seen["headlines"] == [expected, expected]  # scored on the first visit, from the cache on the second
    assert seen["video"] == 1 and seen["errors"] == []  # the example's video is in the player
    assert "commentary\tpresent" in seen["panel"]
    assert f"{ex.true_score:.1f}" in seen["note"]
    assert any((tmp_path / "cache").rglob("log.csv"))  # the result was cached
