"""The shared-prompt benchmark stays runnable (its timings are measured by running it, never asserted here)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_prefix_bench_times_both_ways_on_batches_that_share_the_prompts_opening():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "prefix_bench.py"), "--backbone", "tiny-random",
                             "--length", "video=4,flow=4,audio=4,commentary=2", "--repeats", "1",
                             "--precision", "no"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("JSON "))[5:])
    for way in ("one_call", "shared_prompt"):
        assert figures[f"{way}_step_s"] > 0 and figures[f"{way}_forward_s"] > 0
    assert 8 <= figures["shared_positions_step_batch"] < figures["sequence_positions"]
    assert figures["max_abs_difference_y"] < 1e-4  # fp32: the same outputs either way
