"""Per-modality projectors into the LLM embedding space (METHOD.md section 2.1)."""

from __future__ import annotations

from torch import Tensor, nn


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

    def forward(self, segments: Tensor) -> Tensor:
        # segments: [N, d] -> [N, D]
        if segments.shape[0] == 1 and self.training:
            # BatchNorm cannot estimate statistics from one vector; use the running ones for this step.
            return _eval_batchnorm(self.net, segments)
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
