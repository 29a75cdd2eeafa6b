"""How a training run meets accelerate: the Accelerator (devices, precision, DDP), the experiment tracker it drives,
and the per-epoch sample order its prepared loader shards across processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from limssr_core.errors import LimssrError
from limssr_core.runtime import has_package


class EpochOrder(torch.utils.data.Sampler):
    """The training split's order in one epoch: a permutation seeded by (seed, epoch), the same in every process.

    The training loader is prepared by accelerate, which shards its batches across processes (process i takes
    batches i, i + N, ...) and pads the last round from the start of the order so every process takes the same
    number of steps (`even_batches`); `set_epoch` is how it (and resume) selects the epoch's permutation.
    """

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        return iter(np.random.default_rng(self.seed * 1000 + self.epoch).permutation(self.size).tolist())

    def __len__(self) -> int:
        return self.size


TRACKER_PACKAGES = {"tensorboard": "tensorboard", "trackio": "trackio", "wandb": "wandb"}


def check_tracker(log_with: str) -> str | None:
    """`none` -> None; a tracker accelerate drives -> its name, if its package is installed."""
    if log_with in ("none", "", None):
        return None
    if log_with not in TRACKER_PACKAGES:
        raise LimssrError(f"--log-with {log_with!r}: use none, {', '.join(TRACKER_PACKAGES)}")
    if not has_package(TRACKER_PACKAGES[log_with]):
        raise LimssrError(f"--log-with {log_with} needs its package: pip install {TRACKER_PACKAGES[log_with]}")
    return log_with


def make_accelerator(cuda: bool, precision: str, log_with: str | None = None, project_dir: Path | None = None):
    """An Accelerator with this precision, even after one with another precision in this process.

    accelerate keeps one process-wide state and refuses a second precision; a single (non-distributed) process may
    train several models in turn (tests, notebooks), so its stale precision is dropped rather than reused.
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, DistributedType
    from accelerate.utils import DistributedDataParallelKwargs

    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") != precision and state.get("distributed_type") == DistributedType.NO:
        AcceleratorState._reset_state()
    # With per-sample masks a projector may see no observed sample on one process in one step: it then takes no
    # part in that process's loss, and DDP must not wait for its gradient.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    return Accelerator(cpu=not cuda, mixed_precision=precision, log_with=log_with, project_dir=project_dir,
                       kwargs_handlers=[ddp])
