"""Per-modality projectors into the LLM embedding space (the paper's Sec. 3.1; docs/method.md).

BatchNorm and per-sample masks: a projector sees only the segments of the samples that observe its modality. When
few samples do, training-mode batch statistics are those samples' own statistics, and normalising by them removes
what distinguishes them (with one observer, its mean exactly). Below `MIN_OBSERVERS` observing samples a projector
therefore normalises with its running statistics and does not update them; at or above it, batch statistics as usual.
A batch smaller than `MIN_OBSERVERS` (the last one of an epoch, a tiny --batch-size) needs fewer:
the threshold is min(MIN_OBSERVERS, max(2, batch size)).

Feature standardisation (`LimssrConfig.standardise_features`, off by default: at N = 60 it cost rho, docs/method.md
"Small data"): before the first linear map each feature dimension is shifted and scaled by the training split's mean
and standard deviation over the segments of the samples that observe the modality under the training masks.
Extractor outputs differ in scale by orders of magnitude (librosa's tempo beside its chroma, EfficientNet activations
beside flow magnitudes). The statistics are buffers of the projector, so they travel inside
`limssr_weights.safetensors` and apply identically at inference.

Principal components (`LimssrConfig.feature_components`, 0 = off): a modality with more than k feature dimensions
is first projected onto the k directions of largest variance of the training split's segments (after
standardisation, where that is on), fitted the same way as the statistics above and stored as buffers beside them.
A high-dimensional extractor (EfficientNet's 1280 per frame) gives the first linear map far more weights than a few
dozen routines can pin down; the components keep what varies in the training data and drop the rest, as a ridge's
shrinkage does along low-variance directions (docs/method.md, "Small data").
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

MIN_OBSERVERS = 4  # samples of a batch that must observe a modality for its BatchNorm to use batch statistics


class ModalityProjector(nn.Module):
    """1x1 Conv1d(d -> D) - BatchNorm - ReLU - Dropout - 1x1 Conv1d(D -> D) - BatchNorm.

    A 1x1 convolution over time is a linear map applied to every segment, so this takes the valid segments of the
    batch flattened to [N, d]. Padded segments and withheld modalities never enter, so they cannot leak into the
    batch-norm statistics or receive gradient.
    """

    def __init__(self, in_dim: int, hidden_size: int, dropout: float, standardise: bool = False,
                 components: int = 0):
        super().__init__()
        self.standardise = standardise
        self.components = components if 0 < components < in_dim else 0  # 0: the features enter whole
        if standardise:  # identity until set_feature_statistics (the trainer sets them before the first step)
            self.register_buffer("feature_mean", torch.zeros(in_dim))
            self.register_buffer("feature_scale", torch.ones(in_dim))
        if self.components:  # the first k coordinates until set_feature_components (the trainer sets them)
            self.register_buffer("component_mean", torch.zeros(in_dim))
            self.register_buffer("component_basis", torch.eye(in_dim)[:self.components].clone())  # [k, d]
        self.net = nn.Sequential(
            nn.Linear(self.components or in_dim, hidden_size),
            nn.BatchNorm1d(hidden_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, hidden_size),
            nn.BatchNorm1d(hidden_size),
        )

    def forward(self, segments: Tensor, observers: int | None = None, batch_size: int | None = None) -> Tensor:
        # segments: [N, d] (the valid segments of `observers` of the batch's `batch_size` samples) -> [N, D]
        if self.standardise:
            segments = (segments - self.feature_mean) / self.feature_scale
        if self.components:
            segments = (segments - self.component_mean) @ self.component_basis.T  # [N, d] -> [N, k]
        needed = MIN_OBSERVERS if batch_size is None else min(MIN_OBSERVERS, max(2, batch_size))
        if self.training and (segments.shape[0] == 1 or (observers is not None and observers < needed)):
            return _eval_batchnorm(self.net, segments)  # too few observers for batch statistics: running ones
        return self.net(segments)

    def set_feature_statistics(self, mean: np.ndarray, scale: np.ndarray) -> None:
        if not self.standardise:
            raise ValueError("this projector was built without feature standardisation")
        self.feature_mean.copy_(torch.as_tensor(mean, dtype=self.feature_mean.dtype))
        self.feature_scale.copy_(torch.as_tensor(scale, dtype=self.feature_scale.dtype))

    def standardised(self, segments: np.ndarray) -> np.ndarray:
        """Segments [N, d] as the components see them: standardised where this projector standardises."""
        if not self.standardise:
            return segments
        return (segments - self.feature_mean.cpu().numpy()) / self.feature_scale.cpu().numpy()

    def set_feature_components(self, mean: np.ndarray, basis: np.ndarray) -> None:
        """The training split's segment mean [d] and its k principal directions [k, d] (rows; fewer rows than k
        where the split has fewer segments: the rest stay zero)."""
        if not self.components:
            raise ValueError("this projector was built without principal components")
        self.component_mean.copy_(torch.as_tensor(mean, dtype=self.component_mean.dtype))
        self.component_basis.zero_()
        self.component_basis[:len(basis)] = torch.as_tensor(basis, dtype=self.component_basis.dtype)


def segment_statistics(arrays: list[np.ndarray], dim: int, floor: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and standard deviation over every segment of `arrays` ([T_i, dim] each).

    A dimension that never varies gets scale 1 (it is only shifted), so no feature is blown up by a tiny std; no
    arrays at all gives the identity (mean 0, scale 1).
    """
    if not arrays:
        return np.zeros(dim, dtype=np.float32), np.ones(dim, dtype=np.float32)
    count, total, squares = 0, np.zeros(dim), np.zeros(dim)
    for array in arrays:  # running sums in float64: one pass, no concatenated copy of the whole split
        values = np.asarray(array, dtype=np.float64)
        count += values.shape[0]
        total += values.sum(axis=0)
        squares += np.square(values).sum(axis=0)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - np.square(mean), 0.0))
    scale = np.where(std > floor, std, 1.0)
    return mean.astype(np.float32), scale.astype(np.float32)


def principal_components(arrays: list[np.ndarray], components: int) -> tuple[np.ndarray, np.ndarray]:
    """The segments' mean [d] and their first `components` principal directions [k', d] (k' <= components: at most
    the number of segments), by scikit-learn's PCA over every segment of `arrays` ([T_i, d] each)."""
    from sklearn.decomposition import PCA

    segments = np.concatenate([np.asarray(a, dtype=np.float64) for a in arrays])
    k = min(components, segments.shape[0], segments.shape[1])
    pca = PCA(n_components=k, svd_solver="full").fit(segments)
    return pca.mean_.astype(np.float32), pca.components_.astype(np.float32)


def _eval_batchnorm(net: nn.Sequential, segments: Tensor) -> Tensor:
    out = segments
    for layer in net:
        if isinstance(layer, nn.BatchNorm1d):
            out = nn.functional.batch_norm(out, layer.running_mean, layer.running_var, layer.weight, layer.bias,
                                           training=False, eps=layer.eps)
        else:
            out = layer(out)
    return out
