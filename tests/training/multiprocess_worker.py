"""Run by tests/training/test_multiprocess.py under `torchrun --nproc_per_node 2` (CPU processes, gloo): a Trainer in
each process, reporting what that process saw as JSON (one file per process) and, from the main process, the weights.

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/training/multiprocess_worker.py \\
        step|fit DATA OUT [TRAIN_MISSING]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from limssr_core.data.dataset import load_dataset  # noqa: E402
from limssr_core.training.run import build_config, train  # noqa: E402
from limssr_core.training.trainer import Trainer  # noqa: E402

NO_DROPOUT = {"projector_dropout": 0.0, "head_dropout": 0.0, "lora_dropout": 0.0}


def step_config(dataset):
    """Dropout 0 and T=10 (no sample is longer: no random crop), 4 samples per process and step, fp32 on every CPU
    (`auto` would be bf16 on one with AMX; the worker processes do not see the test suite's conftest)."""
    return build_config(dataset, model={"backbone": "tiny-random"} | NO_DROPOUT, length=10,
                        training={"epochs": 1, "batch_size": 4, "warmup_epochs": 1, "mixed_precision": "no"})


def trainable_state(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone().contiguous() for name, p in trainer.unwrapped.named_parameters()
            if p.requires_grad}


def one_step(data: Path, out: Path) -> None:
    """One optimiser step of the first global batch; the main process saves the weights and every process's share."""
    from accelerate.utils import gather_object

    dataset = load_dataset(data, progress=False)
    trainer = Trainer(step_config(dataset), dataset, out / "run", progress=False, device="cpu")
    trainer.model.train()
    trainer.loader.set_epoch(0)
    indices = [int(i) for i in next(iter(trainer.loader))]
    trainer.train_step(indices)
    shares = gather_object([indices])  # in process order
    if trainer.accelerator.is_main_process:
        save_file(trainable_state(trainer), str(out / "after_step.safetensors"))
        (out / "shares.json").write_text(json.dumps({"shares": shares, "processes": trainer.processes}))


def fit(data: Path, out: Path, train_missing: str) -> None:
    """A 2-epoch run; every process writes the validation figures it computed."""
    dataset = load_dataset(data, progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 2, "batch_size": 4, "warmup_epochs": 1, "train_missing": train_missing,
                                    "keep_weights": "best-epoch"})
    result = train(config, dataset, out / "run", device="cpu", progress=False)
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    figures = [{"epoch": row["epoch"], "steps": row["steps"], "val_full": row["val_full_spearman"],
                "val_average": row["val_average_spearman"]} for row in result.history]
    (out / f"rank{rank}.json").write_text(json.dumps({"processes": result.processes, "history": figures,
                                                       "main": result.main_process}))


if __name__ == "__main__":
    mode, data, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    if mode == "step":
        one_step(data, out)
    else:
        fit(data, out, sys.argv[4])
