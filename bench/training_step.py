"""The training step the CPU benches time (bench/precision_bench.py, bench/threads_bench.py, bench/train_bound.py): a Trainer of the
embedded backbone on random features with the embedded extractors' dims and the demo checkpoint's T, one fixed batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from limssr_core.data.collate import LimssrBatch, collate
from limssr_core.data.dataset import load_dataset
from limssr_core.data.generic import read_labels, write_labels
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


def write_coach_dataset(folder: Path, samples: int) -> Path:
    """A coach's labelled routines (bench/train_bench.py, bench/train_bound.py): random features, every row
    split=train (no val or test rows, so validation is carved), routines longer than the crop."""
    write_synthetic_dataset(folder, SynthOptions(modalities=DIMS, n_samples=samples, min_length=40, max_length=60,
                                                 missing_rate=0.1, seed=0))
    rows = read_labels(folder)
    for row in rows:
        row.split = "train"
    write_labels(folder, rows)
    return folder


def make_trainer(data: Path, run: Path, precision: str, backbone: str, epochs: int = 30, length: str = LENGTH,
                 model: dict | None = None) -> Trainer:
    """A CPU Trainer of `backbone` on the dataset at `data`; `model`: further model settings (e.g. lora_dropout)."""
    dataset = load_dataset(data, progress=False)
    config = build_config(dataset, length=length, model={"backbone": backbone, **(model or {})},
                          training={"mixed_precision": precision, "epochs": epochs})
    return Trainer(config, dataset, run, backbone=load_backbone(backbone), progress=False, device="cpu")


def first_batch(trainer: Trainer, batch_size: int) -> LimssrBatch:
    chunk = trainer.splits.train[:batch_size]
    return collate(chunk, trainer.config.modalities, trainer.policy.masks(chunk), rng=trainer.crop_rng)


def step_and_forward(trainer: Trainer, batch: LimssrBatch) -> tuple[Callable[[], None], Callable[[], None]]:
    """(one optimiser step, one no-grad forward) of the trainer's model on `batch`, under its autocast."""
    model = trainer.model

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


def training_step(data: Path, run: Path, precision: str, backbone: str, batch_size: int
                  ) -> tuple[Callable[[], None], Callable[[], None]]:
    """(one optimiser step, one no-grad forward) on a fixed batch of `batch_size` training samples."""
    trainer = make_trainer(data, run, precision, backbone)
    return step_and_forward(trainer, first_batch(trainer, batch_size))


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    """The median wall time of `repeats` calls of `work`."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]
