import numpy as np
import pytest

from limssr_core.features.commentary import cue_spans, parse_commentary, split_sentences
from limssr_core.features.segments import (
    apply_cap,
    constant_rate_indices,
    is_variable_rate,
    place_on_timeline,
    segment_bounds,
    time_windows,
)


def test_segment_bounds_fixed_windows_and_tail():
    segs = segment_bounds(100, 32, 25.0)
    assert [(s.start_frame, s.end_frame) for s in segs] == [(0, 32), (32, 64), (64, 96)]  # 4-frame tail dropped
    segs = segment_bounds(120, 32, 25.0)
    assert segs[-1].end_frame == 120 and segs[-1].num_frames == 24  # 24 >= 16 kept
    assert segs[1].start_s == pytest.approx(32 / 25)
    assert [s.num_frames for s in segment_bounds(10, 32, 25.0)] == [10]  # shorter than one segment
    assert segment_bounds(0, 32, 25.0) == []


def test_time_windows():
    wins = time_windows(3.0, 1.28)
    assert len(wins) == 2 and wins[-1].end_s == pytest.approx(2.56)


def test_cap_pool_and_crop():
    x = np.arange(10, dtype=np.float32)[:, None].repeat(3, 1)
    pooled = apply_cap(x, 4, "pool")
    assert pooled.shape == (4, 3) and pooled.dtype == np.float32
    assert pooled[0, 0] == pytest.approx(np.mean([0, 1, 2]))
    assert np.array_equal(apply_cap(x, 4, "crop"), x[:4])
    assert apply_cap(x, None, "pool") is x
    with pytest.raises(ValueError):
        apply_cap(x, 4, "zoom")


def test_variable_rate_regrid():
    ts = np.cumsum([0] + [0.02, 0.06] * 10)
    assert is_variable_rate(ts) and not is_variable_rate(np.arange(20) / 25)
    idx = constant_rate_indices(ts, 25.0)
    assert idx[0] == 0 and np.all(np.diff(idx) >= 0) and len(idx) == int(ts[-1] * 25) + 1


def test_timeline_placement_uses_overlap_and_nearest():
    segs = segment_bounds(4 * 25, 25, 25.0)  # four 1-s segments
    emb = np.eye(2, dtype=np.float32)
    out = place_on_timeline([(0.0, 1.5), (3.2, 3.6)], emb, segs)
    assert out.shape == (4, 2)
    assert np.allclose(out[0], [1, 0]) and np.allclose(out[1], [1, 0])  # overlap
    assert np.allclose(out[2], [0, 1]) or np.allclose(out[2], [1, 0])  # nearest cue, never zeros
    assert np.allclose(out[3], [0, 1])


def test_parse_plain_srt_and_stamped():
    cues, sentences = parse_commentary("A clean jump. Then a spin!\nFinal pose.")
    assert cues is None and sentences == ["A clean jump.", "Then a spin!", "Final pose."]
    srt = "1\n00:00:01,000 --> 00:00:02,500\nFirst <i>jump</i>\n\n2\n00:00:04,000 --> 00:00:05,000\nSpin\n"
    cues, _ = parse_commentary(srt)
    assert [(c.start_s, c.end_s, c.text) for c in cues] == [(1.0, 2.5, "First jump"), (4.0, 5.0, "Spin")]
    cues, _ = parse_commentary("00:05 opening jump\ncontinued here\n[01:10] step sequence\n1:02:03.5 end")
    assert [c.start_s for c in cues] == [5.0, 70.0, 3723.5]
    assert cues[0].text == "opening jump continued here"
    assert cue_spans(cues)[0] == (5.0, 70.0)
    assert split_sentences("") == []


def test_segment_seconds_from_extraction_meta():
    from limssr_core.features.segments import segment_seconds

    plain = {"segment": {"frames": 32, "fps": 25.0, "count": 100, "max_segments": 512, "policy": "pool"}}
    assert segment_seconds(plain) == 1.28
    pooled = {"segment": {"frames": 32, "fps": 25.0, "count": 1024, "max_segments": 512, "policy": "pool"}}
    assert segment_seconds(pooled) == 2.56  # two original segments per pooled one
    cropped = {"segment": {"frames": 32, "fps": 25.0, "count": 1024, "max_segments": 512, "policy": "crop"}}
    assert segment_seconds(cropped) == 1.28
    assert segment_seconds({}) is None
