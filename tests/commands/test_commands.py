"""The command line end to end on synthetic data: synth-features -> train -> evaluate -> predict; the exit rule."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from limssr_core.commands import main
from limssr_core.evaluation.metrics import all_modality_subsets


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data, run = root / "data", root / "run"
    assert main(["synth-features", "--out", str(data), "--n", "60", "--modalities", "video:6,audio:5",
                 "--length", "4:8", "--missing-rate", "0.2", "--seed", "1"]) == 0
    assert main(["train", "--data", str(data), "--out", str(run), "--backbone", "tiny-random", "--epochs", "2",
                 "--length", "6", "--train-missing", "fixed:0.3", "--no-progress"]) == 0
    return data, run


def test_evaluate_writes_the_json_contract_and_predictions_csv(trained, tmp_path, capsys):
    data, run = trained
    out_json, out_csv = tmp_path / "eval.json", tmp_path / "pred.csv"
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(data), "--split", "all", "--json",
                 str(out_json), "--predictions", str(out_csv), "--no-progress"]) == 0
    assert "| video + audio |" in capsys.readouterr().out
    summary = json.loads(out_json.read_text())
    assert set(summary) == {"subsets", "full", "average_incomplete"}
    assert [s["modalities"] for s in summary["subsets"]] == [list(s) for s in all_modality_subsets(["video", "audio"])]
    for subset in summary["subsets"]:
        assert set(subset) == {"modalities", "spearman", "mse", "n", "constant"} and 0 < subset["n"] <= 60
    assert set(summary["full"]) == {"spearman", "mse", "constant"}
    assert set(summary["average_incomplete"]) == {"spearman", "mse"}
    with open(out_csv) as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["sample_id", "subset", "target", "prediction"]
    assert {row["subset"] for row in rows} == {"video", "audio", "video+audio"}
    assert len([r for r in rows if r["subset"] == "video+audio"]) == 60


def test_predict_prints_score_and_all_weights(trained, tmp_path, capsys):
    _, run = trained
    np.save(tmp_path / "video.npy", np.random.default_rng(0).standard_normal((7, 6)).astype(np.float32))
    report = tmp_path / "out" / "report.html"
    assert main(["predict", "--checkpoint", str(run), "--sample", str(tmp_path), "--report", str(report)]) == 0
    result = json.loads(capsys.readouterr().out)
    page = report.read_text()
    assert f"score {result['score']:.1f} on a 0-100 scale" in page and "no features given" in page
    assert 0 <= result["score"] <= 100 and result["score_name"] == "score"
    assert result["used_modalities"] == ["video"] and result["missing_modalities"] == ["audio"]
    weights = result["weights"]
    assert set(weights) == {"path_weight_main", "path_weight_aux", "modality_gate", "confidence",
                            "fusion_role_weights"}
    assert weights["confidence"]["video"] == 1.0 and weights["confidence"]["audio"] < 1.0
    assert len(weights["fusion_role_weights"]) == 4


def test_predict_refuses_to_withhold_the_only_modality(trained, tmp_path, capsys):
    _, run = trained
    np.save(tmp_path / "video.npy", np.ones((3, 6), np.float32))
    assert main(["predict", "--checkpoint", str(run), "--sample", f"video={tmp_path / 'video.npy'}",
                 "--withhold", "video"]) == 2
    assert "no usable modality" in capsys.readouterr().err


def test_evaluate_refuses_data_from_another_feature_space(trained, tmp_path, capsys):
    _, run = trained
    other = tmp_path / "other"
    assert main(["synth-features", "--out", str(other), "--n", "10", "--modalities", "video:7,audio:5"]) == 0
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(other), "--no-progress"]) == 2
    assert "modality 'video' has dim 7, the checkpoint expects 6" in capsys.readouterr().err


def test_existing_run_is_not_overwritten_silently(trained, capsys):
    data, run = trained
    assert main(["train", "--data", str(data), "--out", str(run), "--backbone", "tiny-random"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_errors_are_messages_not_tracebacks(tmp_path):
    result = subprocess.run([sys.executable, "-m", "limssr_core", "train", "--data", str(tmp_path), "--out",
                             str(tmp_path / "run"), "--backbone", "tiny-random"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "dataset.json: not found" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["synth-features", "convert", "train", "evaluate", "calibrate", "predict", "score",
                                     "push", "demo",
                                     "synth-routines", "extract", "synth-diagnose"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_every_run_carries_its_baseline_and_evaluate_shows_it_beside_the_model(trained, tmp_path, capsys):
    data, run = trained
    assert (run / "baseline.safetensors").is_file()
    card = (run / "README.md").read_text()
    assert "## Against the built-in baseline" in card and "ridge baseline rho" in card
    out_json = tmp_path / "eval.json"
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(data), "--split", "test", "--baseline",
                 "--json", str(out_json), "--no-progress"]) == 0
    assert "| LIMSSR rho | ridge baseline rho |" in capsys.readouterr().out
    summary = json.loads(out_json.read_text())
    assert set(summary["baseline"]) == {"subsets", "full", "average_incomplete"}
    assert summary["baseline"]["subsets"][0]["n"] == summary["subsets"][0]["n"]

    # a dataset with no train split (a user's own test routines): the baseline comes from the checkpoint, unchanged
    import csv
    import shutil

    only_test = tmp_path / "only_test"
    shutil.copytree(data, only_test)
    with open(data / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(only_test / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["split"] == "test")
    assert any(r["split"] == "train" for r in rows)
    again = tmp_path / "eval_only_test.json"
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(only_test), "--split", "test", "--baseline",
                 "--json", str(again), "--no-progress"]) == 0
    assert json.loads(again.read_text())["baseline"] == summary["baseline"]


def test_predict_says_exactly_what_is_wrong_with_a_feature_file(trained, tmp_path, capsys):
    _, run = trained
    (tmp_path / "video.txt").write_text("1 2 3")
    np.save(tmp_path / "audio.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases = {f"video={tmp_path / 'video.txt'}": "not a .npy feature file",
             f"video={tmp_path / 'nope.npy'}": "no such feature file",
             f"lidar={tmp_path / 'video.txt'}": "'lidar' is not a modality of this checkpoint",
             str(tmp_path / "clip.npy"): "cannot tell which modality this is from its name",
             f"audio={tmp_path / 'audio.npy'}": "holds pickled Python objects"}
    for item, message in cases.items():
        assert main(["predict", "--checkpoint", str(run), "--sample", item]) == 2
        err = capsys.readouterr().err
        assert message in err and "unsafely" not in err, (item, err)
