"""Split-conformal intervals: the rank rule, refusal below 9 samples, coverage on held-out data, wider when a
modality is missing; and the percentile against the training labels."""

import math

import numpy as np
import pytest

from limssr_core.inference.calibration import (
    Calibration,
    calibration_from_rows,
    conformal_radius,
    min_calibration_samples,
)


def test_the_conformal_rank_and_the_minimum_sample_count():
    assert min_calibration_samples(0.9) == 9 and min_calibration_samples(0.8) == 4
    errors = list(range(1, 10))  # 9 errors: rank ceil(10 * 0.9) = 9 -> the largest
    assert conformal_radius(errors, 0.9) == 9
    assert math.isinf(conformal_radius(errors[:8], 0.9))  # 8 errors: rank 9 > 8, not finite
    assert conformal_radius(list(range(1, 20)), 0.9) == 18  # rank ceil(20 * 0.9) = 18


def test_too_few_calibration_samples_says_so_instead_of_inventing_an_interval():
    calibration = Calibration("split-conformal", "val", {"video": [1.0] * 5}, [])
    interval = calibration.interval(50.0, ["video"], (0.0, 100.0))
    assert interval.low is None and interval.high is None and interval.n_calibration == 5
    assert "not enough calibration data" in interval.reason and "9 needed" in interval.reason
    assert calibration.interval(50.0, ["audio"], (0.0, 100.0)).n_calibration == 0
    assert calibration.percentile(50.0) is None


def test_intervals_are_clipped_to_the_scale_and_percentiles_interpolate():
    rows = [{"subset": "video", "target": t, "prediction": t + 2.0} for t in range(20)]
    calibration = calibration_from_rows(rows, "val", train_labels=list(np.linspace(0, 100, 201)))
    interval = calibration.interval(99.0, ["video"], (0.0, 100.0))
    assert interval.low == pytest.approx(97.0) and interval.high == 100.0
    assert calibration.percentile(25.0) == pytest.approx(25.0, abs=0.6)
    assert calibration.percentile(-5.0) == 0.0 and calibration.percentile(500.0) == 100.0


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    from limssr_core.data.dataset import load_dataset
    from limssr_core.data.synth import SynthOptions, write_synthetic_dataset
    from limssr_core.inference.scorer import Scorer
    from limssr_core.model.backbone import load_backbone
    from limssr_core.training.run import build_config, train

    root = tmp_path_factory.mktemp("calibration")
    write_synthetic_dataset(root / "data", SynthOptions(modalities={"video": 12, "audio": 8, "text": 6},
                                                        n_samples=1000, min_length=4, max_length=8, seed=11,
                                                        split_fractions=(0.4, 0.3, 0.3)))
    dataset = load_dataset(root / "data", progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 2, "batch_size": 16, "warmup_epochs": 1, "train_missing": "fixed:0.3"})
    train(config, dataset, root / "run", backbone=load_backbone("tiny-random"), progress=False, device="cpu")
    return Scorer(root / "run"), dataset


def test_training_calibrates_and_90_percent_intervals_cover_held_out_scores(calibrated):
    scorer, dataset = calibrated
    assert scorer.calibration is not None and scorer.calibration.split == "val"
    test = [s for s in dataset.split("test") if len(s.features) == 3]
    covered, widths = [], {}
    for sample in test:
        prediction = scorer.score(sample.features)
        target = scorer.config.denormalise(sample.target)
        covered.append(prediction.interval.low <= target <= prediction.interval.high)
        assert prediction.interval.modalities == ["video", "audio", "text"] and 0 <= prediction.percentile <= 100
    assert 0.85 <= np.mean(covered) <= 0.95, np.mean(covered)
    for subset in (["video"], ["video", "audio", "text"]):
        withhold = [m for m in ("video", "audio", "text") if m not in subset]
        interval = scorer.score(test[0].features, withhold=withhold).interval
        widths[len(subset)] = interval.high - interval.low if interval.low is not None else math.inf
    assert widths[1] > widths[3]  # a missing modality widens the interval


def test_the_calibrate_command_writes_into_an_existing_checkpoint(calibrated, tmp_path, capsys):
    import json
    import shutil

    from limssr_core.commands import main

    scorer, dataset = calibrated
    run = tmp_path / "run"
    shutil.copytree(scorer.checkpoint, run)
    raw = json.loads((run / "limssr_config.json").read_text())
    raw["calibration"] = {}
    (run / "limssr_config.json").write_text(json.dumps(raw))
    weights = (run / "limssr_weights.safetensors").read_bytes()
    assert main(["calibrate", "--checkpoint", str(run), "--data", str(dataset.root), "--split", "test",
                 "--no-progress"]) == 0
    assert "90% intervals for 7 of 7 modality subsets" in capsys.readouterr().out
    written = json.loads((run / "limssr_config.json").read_text())["calibration"]
    assert written["split"] == "test" and len(written["errors"]["video+audio+text"]) > 100
    assert (run / "limssr_weights.safetensors").read_bytes() == weights  # no retraining, weights untouched
