"""Present/missing reasons and errors for every media edge case (no neural models loaded here)."""

import numpy as np
import pytest

from limssr_core.errors import LimssrError
from limssr_core.features import ExtractionConfig, MediaError, extract_sample
from limssr_core.features.media import iter_frames, probe

FAST = ("flow", "audio")


def run(path, **kw):
    return extract_sample(path, modalities=kw.pop("modalities", FAST), **kw)


def test_normal_file_all_present(media):
    r = run(media["normal"])
    assert all(s.present for s in r.status.values())
    assert r.features["flow"].shape == (2, 128) and r.features["audio"].shape == (2, 140)
    for a in r.features.values():
        assert a.dtype == np.float32 and np.isfinite(a).all()
    assert r.meta["media"]["video"]["fps"] == 25 and r.meta["segment"]["count"] == 2


def test_no_audio_stream(media):
    r = run(media["noaudio"])
    assert r.status["flow"].present and not r.status["audio"].present
    assert "no audio stream" in r.status["audio"].reason and "audio" not in r.features


def test_silent_audio(media):
    r = run(media["silent"])
    assert not r.status["audio"].present and "silent" in r.status["audio"].reason


def test_separate_audio_file_replaces_track(media):
    r = run(media["noaudio"], audio_path=media["audio_only"])
    assert r.status["audio"].present and r.features["audio"].shape[0] == 2
    r = run(media["normal"], audio_path=media["silent"])
    assert not r.status["audio"].present and "silent" in r.status["audio"].reason


def test_multistream_warns_and_uses_one(media):
    r = run(media["multistream"])
    assert all(s.present for s in r.status.values())
    assert any("2 video streams" in w for w in r.meta["warnings"])
    assert any("2 audio streams" in w for w in r.meta["warnings"])


def test_six_channel_audio(media):
    r = run(media["sixch"])
    assert r.status["audio"].present and any("6-channel" in w for w in r.meta["warnings"])


def test_rotation_applied(media):
    info = probe(media["rotated"])
    assert info.video.rotation == 90
    frames = next(iter_frames(info, 224, 8))
    assert frames.shape[1:] == (160, 120, 3)  # upright: taller than wide
    assert run(media["rotated"]).status["flow"].present


def test_variable_frame_rate(media):
    r = run(media["vfr"])
    assert r.meta["media"]["video"]["variable_rate"] and r.status["flow"].present
    assert any("variable frame rate" in w for w in r.meta["warnings"])


def test_shorter_than_one_segment(media):
    r = run(media["short"])
    assert r.features["flow"].shape[0] == 1 and any("shorter than one segment" in w for w in r.meta["warnings"])


def test_too_few_frames_for_flow(media):
    r = run(media["oneframe"])
    assert not r.status["flow"].present and "too few frames" in r.status["flow"].reason


def test_audio_only_input(media):
    r = run(media["audio_only"])
    assert not r.status["flow"].present and "no video stream" in r.status["flow"].reason
    assert r.status["audio"].present


@pytest.mark.parametrize("key, words", [("empty", "empty"), ("notmedia", "not a media file"),
                                        ("truncated_mp4", "truncated")])
def test_unusable_files_raise(media, key, words):
    with pytest.raises(MediaError) as info:
        run(media[key])
    assert words in str(info.value) and isinstance(info.value, LimssrError)


def test_duration_cap(media):
    with pytest.raises(MediaError, match="limit"):
        run(media["normal"], config=ExtractionConfig(max_duration_s=1.0))


def test_decoding_budget_bounds_frames_and_pixels_not_just_duration(media):
    from limssr_core.features.media import check_decode_budget

    info = probe(media["normal"])
    frames, megapixels = info.video.num_frames, info.video.num_frames * info.video.width * info.video.height / 1e6
    check_decode_budget(info, frames, megapixels)  # exactly at both limits: accepted
    check_decode_budget(info)  # no limits: accepted
    with pytest.raises(MediaError, match=rf"{info.video.width}x{info.video.height} at .* is {frames} frames to "
                                         rf"decode; the limit is {frames - 1}\. Lower its frame rate") as err:
        check_decode_budget(info, max_frames=frames - 1)
    assert (err.value.limit, err.value.value, err.value.allowed) == ("max_video_frames", frames, frames - 1)
    with pytest.raises(MediaError, match=r"gigapixels to decode; the limit is .* Re-encode it smaller") as err:
        check_decode_budget(info, max_megapixels=megapixels * 0.99)
    assert err.value.limit == "max_video_megapixels" and err.value.value == pytest.approx(megapixels)
    # extraction applies the configured budget before decoding anything
    with pytest.raises(MediaError, match="frames to decode"):
        run(media["normal"], config=ExtractionConfig(max_video_frames=frames - 1))


def test_truncated_readable_file_warns(media):
    r = run(media["truncated_mkv"])
    assert r.status["flow"].present and any("truncated" in w for w in r.meta["warnings"])


@pytest.mark.parametrize("decoder", ["decord", "pyav"])
def test_corrupt_packets_skipped_with_warning(media, decoder):
    r = run(media["corrupt_ts"], config=ExtractionConfig(decoder=decoder))
    assert r.status["flow"].present and r.features["flow"].shape[0] >= 2
    assert any("corrupt" in w for w in r.meta["warnings"])


def test_pyav_and_decord_agree(media):
    a = run(media["normal"], modalities=("flow",), config=ExtractionConfig(decoder="decord")).features["flow"]
    b = run(media["normal"], modalities=("flow",), config=ExtractionConfig(decoder="pyav")).features["flow"]
    assert a.shape == b.shape and np.allclose(a[:, :6], b[:, :6], atol=0.2)


def test_crop_policy_limits_segments(media):
    r = run(media["normal"], config=ExtractionConfig(segment_frames=8, max_segments=3, segment_policy="crop"))
    assert r.features["flow"].shape[0] == 3 and r.features["audio"].shape[0] == 3
    r = run(media["normal"], config=ExtractionConfig(segment_frames=8, max_segments=3, segment_policy="pool"))
    assert r.features["flow"].shape[0] == 3


def test_flow_sees_motion(media):
    flow = run(media["normal"], modalities=("flow",)).features["flow"]
    assert flow[:, 0].mean() > 0.1  # the square moves 3 px per frame


def test_progress_callback_and_unknown_modality(media):
    stages = []
    run(media["normal"], progress_callback=lambda stage, frac: stages.append((stage, frac)))
    assert stages[0][0] == "probe" and stages[-1] == ("done", 1.0) and any(s == "frames" for s, _ in stages)
    with pytest.raises(LimssrError, match="unknown modality"):
        run(media["normal"], modalities=("smell",))
