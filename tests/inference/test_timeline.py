"""The occlusion timeline: moments that cover the routine, effects per modality, in the one Prediction contract."""

import numpy as np
import pytest
import torch

from limssr_core.inference.scorer import Scorer
from limssr_core.inference.timeline import moment_windows, scaled
from limssr_core.model.checkpoint import save_checkpoint
from limssr_core.model.limssr import LimssrModel


def test_moments_cover_the_routine_and_scale_across_segment_counts():
    assert moment_windows(9) == [(0, 4), (2, 6), (4, 8), (5, 9)]
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
    prediction = scorer.score(features, timeline=True, segment_seconds=1.28)
    timeline = prediction.timeline
    assert timeline.reference == "video" and timeline.modalities == ["video", "audio"]
    assert [(p.start_segment, p.end_segment) for p in timeline.points] == moment_windows(14)
    assert timeline.points[1].start_s == pytest.approx(2.56)
    assert all(set(p.effect) == {"all", "video", "audio"} for p in timeline.points)
    effects = np.array([p.effect["all"] for p in timeline.points])
    assert np.abs(effects).max() > 1e-4  # occluding real features with the missing token moves the score
    assert [p.effect["all"] for p in timeline.raised] == sorted((e for e in effects if e > 0), reverse=True)[:3]
    assert all(p.effect["all"] < 0 for p in timeline.lowered)
    json = prediction.to_json()
    assert json["timeline"]["points"][0]["effect"]["all"] == pytest.approx(timeline.points[0].effect["all"])
    assert scorer.score(features).timeline is None  # on demand only
