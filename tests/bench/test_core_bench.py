"""The benchmark script stays runnable (figures themselves are measured by running it, never asserted here)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_bench_prints_its_figures():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "core_bench.py"), "--device", "cpu", "--backbone",
                             "tiny-random", "--length", "4", "--steps", "1", "--warmup", "0"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("JSON "))
    figures = json.loads(line[5:])
    for key in ("train_step_ms", "train_ms_per_sample", "infer_batch1_ms", "infer_batch8_ms", "peak_rss_gib"):
        assert figures[key] > 0
    assert figures["sequence_length"] > 3 * 4
