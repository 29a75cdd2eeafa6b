"""The training step the CPU benches time (bench/precision_bench.py, bench/threads_bench.py): a Trainer of the
embedded backbone on random features with the embedded extractors' dims and the demo checkpoint's T, one fixed batch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from limssr_core.data.collate import collate
from limssr_core.data.dataset import load_dataset
from limssr_core.data.synth import SynthOptions, write_synthetic_dataset
from limssr_core.model.backbone import load_backbone
from limssr_core.training.run import build_config
from limssr_core.training.trainer import Trainer

DIMS = {"video": 1280, "flow": 128, "audio": 140, "commentary": 384}  # the embedded extractors' dims
LENGTH = "video=32,flow=32,audio=32,commentary=16"  # the demo checkpoint's T per modality


def write_features(folder: Path, samples: int = 16) -> Path:
    """Random features of routines longer than the crop (every block has its full T segments)."""
    write_synthetic_dataset(folder, SynthOptions(modalities=DIMS, n_samples=samples, min_length=40, max_length=60,
                                                 missing_rate=0.0, seed=0))
    return folder


def training_step(data: Path, run: Path, precision: str, backbone: str, batch_size: int
                  ) -> tuple[Callable[[], None], Callable[[], None]]:
    """(one optimiser step, one no-grad forward) on a fixed batch of `batch_size` training samples."""
    dataset = load_dataset(data, progress=False)
    config = build_config(dataset, length=LENGTH, model={"backbone": backbone},
                          training={"mixed_precision": precision})
    trainer = Trainer(config, dataset, run, backbone=load_backbone(backbone), progress=False, device="cpu")
    model, chunk = trainer.model, trainer.splits.train[:batch_size]
    batch = collate(chunk, trainer.config.modalities, trainer.policy.masks(chunk), rng=trainer.crop_rng)

    def step() -> None:
        model.train()
        with trainer.accelerator.autocast():
            out = model(batch, compute_loss=True)
        trainer.accelerator.backward(out.loss)
        trainer.optimizer.step()
        trainer.optimizer.zero_grad(set_to_none=True)

    def forward() -> None:
        model.eval()
        with torch.no_grad(), trainer.accelerator.autocast():
            model(batch)

    return step, forward
