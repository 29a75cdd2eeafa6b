"""Running a LimssrModel on samples: batched forward passes in inference mode and the MDA weights they give.

The one path from samples to outputs for evaluation (`evaluation/`), scoring (`inference/`) and training-time
validation, so that all three see the same crops, precision and batching.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from limssr_core.data.collate import Sample, collate
from limssr_core.model.limssr import LimssrModel, LimssrOutput

Mask = tuple[bool, ...]  # one bit per modality in config order: observed (True) or treated as missing


def inference_context(device: torch.device) -> contextlib.ExitStack:
    """inference_mode, plus bf16 autocast on GPU."""
    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode())
    if device.type == "cuda":
        stack.enter_context(torch.autocast("cuda", dtype=torch.bfloat16))
    return stack


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def run_batches(model: LimssrModel, samples: list[Sample], masks: list[Mask], batch_size: int = 16
                ) -> Iterator[tuple[list[Sample], LimssrOutput]]:
    """Yield (samples, output) for consecutive batches in eval mode (centre crops)."""
    device = model_device(model)
    was_training = model.training
    model.eval()
    try:
        with inference_context(device):
            for start in range(0, len(samples), batch_size):
                chunk = samples[start:start + batch_size]
                batch = collate(chunk, model.config.modalities, masks[start:start + batch_size]).to(device)
                yield chunk, model(batch, compute_loss=False)
    finally:
        model.train(was_training)


def normalised_predictions(model: LimssrModel, samples: list[Sample], masks: list[Mask], batch_size: int = 16
                           ) -> np.ndarray:
    """Normalised predictions y [N] for samples under the given masks."""
    preds = [out.y.float().cpu().numpy() for _, out in run_batches(model, samples, masks, batch_size)]
    return np.concatenate(preds) if preds else np.zeros(0)


def occluded_predictions(model: LimssrModel, base: Sample, variants: list[Sample], mask: Mask,
                         batch_size: int = 16, reuse_cache: bool = True) -> np.ndarray:
    """Normalised predictions y [N] of occluded copies of one sample (`Sample.occluded`), all under one mask.

    The unoccluded sample runs once; each copy then runs only from its first occluded position on, on top of that
    pass's key/value cache (`LimssrModel.forward_occluded`). Copies are batched in order of that position, each batch
    from its earliest one: on a CPU a batch of 16 costs less than 16 single copies of a shorter length.
    A body without a plain key/value cache (or `reuse_cache=False`) runs every copy whole (`normalised_predictions`).
    """
    if not reuse_cache:
        return normalised_predictions(model, variants, [mask] * len(variants), batch_size)
    device = model_device(model)
    modalities = model.config.modalities
    was_training = model.training
    model.eval()
    try:
        with inference_context(device):
            prefix = model.prefix_state(collate([base], modalities, [mask]).to(device))
            if prefix is None:
                return normalised_predictions(model, variants, [mask] * len(variants), batch_size)
            starts = model.occlusion_starts(collate(variants, modalities, [mask] * len(variants)))
            ys = np.zeros(len(variants))
            order = sorted(range(len(variants)), key=starts.__getitem__)
            for first in range(0, len(order), batch_size):  # neighbours in start order share a batch from its first
                chunk = order[first:first + batch_size]
                batch = collate([variants[i] for i in chunk], modalities, [mask] * len(chunk)).to(device)
                ys[chunk] = model.forward_occluded(batch, prefix, starts[chunk[0]]).y.float().cpu().numpy()
            return ys
    finally:
        model.train(was_training)


def output_weights(out: LimssrOutput, index: int, names: list[str]) -> dict:
    """Every MDA weight for one sample of a batch output, as plain floats."""
    return {
        "path_weight_main": float(out.path_weight),
        "path_weight_aux": 1.0 - float(out.path_weight),
        "modality_gate": {n: float(v) for n, v in zip(names, out.modality_gate[index])},
        "confidence": {n: float(v) for n, v in zip(names, out.confidence[index])},
        "fusion_role_weights": [float(v) for v in out.role_weights],
    }


def mean_weights(weights: list[dict]) -> dict:
    """The element-wise mean of several `output_weights` dicts (e.g. over the windows of one routine)."""
    first = weights[0]
    out: dict = {}
    for key, value in first.items():
        if isinstance(value, dict):
            out[key] = {k: float(np.mean([w[key][k] for w in weights])) for k in value}
        elif isinstance(value, list):
            out[key] = [float(np.mean([w[key][i] for w in weights])) for i in range(len(value))]
        else:
            out[key] = float(np.mean([w[key] for w in weights]))
    return out
