"""The body's attention in training steps, side by side on this CPU: sdpa against eager (`--train-attention`).

    .venv/bin/python bench/attention_bench.py --out bench/results/train_attention_DATE.json
    .venv/bin/python bench/attention_bench.py --lora-dropout 0 --out ...   # the same without LoRA dropout

One training step (forward + backward + AdamW) and one no-grad forward of the embedded backbone at the train bench's
shapes (batch 8, the demo checkpoint's T per modality), under the precision `train` picks here (`--precision auto`:
bf16 on a CPU with AMX / AVX512-BF16, fp32 on others), each implementation timed after a warm-up, on the same model
and batch. Also prints how far the eager step's loss is from the sdpa step's on the same weights (the two compute
the same attention). Prints its figures and a JSON line.
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
from training_step import (LENGTH, first_batch, make_trainer, median_seconds, step_and_forward,  # noqa: E402
                           write_features)

from limssr_core.model.backbone import attention_implementation, transformers_body  # noqa: E402
from limssr_core.runtime import cpu_threads  # noqa: E402

IMPLEMENTATIONS = ("sdpa", "eager")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--precision", default="auto", help="the training's mixed_precision (auto: what `train` does)")
    parser.add_argument("--lora-dropout", type=float, default=None, help="LoRA dropout (default: the library's)")
    parser.add_argument("--length", default=LENGTH)
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each (the median is reported)")
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model_settings = {} if args.lora_dropout is None else {"lora_dropout": args.lora_dropout}
        trainer = make_trainer(write_features(Path(tmp) / "data"), Path(tmp) / "run", args.precision, args.backbone,
                               length=args.length, model=model_settings)
        model, accelerator, batch = trainer.model, trainer.accelerator, first_batch(trainer, 8)
        figures = {"machine": f"{platform.processor() or platform.machine()}, {cpu_threads()} torch threads",
                   "cpu_capability": torch.backends.cpu.get_cpu_capability(), "date": time.strftime("%Y-%m-%d"),
                   "torch": torch.__version__, "backbone": args.backbone, "precision": accelerator.mixed_precision,
                   "lora_dropout": trainer.config.lora_dropout, "batch_size": 8, "length": args.length}

        step, forward = step_and_forward(trainer, batch)  # the CPU benches' step and no-grad forward

        def loss_without_dropout() -> float:
            model.eval()  # the same computation under both implementations: no dropout masks drawn
            with torch.no_grad(), accelerator.autocast():
                return float(model(batch, compute_loss=True).loss)

        losses = {}
        for name in IMPLEMENTATIONS:
            with attention_implementation(trainer.unwrapped.backbone, name):
                figures[f"{name}_in_effect"] = transformers_body(trainer.unwrapped.backbone).config._attn_implementation
                step()  # warm-up (allocations, kernel selection)
                figures[f"{name}_train_step_s"] = round(median_seconds(step, args.repeats), 3)
                forward()
                figures[f"{name}_forward_s"] = round(median_seconds(forward, args.repeats), 3)
        for name in IMPLEMENTATIONS:
            with attention_implementation(trainer.unwrapped.backbone, name):
                losses[name] = loss_without_dropout()
    figures["eager_over_sdpa_train_step"] = round(figures["eager_train_step_s"] / figures["sdpa_train_step_s"], 2)
    figures["eager_over_sdpa_forward"] = round(figures["eager_forward_s"] / figures["sdpa_forward_s"], 2)
    figures["loss_abs_difference"] = abs(losses["eager"] - losses["sdpa"])
    report_figures(figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
