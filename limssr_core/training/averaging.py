"""Which weights a run keeps: the best epoch on the validation split, or the average of the late epochs' weights.

With a large validation split, validating every epoch and keeping the best one is the paper's protocol. With a
small one (a coach's thirty routines leave four or five to validate on) the best epoch is picked by noise, and
validating under every modality subset each epoch costs about as much as training. `--keep-weights average` (or
`auto` below MIN_SELECTION_SAMPLES validation samples) instead keeps the mean of the trainable weights at the end of
each epoch of the second half (stochastic weight averaging over the cosine tail) and validates once, at the end.
`best-epoch` is the default: docs/method.md ("Small data") gives the measured effect of averaging.
"""

from __future__ import annotations

import torch

from limssr_core.errors import LimssrError

KEEP_CHOICES = ("auto", "best-epoch", "average")
MIN_SELECTION_SAMPLES = 40  # `auto` validates every epoch only with at least this many validation samples


def resolve_keep(keep: str, n_select: int) -> str:
    """`auto` -> `best-epoch` with at least MIN_SELECTION_SAMPLES validation samples, else `average`."""
    if keep not in KEEP_CHOICES:
        raise LimssrError(f"--keep-weights must be one of {', '.join(KEEP_CHOICES)}, got {keep!r}")
    if keep == "auto":
        return "best-epoch" if n_select >= MIN_SELECTION_SAMPLES else "average"
    return keep


def first_averaged_epoch(epochs: int) -> int:
    """The first epoch (0-based) whose end-of-epoch weights enter the average: the second half of the run."""
    return epochs // 2


class WeightAverage:
    """The running mean of a model's trainable state (LoRA, projectors, new token rows, heads, BatchNorm buffers).

    Hand-written rather than `torch.optim.swa_utils.AveragedModel`, which deep-copies and averages the whole model,
    the frozen LLM body included; here only the few megabytes that training changes are kept. Integer buffers
    (BatchNorm's batch counter) take the latest value.
    """

    def __init__(self) -> None:
        self.count = 0
        self.state: dict[str, torch.Tensor] = {}

    def update(self, state: dict[str, torch.Tensor]) -> None:
        self.count += 1
        for key, value in state.items():
            value = value.detach().cpu()
            if key in self.state and value.is_floating_point():
                mean = self.state[key]
                mean.add_(value.to(mean.dtype) - mean, alpha=1.0 / self.count)
            else:
                self.state[key] = value.clone().float() if value.is_floating_point() else value.clone()

    def averaged(self, like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The mean, each tensor in the dtype of `like`'s (the model's own state) for load_state_dict."""
        if not self.count:
            raise LimssrError("no epoch's weights were averaged")
        return {key: value.to(like[key].dtype) if key in like else value for key, value in self.state.items()}

    def to_state(self) -> dict:
        return {"count": self.count, "state": self.state}

    @classmethod
    def from_state(cls, raw: dict) -> "WeightAverage":
        average = cls()
        average.count, average.state = int(raw["count"]), dict(raw["state"])
        return average
