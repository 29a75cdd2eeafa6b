"""The shared prompt on a CPU, side by side: the body run once over the whole batch against the prompt every sample
shares run once at batch 1 and the batch continued from its cache (`LimssrModel.run_body`).

    .venv/bin/python bench/prefix_bench.py --out bench/results/prefix_bench_DATE.json

One training step (forward + backward + AdamW, under the precision and training attention `train` picks here) at
batch 8 and one validation forward at batch 16 (`run_batches`' size), of the embedded backbone at the train bench's
shapes, on the same model and batches, both ways interleaved (median of `--repeats`). The masks cycle through every
modality subset, so the samples share only the prompt's opening (the least this saves; a batch of one mask shares
the whole prompt). Also checks that both ways give the same outputs (eval mode, no dropout; bf16 rounding apart).
Prints its figures and a JSON line.
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
from training_step import LENGTH, make_trainer, median_seconds, write_features  # noqa: E402

from limssr_core.data.collate import collate  # noqa: E402
from limssr_core.evaluation.metrics import all_modality_subsets  # noqa: E402
from limssr_core.model import limssr as limssr_module  # noqa: E402
from limssr_core.model.backbone import attention_implementation, lora_inputs_uncast  # noqa: E402
from limssr_core.model.prompt import shared_prefix_length  # noqa: E402
from limssr_core.runtime import cpu_threads, resolve_train_attention  # noqa: E402

WAYS = {"one_call": 10 ** 9, "shared_prompt": limssr_module.MIN_SHARED_PREFIX}  # name -> MIN_SHARED_PREFIX


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--precision", default="auto", help="the training's mixed_precision (auto: what `train` does)")
    parser.add_argument("--length", default=LENGTH)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds of each way (medians reported)")
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = make_trainer(write_features(Path(tmp) / "data"), Path(tmp) / "run", args.precision, args.backbone,
                               length=args.length)
        names = trainer.config.modality_names
        subsets = [tuple(name in subset for name in names) for subset in all_modality_subsets(names)]
        samples = trainer.splits.train
        masks = [subsets[i % len(subsets)] for i in range(16)]
        step_batch = collate(samples[:8], trainer.config.modalities, masks[:8], rng=trainer.crop_rng)
        forward_batch = collate([samples[i % len(samples)] for i in range(16)], trainer.config.modalities, masks)
        model, body = trainer.unwrapped, trainer.unwrapped.backbone
        _, _, layouts = model.build_inputs(step_batch)
        attention = resolve_train_attention(trainer.config.training.train_attention, "cpu")
        figures = {"machine": f"{platform.processor() or platform.machine()}, {cpu_threads()} torch threads",
                   "cpu_capability": torch.backends.cpu.get_cpu_capability(), "date": time.strftime("%Y-%m-%d"),
                   "torch": torch.__version__, "backbone": args.backbone,
                   "precision": trainer.accelerator.mixed_precision, "train_attention_in_effect": attention,
                   "length": args.length, "sequence_positions": max(len(layout) for layout in layouts),
                   "shared_positions_step_batch": shared_prefix_length(layouts),
                   "shared_positions_forward_batch": shared_prefix_length(model.build_inputs(forward_batch)[2])}

        def step() -> None:
            trainer.model.train()
            with trainer.accelerator.autocast(), attention_implementation(body, attention):
                out = trainer.model(step_batch, compute_loss=True)
            trainer.accelerator.backward(out.loss)
            trainer.optimizer.step()
            trainer.optimizer.zero_grad(set_to_none=True)

        def forward() -> torch.Tensor:
            trainer.model.eval()
            with torch.no_grad(), trainer.accelerator.autocast():
                return trainer.model(forward_batch).y

        outputs = {}
        times: dict[str, list[float]] = {f"{way}_{kind}": [] for way in WAYS for kind in ("step", "forward")}
        with lora_inputs_uncast(body, trainer.bf16):  # as the trainer's steps and validation run
            for way, minimum in WAYS.items():  # the same weights for both
                limssr_module.MIN_SHARED_PREFIX = minimum
                outputs[way] = forward().float()
            for repeat in range(args.repeats + 1):  # the ways interleaved, so a busy moment hits them alike
                for way, minimum in WAYS.items():
                    limssr_module.MIN_SHARED_PREFIX = minimum
                    if not repeat:  # the first round warms up (allocations, kernel selection)
                        step()
                        continue
                    times[f"{way}_step"].append(median_seconds(step, 1))
                    times[f"{way}_forward"].append(median_seconds(forward, 1))
        figures["max_abs_difference_y"] = float((outputs["shared_prompt"] - outputs["one_call"]).abs().max())
        for name, values in times.items():
            figures[f"{name}_s"] = round(sorted(values)[len(values) // 2], 3)
    for kind in ("step", "forward"):
        figures[f"shared_over_one_call_{kind}"] = round(figures[f"shared_prompt_{kind}_s"] /
                                                        figures[f"one_call_{kind}_s"], 3)
    report_figures(figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
