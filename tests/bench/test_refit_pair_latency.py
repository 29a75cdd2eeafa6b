"""The pair-latency bench stays runnable and times what it says: a pair of two members against one model."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from limssr_core.data.dataset import load_dataset
from limssr_core.model.checkpoint import load_checkpoint
from limssr_core.model.ensemble import LimssrEnsemble
from limssr_core.model.limssr import LimssrModel
from limssr_core.training.run import build_config, train

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


@pytest.fixture(scope="module")
def refitted_run(module_synth_dataset):
    dataset = load_dataset(module_synth_dataset, progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 2, "batch_size": 8, "warmup_epochs": 1, "refit": "on"})
    run = module_synth_dataset.parent / "run"
    train(config, dataset, run, device="cpu", progress=False)
    return run, module_synth_dataset


def test_the_copies_are_the_pair_and_the_refitted_model_alone(refitted_run, tmp_path):
    from refit_pair_latency import copies

    run, _ = refitted_run
    pair, alone = copies(run, tmp_path)
    assert isinstance(load_checkpoint(pair), LimssrEnsemble) and isinstance(load_checkpoint(alone), LimssrModel)
    with pytest.raises(SystemExit, match="not a refitted run"):
        copies(alone, tmp_path / "again")


def test_the_bench_prints_both_timings_and_their_ratio(refitted_run):
    run, data = refitted_run
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "refit_pair_latency.py"), str(run), str(data),
                             "--samples", "2", "--timeline", "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("JSON "))[5:])
    assert figures["routines"] == 2 and figures["score_s_median_pair"] > 0 and figures["score_s_median_alone"] > 0
    assert figures["score_ratio_pair_over_alone"] > 0  # (the tiny body's times are too short to compare rounded)
    assert figures["timeline_s_median_pair"] >= 0 and "timeline_ratio_pair_over_alone" in figures
