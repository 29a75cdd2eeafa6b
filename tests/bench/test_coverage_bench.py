"""The coverage bench measures intervals as it says: a fresh half-split calibration, or the checkpoint's stored one."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from limssr_core.data.dataset import load_dataset
from limssr_core.data.synth import SynthOptions, write_synthetic_dataset
from limssr_core.model.checkpoint import read_config
from limssr_core.training.run import build_config, train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def calibrated_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("coverage")
    data = root / "data"
    write_synthetic_dataset(data, SynthOptions(modalities={"video": 12, "audio": 8}, n_samples=160, min_length=4,
                                               max_length=8, seed=5))
    dataset = load_dataset(data, progress=False)
    assert len(dataset.split("test")) >= 20  # the bench's minimum
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 1, "batch_size": 8, "warmup_epochs": 1, "refit": "off"})
    run = root / "run"
    train(config, dataset, run, device="cpu", progress=False)
    return run, data


def bench(*args: str) -> tuple[int, dict | None, str]:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "coverage_bench.py"), *args],
                            capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("JSON ")]
    return result.returncode, json.loads(lines[0][5:]) if lines else None, result.stdout + result.stderr


def test_stored_measures_the_checkpoints_own_calibration_on_the_whole_split(calibrated_run):
    run, data = calibrated_run
    stored = read_config(run).calibration
    assert stored["split"] == "val"
    code, figures, out = bench("--checkpoint", str(run), "--data", str(data), "--split", "test", "--stored")
    assert code == 0, out
    test_n = len(load_dataset(data, progress=False).split("test"))
    assert figures["calibration"] == "val" and figures["n_calibration"] == 0 and figures["n_coverage"] == test_n
    assert 0.0 <= figures["coverage_all_subsets"] <= 1.0
    assert read_config(run).calibration == stored  # measured, never rewritten

    code, _, out = bench("--checkpoint", str(run), "--data", str(data), "--split", "test", "--stored", "--write")
    assert code == 2 and "--write would replace it" in out


def test_half_split_calibrates_on_one_half_and_measures_on_the_other(calibrated_run):
    run, data = calibrated_run
    code, figures, out = bench("--checkpoint", str(run), "--data", str(data), "--split", "test")
    assert code == 0, out
    test_n = len(load_dataset(data, progress=False).split("test"))
    assert figures["calibration"] == "half of the split"
    assert figures["n_calibration"] + figures["n_coverage"] == test_n
    assert abs(figures["n_calibration"] - figures["n_coverage"]) <= 1
