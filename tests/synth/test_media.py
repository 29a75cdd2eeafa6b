"""Rendered media: MP4 streams and duration, determinism, a fall that is audible and visible, output files."""

from __future__ import annotations

import csv
import json

import av
import cv2
import decord
import numpy as np
import pytest

from limssr_core.errors import LimssrError
from limssr_core.synth import generate_routines, read_plans, render_routine
from limssr_core.synth.music import synthesize_audio
from limssr_core.synth.routines import SCORE_RANGE

TINY_SIZE = (128, 96)  # as in conftest.py (tiny_routines)


def _decode_audio(path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        chunks = [f.to_ndarray() for f in c.decode(stream)]
        return np.concatenate(chunks, axis=1).mean(axis=0), stream.sample_rate


def test_mp4_has_h264_and_aac_of_the_planned_duration(tiny_routines):
    out, plans = tiny_routines
    for plan in plans:
        path = out / f"{plan.sample_id}.mp4"
        vr = decord.VideoReader(str(path))
        assert abs(len(vr) - plan.n_frames) <= 1
        assert vr[0].shape == (TINY_SIZE[1], TINY_SIZE[0], 3)
        with av.open(str(path)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
            assert c.streams.video[0].format.name == "yuv420p"
            audio = c.streams.audio[0]
            assert audio.codec_context.name == "aac" and audio.channels == 2 and audio.sample_rate == 44100
        samples, sr = _decode_audio(path)
        assert len(samples) / sr == pytest.approx(plan.duration_s, abs=0.1)


def test_output_files_and_labels_csv_format(tiny_routines):
    out, plans = tiny_routines
    lines = (out / "labels.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sample_id,score,split"
    assert lines[1:] == [f"{p.sample_id},{p.score:.2f},{p.split}" for p in plans]
    assert [p.sample_id for p in plans] == ["routine_0000", "routine_0001", "routine_0002"]
    for p in plans:
        assert SCORE_RANGE[0] <= p.score <= SCORE_RANGE[1]
        assert (out / f"{p.sample_id}.txt").read_text(encoding="utf-8").strip()
    assert sorted(p.split for p in plans) == ["test", "train", "val"]
    meta = json.loads((out / "routines.json").read_text())
    assert meta["score_range"] == list(SCORE_RANGE)
    assert [p.to_json() for p in read_plans(out)] == [p.to_json() for p in plans]
    # the extract command reads this file as is
    from limssr_core.features.dataset_builder import read_score_csv

    assert read_score_csv(out / "labels.csv") == {p.sample_id: (p.score, p.split) for p in plans}
    with open(out / "labels.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(plans)


def test_generation_is_deterministic_per_seed(tiny_routines, tmp_path):
    out, plans = tiny_routines
    again = generate_routines(tmp_path / "again", 3, seed=11, min_seconds=4, max_seconds=5, size=TINY_SIZE,
                              progress=False)
    assert [p.to_json() for p in again] == [p.to_json() for p in plans]
    for name in ("labels.csv", "routines.json", "routine_0001.txt"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes()
    a = decord.VideoReader(str(out / "routine_0002.mp4"))
    b = decord.VideoReader(str(tmp_path / "again" / "routine_0002.mp4"))
    assert np.array_equal(a.get_batch(range(len(a))).asnumpy(), b.get_batch(range(len(b))).asnumpy())
    np.testing.assert_array_equal(synthesize_audio(plans[0]), synthesize_audio(again[0]))


def test_a_fall_is_audible_and_visible(make_plan, tmp_path):
    plan = make_plan(levels=(2,), fall_on=0, offset=0.0, smoothness=1.0, duration=6.0)
    fall_t = plan.elements[0].fall_time
    path = render_routine(plan, tmp_path, TINY_SIZE)

    samples, sr = _decode_audio(path)
    hop = sr // 20
    rms = np.sqrt(np.mean(samples[: len(samples) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    loudest = np.argmax(rms) * hop / sr
    assert abs(loudest - fall_t) < 0.15
    assert rms.max() > 4 * np.median(rms)

    frames = decord.VideoReader(str(path))
    h = TINY_SIZE[1]

    def costume_rows(t: float) -> np.ndarray:
        rgb = frames[int(round(t * plan.fps))].asnumpy()
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        mask = (np.abs(hsv[..., 0].astype(int) - plan.costume_hue) < 10) & (hsv[..., 1] > 100)
        mask[: int(0.35 * h)] = False  # ignore the crowd and the boards
        return np.nonzero(mask)[0]

    standing, lying = costume_rows(1.0), costume_rows(fall_t + 0.5)
    assert standing.size and lying.size
    assert np.ptp(standing) > 0.25 * h  # a tall figure
    assert np.ptp(lying) < 0.12 * h  # flat on the ground
    assert lying.mean() > standing.mean() + 0.1 * h  # and low in the frame


def test_refuses_non_empty_folder_unless_overwrite(tmp_path):
    (tmp_path / "notes.md").write_text("keep me")
    with pytest.raises(LimssrError, match="not empty"):
        generate_routines(tmp_path, 1, seed=0, min_seconds=3, max_seconds=3, size=TINY_SIZE, progress=False)
    generate_routines(tmp_path, 1, seed=0, min_seconds=3, max_seconds=3, size=TINY_SIZE, progress=False,
                      overwrite=True)
    assert (tmp_path / "notes.md").read_text() == "keep me"
    assert (tmp_path / "routine_0000.mp4").is_file()


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0), "--n"),
    (dict(min_seconds=10, max_seconds=5), "--min-seconds"),
    (dict(size=(127, 96)), "--size"),
])
def test_bad_options_are_clear_errors(tmp_path, kwargs, match):
    args = dict(n=1, seed=0, min_seconds=3, max_seconds=3, size=TINY_SIZE, progress=False) | kwargs
    with pytest.raises(LimssrError, match=match):
        generate_routines(tmp_path / "x", **args)


def test_cli_arguments(tmp_path, capsys):
    from limssr_core.commands import main

    assert main(["synth-routines", "--out", str(tmp_path / "r"), "--n", "1", "--seed", "2", "--min-seconds", "3",
                 "--max-seconds", "3", "--size", "96x64", "--no-progress"]) == 0
    assert "wrote 1 routines" in capsys.readouterr().out
    assert decord.VideoReader(str(tmp_path / "r" / "routine_0000.mp4"))[0].shape == (64, 96, 3)
    assert main(["synth-routines", "--out", str(tmp_path / "s"), "--size", "big"]) == 2
    assert "--size" in capsys.readouterr().err
