"""fp32 against bf16 autocast on this CPU, side by side: one training step and one no-grad forward of the embedded
backbone at the train bench's shapes (batch 8, the demo checkpoint's T per modality).

    .venv/bin/python bench/precision_bench.py --out bench/results/precision_DATE.json

A CPU with AVX512-BF16 or AMX runs bf16 matrix products natively; one without (e.g. an AVX2-only EPYC) emulates
them, and `runtime.resolve_precision` warns when bf16 is asked for there. Prints its figures and a JSON line.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures_io import report_figures  # noqa: E402

from training_step import LENGTH, training_step, write_features  # noqa: E402

from limssr_core.runtime import cpu_has_native_bf16, cpu_threads  # noqa: E402


def time_precision(data: Path, run: Path, precision: str, backbone: str, repeats: int) -> dict:
    step, forward = training_step(data, run, precision, backbone, batch_size=8)
    step()  # warm-up (allocations, kernel selection)
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    train_step = (time.perf_counter() - started) / repeats
    forward()
    started = time.perf_counter()
    for _ in range(repeats):
        forward()
    return {"train_step_s": round(train_step, 2), "forward_s": round((time.perf_counter() - started) / repeats, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    args = parser.parse_args()
    figures = {"machine": f"{platform.processor() or platform.machine()}, {cpu_threads()} torch threads",
               "cpu_capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": cpu_has_native_bf16(),
               "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "backbone": args.backbone,
               "batch_size": 8, "length": LENGTH}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_features(Path(tmp) / "data")
        for precision in ("no", "bf16"):
            figures[precision] = time_precision(data, Path(tmp) / precision, precision, args.backbone, args.repeats)
    figures["bf16_over_fp32_train_step"] = round(figures["bf16"]["train_step_s"] / figures["no"]["train_step_s"], 2)
    figures["bf16_over_fp32_forward"] = round(figures["bf16"]["forward_s"] / figures["no"]["forward_s"], 2)
    report_figures(figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
