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


def test_a_compiled_run_reports_its_distance_from_the_eager_predictions():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "core_bench.py"), "--device", "cpu", "--backbone",
                             "tiny-random", "--length", "4", "--steps", "1", "--warmup", "0", "--compile",
                             "--label", "compiled"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("JSON "))[5:])
    assert figures["compile"] == "regional default" and figures["label"] == "compiled"
    assert figures["compiled_vs_eager_max_abs"] < 1e-4  # fp32 on CPU: the compiled body computes the same scores
    assert set(figures["first_calls_s"]) == {"infer_batch", "infer1", "train"}


def test_the_gpu_table_puts_variants_side_by_side_with_ratios():
    sys.path.insert(0, str(ROOT / "bench"))
    from gpu_table import table

    base = {"label": "eager", "device": "GPU", "train_step_ms": 100.0, "infer_batch1_ms": 40.0, "infer_batch8_ms": 50.0,
            "host_syncs": "a | b"}
    fast = base | {"label": "compiled", "train_step_ms": 25.0, "first_calls_s": {"infer_batch": 2.0, "train": 3.0},
                   "compiled_vs_eager_max_abs": 0.001}
    text = table(["noise", "JSON " + json.dumps(base), "JSON " + json.dumps(fast)])
    rows = [line for line in text.splitlines() if line.startswith("| eager") or line.startswith("| compiled")]
    assert len(rows) == 2 and "25 (0.25x)" in rows[1] and "2 / 3 (sum 5)" in rows[1] and "1.00e-03" in rows[1]
    assert all(row.count("|") == rows[0].count("|") for row in rows)  # "a | b" does not split a cell
    assert table(["nothing here"]) == "no variant finished\n"
