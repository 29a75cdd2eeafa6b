"""Extractors with the real embedded models (EfficientNet-Lite0, MiniLM) and the dataset/CLI path."""

import json

import numpy as np
import pytest

from limssr_core.data.generic import load_features, load_spec, read_labels
from limssr_core.commands import main
from limssr_core.features import extract_dataset, extract_sample

pytestmark = pytest.mark.slow


def test_all_four_modalities(media):
    r = extract_sample(media["normal"], commentary_text="A strong jump. A slow spin. Final pose.")
    assert {k: v.shape for k, v in r.features.items()} == {
        "video": (2, 1280), "flow": (2, 128), "audio": (2, 140), "commentary": (3, 384)}
    assert r.meta["extractors"]["video"] == "effnet-lite0@1"
    v = r.features["video"]
    assert np.isfinite(v).all() and v.std() > 0


def test_commentary_missing_and_timed(media, tmp_path):
    r = extract_sample(media["normal"], modalities=("commentary",))
    assert not r.status["commentary"].present and r.status["commentary"].reason == "no commentary given"
    srt = tmp_path / "c.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:01,000\nGood start\n\n2\n00:00:02,000 --> 00:00:02,500\nFall\n")
    r = extract_sample(media["normal"], modalities=("commentary",), commentary_path=srt)
    assert r.features["commentary"].shape == (2, 384) and r.meta["commentary"]["kind"] == "timed"
    r = extract_sample(media["normal"], modalities=("commentary",), commentary_text="   ")
    assert not r.status["commentary"].present and "empty" in r.status["commentary"].reason


def test_transcribe_without_whisper_is_a_reason(media, monkeypatch):
    from limssr_core.features import whisper

    monkeypatch.setattr(whisper, "whisper_available", lambda: False)
    r = extract_sample(media["normal"], modalities=("commentary",), transcribe=True)
    assert not r.status["commentary"].present and "Whisper" in r.status["commentary"].reason


def test_extract_dataset_cli_resumable_report(media, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for key in ("normal", "noaudio", "notmedia"):
        (videos / media[key].name).write_bytes(media[key].read_bytes())
    (videos / "normal.txt").write_text("Clean jump. Nice spin.")
    labels = tmp_path / "scores.csv"
    labels.write_text("sample_id,score,split\nnormal,7.5,train\nnoaudio,6.0,test\n")
    out = tmp_path / "ds"
    argv = ["extract", str(videos), "--out", str(out), "--labels", str(labels), "--no-progress"]
    assert main(argv) == 1  # done, but notmedia failed (exit 1: some inputs failed)
    report = json.loads((out / "extract_report.json").read_text())
    assert [f["sample_id"] for f in report["failures"]] == ["notmedia"]
    assert report["samples"]["noaudio"]["status"]["audio"] == {"present": False, "kind": "not_given",
                                                               "reason": "no audio stream in noaudio.mp4"}
    spec = load_spec(out)
    assert spec.modalities["video"].extractor == "effnet-lite0@1" and spec.segment["frames"] == 32
    assert spec.modalities["video"].timeline and spec.modalities["audio"].timeline
    assert spec.modalities["commentary"].timeline is False  # normal.txt is plain sentences, not timed
    rows = {r.sample_id: r for r in read_labels(out)}
    assert rows["normal"].score == 7.5 and rows["noaudio"].split == "test"
    assert load_features(out / "features/video/normal.npy", 1280).shape == (2, 1280)
    assert load_features(out / "features/commentary/normal.npy", 384).shape == (2, 384)
    assert not (out / "features/audio/noaudio.npy").exists()  # missing = absent, never zeros
    assert not (out / "features/commentary/noaudio.npy").exists()
    again = extract_dataset([videos], out, labels_csv=labels, progress=False)
    assert again["counts"]["skipped_already_done"] == 2 and again["counts"]["extracted"] == 0
    assert spec.score_range == (6.0, 7.5)  # the labels' span unless the scale is given
    main(argv + ["--score-range", "0:10"])
    assert load_spec(out).score_range == (0.0, 10.0)


def test_whisper_optional_path(media):
    from limssr_core.features import whisper

    if not whisper.whisper_available():
        pytest.skip(f"optional Whisper packages not installed ({whisper.INSTALL})")
    r = extract_sample(media["normal"], modalities=("speech", "commentary"), transcribe=True)
    assert r.features["speech"].shape == (2, 384) and np.isfinite(r.features["speech"]).all()
    status = r.status["commentary"]  # a tone has no words: either no speech found or a (hallucinated) transcript
    assert status.present or (status.kind == "degraded" and status.is_problem and "no speech" in status.reason)
