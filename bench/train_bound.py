"""The compute floor of issue #13's 5-minute target: how fast `train` on 30 samples x 30 epochs could be on this CPU.

    .venv/bin/python bench/train_bound.py                     # the embedded backbone, the train bench's data
    .venv/bin/python bench/train_bound.py --out bench/results/train_bound_DATE.json

`bench/train_bench.py` times the whole run; this script says how much of that time is arithmetic the recipe cannot
skip. It counts the floating-point operations of one real training step and of one validation forward (PyTorch's
`FlopCounterMode`: every matmul, convolution and attention of the forward and backward passes), measures the best
fp32 matrix-multiply rate this machine reaches (large GEMMs, and GEMMs of the body's own shapes), and divides: the
run cannot finish faster than its operations at that rate, whatever the code around them does. It also times the
real step and reports the rate it reaches, so the distance from the floor is the overhead that could still go.
The floor is the first run's (30 epochs with validation); with a carved split `train` now also refits (`--refit
auto`), which adds the chosen number of epochs of training steps on every sample and no validation.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures_io import report_figures  # noqa: E402
from training_step import (  # noqa: E402
    DIMS,
    first_batch,
    make_trainer,
    step_and_forward,
    write_coach_dataset,
)

from limssr_core.runtime import cpu_threads  # noqa: E402


def floor_seconds(epochs: int, train_steps: int, step_flops: float, validation_passes: int,
                  forward_flops_per_pass: float, flops_per_second: float) -> float:
    """The least time a run's arithmetic takes at `flops_per_second`: every epoch's training steps and validation
    forward passes (one pass: one sample under one modality subset)."""
    per_epoch = train_steps * step_flops + validation_passes * forward_flops_per_pass
    return epochs * per_epoch / flops_per_second


def gemm_rate(m: int, k: int, n: int, dtype: torch.dtype = torch.float32, seconds: float = 2.0) -> float:
    """The rate (FLOP/s) of repeated [m, k] x [k, n] products in `dtype`, best of several timed rounds."""
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    for _ in range(3):
        a @ b
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        for _ in range(5):
            a @ b
        best = max(best, 5 * 2 * m * k * n / (time.perf_counter() - started))
    return best


def minutes(seconds: float) -> float:
    return float(f"{seconds / 60:.4g}")  # four significant digits: a tiny test run's floor is not rounded to 0


def count_flops(function) -> int:
    with FlopCounterMode(display=False) as counter:
        function()
    return counter.get_total_flops()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30, help="labelled samples (all split=train), as train_bench")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--precision", default="auto",
                        help="the training's mixed_precision (auto: bf16 on AMX / AVX512-BF16 CPUs, else fp32)")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (after one warm-up step)")
    parser.add_argument("--gemm-seconds", type=float, default=2.0, help="timing of each matrix-multiply rate")
    parser.add_argument("--target-minutes", type=float, default=5.0)
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        trainer = make_trainer(write_coach_dataset(Path(tmp) / "data", args.samples), Path(tmp) / "run",
                               args.precision, args.backbone, args.epochs)
        model, batch_size = trainer.model, trainer.config.training.batch_size
        batch = first_batch(trainer, batch_size)
        step, forward = step_and_forward(trainer, batch)
        step_flops, forward_flops = count_flops(step), count_flops(forward)
        step()  # warm-up
        times = []
        for _ in range(args.steps):
            started = time.perf_counter()
            step()
            times.append(time.perf_counter() - started)
        step_seconds = sorted(times)[len(times) // 2]
        sequence_length = len(model.layout(tuple(bool(v) for v in batch.lengths[0] > 0),
                                           tuple(int(v) for v in batch.lengths[0]))[0])
        n_train, n_val = len(trainer.splits.train), len(trainer.splits.select)
        hidden = model.backbone.get_input_embeddings().weight.shape[1]
        intermediate = getattr(model.backbone.config, "intermediate_size", 4 * hidden)

    tokens = batch_size * sequence_length
    timing = args.gemm_seconds
    rates = {"square 2048": gemm_rate(2048, 2048, 2048, seconds=timing),
             f"body up-projection {tokens}x{hidden}x{intermediate}": gemm_rate(tokens, hidden, intermediate,
                                                                               seconds=timing),
             f"body down-projection {tokens}x{intermediate}x{hidden}": gemm_rate(tokens, intermediate, hidden,
                                                                                 seconds=timing)}
    peak = max(rates.values())
    # bf16 products: fast only where the CPU has native bf16 (AVX512-BF16 / AMX); `train --precision bf16` then
    # runs the body's matmuls at this rate (its floor below), elsewhere much slower (bench/precision_bench.py)
    bf16_peak = max(gemm_rate(2048, 2048, 2048, torch.bfloat16, timing),
                    gemm_rate(tokens, hidden, intermediate, torch.bfloat16, timing))
    train_steps = math.ceil(n_train / batch_size)
    subsets = 2 ** len(DIMS) - 1
    validation_passes = n_val * subsets
    per_pass = forward_flops / batch_size
    floor = floor_seconds(args.epochs, train_steps, step_flops, validation_passes, per_pass, peak)
    at_step_rate = floor_seconds(args.epochs, train_steps, step_flops, validation_passes, per_pass,
                                 step_flops / step_seconds)
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {cpu_threads()} torch threads",
        "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "backbone": args.backbone,
        "precision": args.precision, "samples": args.samples, "epochs": args.epochs, "train_samples": n_train, "validation_samples": n_val,
        "train_steps_per_epoch": train_steps, "validation_passes_per_epoch": validation_passes,
        "sequence_length": sequence_length, "train_step_gflop": round(step_flops / 1e9, 1),
        "forward_gflop_per_pass": round(per_pass / 1e9, 2),
        "run_tflop": round(args.epochs * (train_steps * step_flops + validation_passes * per_pass) / 1e12, 1),
        "gemm_gflops": {name: round(rate / 1e9, 1) for name, rate in rates.items()},
        "train_step_s": round(step_seconds, 2), "train_step_gflops": round(step_flops / step_seconds / 1e9, 1),
        "bf16_gemm_gflops": round(bf16_peak / 1e9, 1),
        "floor_minutes_at_peak_gemm": minutes(floor),
        "floor_minutes_at_bf16_peak_gemm": minutes(floor_seconds(args.epochs, train_steps, step_flops,
                                                                  validation_passes, per_pass, bf16_peak)),
        "minutes_at_the_step_rate": minutes(at_step_rate),
        "target_minutes": args.target_minutes,
        "speed_up_needed_beyond_peak": round(floor / 60 / args.target_minutes, 2),
    }
    report_figures(figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
