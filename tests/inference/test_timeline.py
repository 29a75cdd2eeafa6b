"""The occlusion timeline: moments that cover the routine, effects per modality, in the one Prediction contract."""

import numpy as np
import pytest
import torch

from limssr_core.inference.scorer import Scorer
from limssr_core.inference.timeline import moment_windows, scaled
from limssr_core.model.checkpoint import save_checkpoint
from limssr_core.model.limssr import LimssrModel


def test_moments_cover_the_routine_and_scale_across_segment_counts():
    assert moment_windows(12) == [(0, 4), (4, 8), (8, 12)]  # the default: moments tile the routine
    assert moment_windows(9) == [(0, 4), (4, 8), (5, 9)]  # the last one flush with the end
    assert moment_windows(9, width=4, stride=2) == [(0, 4), (2, 6), (4, 8), (5, 9)]
    assert moment_windows(3) == [(0, 3)]
    assert scaled((4, 8), 20, 10) == (2, 4) and scaled((5, 6), 20, 10) == (2, 3)


@pytest.fixture
def scorer(tmp_path, tiny_config, make_backbone):
    torch.manual_seed(0)
    model = LimssrModel(tiny_config, make_backbone())
    with torch.no_grad():  # away from the initialisation, so that occlusions move the score
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.add_(0.2 * torch.randn_like(parameter))
    save_checkpoint(model, tmp_path / "ckpt")
    return Scorer(tmp_path / "ckpt")


def test_the_timeline_extends_the_prediction_and_follows_the_occluded_features(scorer):
    rng = np.random.default_rng(0)
    features = {"video": rng.standard_normal((14, 12)).astype(np.float32),
                "audio": rng.standard_normal((7, 8)).astype(np.float32)}
    prediction = scorer.score(features, timeline=True, segment_seconds=1.28, timeline_per_modality=True)
    timeline = prediction.timeline
    assert timeline.reference == "video" and timeline.modalities == ["video", "audio"]
    assert [(p.start_segment, p.end_segment) for p in timeline.points] == moment_windows(14)
    assert timeline.points[1].start_s == pytest.approx(4 * 1.28)
    assert all(set(p.effect) == {"all", "video", "audio"} for p in timeline.points)
    effects = np.array([p.effect["all"] for p in timeline.points])
    assert np.abs(effects).max() > 1e-4  # occluding real features with the missing token moves the score
    assert [p.effect["all"] for p in timeline.raised] == sorted((e for e in effects if e > 0), reverse=True)[:3]
    assert all(p.effect["all"] < 0 for p in timeline.lowered)
    json = prediction.to_json()
    assert json["timeline"]["points"][0]["effect"]["all"] == pytest.approx(timeline.points[0].effect["all"])
    assert scorer.score(features).timeline is None  # on demand only
    combined = scorer.score(features, timeline=True, segment_seconds=1.28).timeline  # the default: combined only
    assert combined.modalities == [] and all(set(p.effect) == {"all"} for p in combined.points)
    assert [p.effect["all"] for p in combined.points] == pytest.approx([p.effect["all"] for p in timeline.points],
                                                                      abs=1e-3)


def test_the_cached_occlusion_passes_equal_whole_passes(scorer):
    from limssr_core.data.collate import Sample
    from limssr_core.model.runner import normalised_predictions, occluded_predictions

    rng = np.random.default_rng(1)
    base = Sample("w", {"video": rng.standard_normal((6, 12)).astype(np.float32),
                        "audio": rng.standard_normal((5, 8)).astype(np.float32)})
    copies = []
    for a in range(0, 5):
        copies.append(Sample("c", base.features, occluded={"video": np.arange(6) // 2 == a // 2}))
        copies.append(Sample("c", base.features, occluded={"audio": np.arange(5) == a,
                                                            "video": np.arange(6) == 5}))
    mask = (True, True, False)
    cached = occluded_predictions(scorer.model, base, copies, mask, batch_size=3)
    whole = normalised_predictions(scorer.model, copies, [mask] * len(copies))
    np.testing.assert_allclose(cached, whole, atol=1e-5)
    assert np.ptp(whole) > 1e-4  # the copies differ, so the equality is not trivial
