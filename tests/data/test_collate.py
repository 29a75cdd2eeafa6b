"""Training crops: one start per sample on the video's timeline, shared by the modalities on it."""

import numpy as np

from limssr_core.config import ModalityConfig
from limssr_core.data.collate import Sample, collate, crop_windows

DIM = 2


def indexed(n: int) -> np.ndarray:
    """Features that encode their segment index (as a fraction of the sequence) in every column."""
    return np.repeat((np.arange(n) / n)[:, None], DIM, axis=1).astype(np.float32)


def test_modalities_on_the_timeline_come_out_aligned():
    modalities = [ModalityConfig("video", DIM, length=8), ModalityConfig("flow", DIM, length=8),
                  ModalityConfig("audio", DIM, length=4),  # half the segment rate: half the window
                  ModalityConfig("commentary", DIM, length=3, timeline=False)]
    sample = Sample("s", {"video": indexed(40), "flow": indexed(40), "audio": indexed(20),
                          "commentary": indexed(6)}, 0.5)
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(50):
        batch = collate([sample], modalities, rng=rng)
        video, flow, audio = (batch.features[m][0, 0, 0].item() for m in ("video", "flow", "audio"))
        assert video == flow  # the same segment
        assert abs(audio - video) <= 1 / 20  # the same moment, to one segment of the coarser modality
        starts.add(video)
    assert len(starts) > 10  # and the start really is random


def test_off_timeline_modalities_are_cropped_on_their_own():
    modalities = [ModalityConfig("video", DIM, length=2), ModalityConfig("commentary", DIM, length=2, timeline=False)]
    rng = np.random.default_rng(1)
    pairs = {(w["video"].start, w["commentary"].start)
             for w in (crop_windows({"video": 40, "commentary": 40}, modalities, rng) for _ in range(40))}
    assert len({v - c for v, c in pairs}) > 5  # not tied to the video's start


def test_evaluation_takes_centre_crops():
    modalities = [ModalityConfig("video", DIM, length=4), ModalityConfig("audio", DIM, length=4)]
    windows = crop_windows({"video": 10, "audio": 8}, modalities, None)
    assert windows == {"video": slice(3, 7), "audio": slice(2, 6)}


def test_old_datasets_put_the_known_modalities_on_the_timeline():
    from limssr_core.data.generic import DatasetSpec

    spec = DatasetSpec.from_json({"name": "d", "score_name": "s", "score_range": [0, 1], "modalities": {
        "video": {"dim": 3}, "commentary": {"dim": 3}, "text": {"dim": 3},
        "lidar": {"dim": 3, "timeline": True}}})
    assert {name: info.timeline for name, info in spec.modalities.items()} == {
        "video": True, "commentary": True, "text": False, "lidar": True}


def test_covering_windows_span_the_whole_routine_in_step_across_modalities():
    from limssr_core.data.collate import covering_windows

    modalities = [ModalityConfig("video", DIM, length=32), ModalityConfig("audio", DIM, length=16),
                  ModalityConfig("commentary", DIM, length=4, timeline=False)]
    windows = covering_windows({"video": 100, "audio": 50, "commentary": 10}, modalities)
    assert [w["video"].start for w in windows] == [0, 23, 45, 68] and windows[-1]["video"].stop == 100
    covered = set().union(*(range(w["video"].start, w["video"].stop) for w in windows))
    assert covered == set(range(100))
    assert [w["audio"].start for w in windows] == [0, 12, 22, 34]  # the same moments at half the rate
    assert all(w["commentary"] == slice(3, 7) for w in windows)  # off the timeline: its centre crop
    assert covering_windows({"video": 20, "audio": 10}, modalities) == [{"video": slice(0, 20), "audio": slice(0, 10)}]


def test_crop_augmentation_shortens_training_crops_and_keeps_them_aligned():
    modalities = [ModalityConfig("video", DIM, length=32), ModalityConfig("audio", DIM, length=16),
                  ModalityConfig("commentary", DIM, length=16, timeline=False)]
    lengths = {"video": 20, "audio": 10, "commentary": 10}  # a routine shorter than the block
    rng = np.random.default_rng(0)
    spans = []
    for _ in range(200):
        w = crop_windows(lengths, modalities, rng, min_cover=0.5)
        video, audio = w["video"], w["audio"]
        assert 10 <= video.stop - video.start <= 20 and 0 <= video.start and video.stop <= 20
        assert abs((audio.stop - audio.start) - (video.stop - video.start) / 2) <= 1  # the same share of the routine
        assert abs(audio.start - video.start / 2) <= 1  # the same moment
        spans.append((video.stop - video.start, w["commentary"].stop - w["commentary"].start))
    assert {v for v, _ in spans} >= {10, 15, 20}  # the whole range of covers is drawn
    assert len({v / 20 - c / 10 for v, c in spans}) > 3  # commentary draws its own cover
    assert crop_windows(lengths, modalities, None, min_cover=0.5)["video"] == slice(0, 20)  # evaluation: whole


def test_full_cover_draws_the_same_crops_as_before():
    """min_cover = 1 takes no random numbers of its own: runs seeded before crop augmentation existed repeat."""
    modalities = [ModalityConfig("video", DIM, length=8), ModalityConfig("commentary", DIM, length=3, timeline=False)]
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(20):
        assert crop_windows({"video": 30, "commentary": 9}, modalities, a) == \
            crop_windows({"video": 30, "commentary": 9}, modalities, b, min_cover=1.0)
    assert a.bit_generator.state == b.bit_generator.state


def test_min_crop_cover_outside_zero_to_one_is_refused():
    import pytest

    from limssr_core.config import TrainingConfig
    from limssr_core.errors import LimssrError

    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(LimssrError, match="--min-crop-cover"):
            TrainingConfig(min_crop_cover=bad)
