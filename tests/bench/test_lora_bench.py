"""The LoRA benchmark stays runnable (its timings are measured by running it, never asserted here)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_lora_bench_times_the_three_steps_and_both_dropouts_keep_one_minus_p():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "lora_bench.py"), "--backbone", "tiny-random",
                             "--length", "video=4,flow=4,audio=4,commentary=2", "--repeats", "1",
                             "--precision", "bf16"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("JSON "))[5:])
    for name in ("torch_dropout_cast", "fast_dropout_cast", "fast_dropout_uncast"):
        assert figures[f"{name}_train_step_s"] > 0
    assert figures["lora_dropouts"] > 0 and figures["precision"] == "bf16"
    for name in ("torch", "fast"):
        assert abs(figures[f"{name}_kept_fraction"] - (1 - figures["lora_dropout"])) < 0.02
    assert figures["uncast_loss_abs_difference"] == 0.0  # the same bf16 numbers reach the adapters either way
