from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from limssr_core.model.checkpoint import save_checkpoint
from limssr_core.errors import DataError, LimssrError
from limssr_core.inference.scorer import Scorer
from limssr_core.model.limssr import LimssrModel


@pytest.fixture
def scorer(tmp_path, tiny_config, make_backbone):
    torch.manual_seed(0)
    save_checkpoint(LimssrModel(tiny_config, make_backbone()), tmp_path / "ckpt")
    return Scorer(tmp_path / "ckpt")


def features(seed=0):
    rng = np.random.default_rng(seed)
    return {"video": rng.standard_normal((9, 12)).astype(np.float32),
            "audio": rng.standard_normal((4, 8)).astype(np.float32)}


def test_score_in_the_checkpoints_terms_with_every_weight(scorer):
    result = scorer.score(features())
    assert result.score_name == "TES" and result.score_range == (0.0, 130.0)
    assert 0 <= result.score <= 130
    w = result.weights["path_weight_main"]
    assert result.score == pytest.approx(w * result.main_path_score + (1 - w) * result.aux_path_score, rel=1e-5)
    assert result.used_modalities == ["video", "audio"] and result.missing_modalities == ["text"]
    withheld = scorer.score(features(), withhold=["audio"])
    assert withheld.used_modalities == ["video"] and withheld.withheld_modalities == ["audio"]
    assert withheld.weights["confidence"]["audio"] < 1.0
    assert withheld.score != result.score


def test_robustness_scores_every_subset_of_the_present_modalities(scorer):
    rows = scorer.robustness(features())
    assert [r.modalities for r in rows] == [["video"], ["audio"], ["video", "audio"]]
    assert rows[0].score == pytest.approx(scorer.score(features(), withhold=["audio"]).score, abs=1e-4)
    assert rows[2].score == pytest.approx(scorer.score(features()).score, abs=1e-4)


def test_one_prediction_contract_with_robustness_and_every_modality_status(scorer):
    plain = scorer.score(features(), withhold=["audio"]).to_json()
    assert plain["robustness"] is None
    assert plain["modality_status"] == {
        "video": {"present": True, "kind": "ok", "reason": "", "withheld": False},
        "audio": {"present": True, "kind": "ok", "reason": "", "withheld": True},
        "text": {"present": False, "kind": "not_given", "reason": "no features given", "withheld": False}}
    full = scorer.score(features(), robustness=True).to_json()
    assert set(full) == set(plain)  # the same shape, robustness filled in
    assert [r["modalities"] for r in full["robustness"]] == [["video"], ["audio"], ["video", "audio"]]
    assert full["robustness"][-1]["score"] == pytest.approx(full["score"], abs=1e-4)


def test_concurrent_requests_give_the_serial_answers(scorer):
    inputs = [features(seed) for seed in range(8)]
    serial = [scorer.score(f).score for f in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda f: scorer.score(f).score, inputs))
    assert parallel == pytest.approx(serial, abs=1e-6)


def test_bad_features_are_clear_errors(scorer):
    with pytest.raises(DataError, match=r"video features: shape is \(9, 11\), expected \[T, 12\]"):
        scorer.score({"video": np.zeros((9, 11), np.float32)})
    with pytest.raises(DataError, match="NaN"):
        scorer.score({"video": np.full((3, 12), np.nan, np.float32)})
    with pytest.raises(LimssrError, match="not one this checkpoint knows"):
        scorer.score({"lidar": np.zeros((3, 2), np.float32)})
    with pytest.raises(LimssrError, match="no usable modality"):
        scorer.score({"video": np.zeros((3, 12), np.float32)}, withhold=["video"])


def test_a_routine_longer_than_one_block_is_scored_over_windows_that_cover_it(scorer):
    rng = np.random.default_rng(3)
    long = {"video": rng.standard_normal((20, 12)).astype(np.float32)}  # T=6 for video: 4 windows
    prediction = scorer.score(long)
    assert len(prediction.windows) == 4 and prediction.windows[-1].end_segment == 20
    assert prediction.score == pytest.approx(np.mean([w.score for w in prediction.windows]), abs=1e-4)
    assert "mean over 4 consecutive windows" in prediction.window_rule
    changed = {"video": long["video"].copy()}
    changed["video"][:3] += 5.0  # outside the centre crop (segments 7-12): a centre-crop score would not move
    assert scorer.score(changed).score != pytest.approx(prediction.score, abs=1e-6)
    short = scorer.score({"video": long["video"][:5]})
    assert len(short.windows) == 1 and short.window_rule.startswith("one window")
