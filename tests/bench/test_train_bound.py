"""The compute-floor script stays runnable and its arithmetic is right (its figures are measured by running it)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


def test_the_floor_is_the_run_s_operations_at_the_given_rate():
    from train_bound import floor_seconds

    # 2 epochs of (3 steps of 10 FLOP + 4 passes of 1 FLOP) = 68 FLOP at 2 FLOP/s
    assert floor_seconds(2, 3, 10.0, 4, 1.0, 2.0) == pytest.approx(34.0)
    assert floor_seconds(2, 3, 10.0, 0, 1.0, 2.0) < floor_seconds(2, 3, 10.0, 4, 1.0, 2.0)


def test_train_bound_prints_its_figures():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "train_bound.py"), "--backbone", "tiny-random",
                             "--samples", "12", "--epochs", "2", "--steps", "1", "--gemm-seconds", "0.05"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("JSON "))[5:])
    assert figures["train_step_gflop"] > 0 and figures["forward_gflop_per_pass"] > 0
    # a step (forward and backward) costs more than one sample's forward: FlopCounterMode saw the backward too
    assert figures["train_step_gflop"] > figures["forward_gflop_per_pass"]
    assert 0 < figures["floor_minutes_at_peak_gemm"] <= figures["minutes_at_the_step_rate"] * 1.01
    assert figures["validation_passes_per_epoch"] == figures["validation_samples"] * 15
