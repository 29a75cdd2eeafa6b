"""The LoRA branches' overheads in a CPU training step, side by side: their dropout masks and input casts.

    .venv/bin/python bench/lora_bench.py --out bench/results/lora_bench_DATE.json

Times one dropout call on a LoRA input of the train bench's shape (batch 8, the demo checkpoint's sequence length,
the body's width), torch's `nn.Dropout` against `FastDropout` (model/dropout.py), and one training step (forward +
backward + AdamW, under the precision and training attention `train` picks here) of the embedded backbone at the
train bench's shapes, on the same model and batch, three ways: torch's dropout with peft's input casts (before
2026-12-07), `FastDropout` with them, and `FastDropout` with LoRA inputs left in the body's dtype under bf16 autocast
(`lora_inputs_uncast`, today's training step). Also checks that both dropouts keep about 1 - p of the values and
that the uncast path's loss (eval mode, no dropout) equals the cast one's. Prints its figures and a JSON line.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures_io import report_figures  # noqa: E402
from training_step import (LENGTH, first_batch, make_trainer, median_seconds, step_and_forward,  # noqa: E402
                           write_features)

from limssr_core.model.backbone import attention_implementation, lora_inputs_uncast  # noqa: E402
from limssr_core.model.dropout import FastDropout, use_fast_dropout  # noqa: E402
from limssr_core.runtime import cpu_threads, resolve_train_attention  # noqa: E402

STEPS = {"torch_dropout_cast": (False, False), "fast_dropout_cast": (True, False),  # name -> (fast dropout, uncast)
         "fast_dropout_uncast": (True, True)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--precision", default="auto", help="the training's mixed_precision (auto: what `train` does)")
    parser.add_argument("--length", default=LENGTH)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds of the three steps (medians reported)")
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = make_trainer(write_features(Path(tmp) / "data"), Path(tmp) / "run", args.precision, args.backbone,
                               length=args.length)
        batch = first_batch(trainer, 8)
        p = trainer.config.lora_dropout
        embeds, _, _ = trainer.unwrapped.build_inputs(batch)  # [B, L, D]: what each LoRA layer's input is shaped as
        _, sequence, width = embeds.shape
        # peft casts a LoRA branch's input to its adapter's dtype (fp32 here) before the dropout
        dtype = next(w for n, w in trainer.unwrapped.named_parameters() if "lora_A" in n).dtype
        figures = {"machine": f"{platform.processor() or platform.machine()}, {cpu_threads()} torch threads",
                   "cpu_capability": torch.backends.cpu.get_cpu_capability(), "date": time.strftime("%Y-%m-%d"),
                   "torch": torch.__version__, "backbone": args.backbone,
                   "precision": trainer.accelerator.mixed_precision,
                   "lora_dropout": p, "batch_size": 8, "length": args.length,
                   "dropout_input": [8, sequence, width], "dropout_input_dtype": str(dtype).replace("torch.", "")}
        x = torch.randn(8, sequence, width, dtype=dtype)
        for name, module in (("torch", nn.Dropout(p)), ("fast", FastDropout(p))):
            module.train()
            figures[f"{name}_kept_fraction"] = round(float((module(x) != 0).float().mean()), 4)
            figures[f"{name}_call_ms"] = round(1000 * median_seconds(lambda: module(x), 50), 3)
        low = x.to(torch.bfloat16)  # what the dropout sees under `lora_inputs_uncast`
        figures["fast_call_ms_bf16"] = round(1000 * median_seconds(lambda: module(low), 50), 3)
        step, _ = step_and_forward(trainer, batch)
        body, bf16 = trainer.unwrapped.backbone, trainer.bf16
        attention = resolve_train_attention(trainer.config.training.train_attention, "cpu")
        figures["train_attention_in_effect"] = attention

        def loss_without_dropout() -> float:
            trainer.model.eval()
            with torch.no_grad(), trainer.accelerator.autocast():
                return float(trainer.model(batch, compute_loss=True).loss)

        losses = {}
        for uncast in (False, True):
            with lora_inputs_uncast(body, bf16 and uncast):
                losses[uncast] = loss_without_dropout()
        figures["uncast_loss_abs_difference"] = abs(losses[True] - losses[False])
        times: dict[str, list[float]] = {name: [] for name in STEPS}
        with attention_implementation(body, attention):  # as the trainer's steps run
            for repeat in range(args.repeats + 1):  # the variants interleaved, so a busy moment hits them alike
                for name, (fast, uncast) in STEPS.items():
                    figures["lora_dropouts"] = use_fast_dropout(trainer.unwrapped, fast=fast)
                    with lora_inputs_uncast(body, bf16 and uncast):
                        seconds = median_seconds(step, 1)
                    if repeat:  # the first round warms up (allocations, kernel selection)
                        times[name].append(seconds)
        for name, values in times.items():
            figures[f"{name}_train_step_s"] = round(sorted(values)[len(values) // 2], 3)
    figures["fast_over_torch_call"] = round(figures["fast_call_ms"] / figures["torch_call_ms"], 2)
    before = figures["torch_dropout_cast_train_step_s"]
    for name in list(STEPS)[1:]:
        figures[f"{name}_over_torch_dropout_cast"] = round(figures[f"{name}_train_step_s"] / before, 2)
    report_figures(figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
