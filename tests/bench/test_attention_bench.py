"""The attention benchmark stays runnable (its timings are measured by running it, never asserted here)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_attention_bench_times_both_implementations_and_they_agree():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "attention_bench.py"), "--backbone", "tiny-random",
                             "--length", "video=4,flow=4,audio=4,commentary=2", "--repeats", "1",
                             "--precision", "no"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("JSON "))[5:])
    for key in ("sdpa_train_step_s", "eager_train_step_s", "sdpa_forward_s", "eager_forward_s"):
        assert figures[key] > 0
    assert figures["precision"] == "no"
    assert figures["sdpa_in_effect"] == "sdpa" and figures["eager_in_effect"] == "eager"
    assert figures["loss_abs_difference"] < 1e-5  # fp32: the two implementations compute the same attention
