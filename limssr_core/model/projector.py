"""Per-modality projectors into the LLM embedding space (the paper's Sec. 3.1; docs/method.md).

BatchNorm and per-sample masks: a projector sees only the segments of the samples that observe its modality. When
few samples do, training-mode batch statistics are those samples' own statistics, and normalising by them removes
what distinguishes them (with one observer, its mean exactly). Below `MIN_OBSERVERS` observing samples a projector
therefore normalises with its running statistics and does not update them; at or above it, batch statistics as usual.
A batch smaller than `MIN_OBSERVERS` (the last one of an epoch, a tiny --batch-size) needs fewer:
the threshold is min(MIN_OBSERVERS, max(2, batch size)).
"""

from __future__ import annotations

from torch import Tensor, nn

MIN_OBSERVERS = 4  # samples of a batch that must observe a modality for its BatchNorm to use batch statistics


class ModalityProjector(nn.Module):
    """1x1 Conv1d(d -> D) - BatchNorm - ReLU - Dropout - 1x1 Conv1d(D -> D) - BatchNorm.

    A 1x1 convolution over time is a linear map applied to every segment, so this takes the valid segments of the
    batch flattened to [N, d]. Padded segments and withheld modalities never enter, so they cannot leak into the
    batch-norm statistics or receive gradient.
    """

    def __init__(self, in_dim: int, hidden_size: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_size),
            nn.BatchNorm1d(hidden_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, hidden_size),
            nn.BatchNorm1d(hidden_size),
        )

    def forward(self, segments: Tensor, observers: int | None = None, batch_size: int | None = None) -> Tensor:
        # segments: [N, d] (the valid segments of `observers` of the batch's `batch_size` samples) -> [N, D]
        needed = MIN_OBSERVERS if batch_size is None else min(MIN_OBSERVERS, max(2, batch_size))
        if self.training and (segments.shape[0] == 1 or (observers is not None and observers < needed)):
            return _eval_batchnorm(self.net, segments)  # too few observers for batch statistics: running ones
        return self.net(segments)


def _eval_batchnorm(net: nn.Sequential, segments: Tensor) -> Tensor:
    out = segments
    for layer in net:
        if isinstance(layer, nn.BatchNorm1d):
            out = nn.functional.batch_norm(out, layer.running_mean, layer.running_var, layer.weight, layer.bias,
                                           training=False, eps=layer.eps)
        else:
            out = layer(out)
    return out
