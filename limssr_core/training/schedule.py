"""The learning-rate schedule: linear warm-up, then cosine down to `min_lr_ratio` of the peak (the paper's recipe).

Selection reads the warm-up too: epochs inside it are neither validated nor chosen (Trainer.after_warmup).
"""

from __future__ import annotations

import math
from collections.abc import Callable


def warmup_steps(warmup_epochs: int, steps_per_epoch: int, total_steps: int) -> int:
    """The warm-up's length in optimiser steps: `warmup_epochs` epochs, at most a quarter of all steps."""
    return min(warmup_epochs * steps_per_epoch, total_steps // 4)


def lr_lambda(total_steps: int, warmup: int, min_ratio: float) -> Callable[[int], float]:
    """The factor on the peak learning rate after `step` steps (torch's LambdaLR)."""
    warmup = max(1, warmup)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor
