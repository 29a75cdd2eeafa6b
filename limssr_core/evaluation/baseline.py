"""The built-in baseline: ridge regression on pooled per-modality statistics, fitted beside every model.

Each sample becomes, per modality, the mean and standard deviation of its segments (standardised with the training
split's statistics over the samples that observe that modality; a missing modality is zeros, i.e. the training
mean), followed by one mask indicator per modality. scikit-learn's RidgeCV chooses the ridge strength by efficient
leave-one-out cross-validation on the training split. It is fitted under the same training masks as the model and
scored with the same protocol, so a model card shows on the user's own data whether the LLM earns its keep.

Stored in a checkpoint as `baseline.safetensors` (arrays + metadata; never a pickle), so `evaluate --baseline` works
on a dataset without a train split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from limssr_core.data.collate import Sample
from limssr_core.errors import LimssrError

BASELINE_NAME = "baseline.safetensors"
ALPHAS = np.logspace(-3, 5, 17)


def pooled_statistics(features: np.ndarray) -> np.ndarray:
    """[T, d] -> [2d]: the mean and standard deviation over segments."""
    return np.concatenate([features.mean(axis=0), features.std(axis=0)])


@dataclass
class RidgeBaseline:
    modalities: list[str]
    dims: dict[str, int]
    mean: np.ndarray  # [F] per pooled feature, over the training samples that observe its modality
    scale: np.ndarray  # [F]
    coef: np.ndarray  # [F + M] ridge weights (pooled features, then mask indicators)
    intercept: float
    alpha: float  # the ridge strength cross-validation chose
    n_train: int

    def design(self, samples: list[Sample], masks: list[tuple[bool, ...]]) -> np.ndarray:
        """[N, F + M]: standardised pooled statistics (zeros where masked or absent) and the mask indicators."""
        return _design(samples, masks, self.modalities, self.dims, self.mean, self.scale)

    def predict(self, samples: list[Sample], masks: list[tuple[bool, ...]]) -> np.ndarray:
        """Normalised scores [N] (not clipped: a linear model's honest output)."""
        return self.design(samples, masks) @ self.coef + self.intercept

    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        path = Path(folder) / BASELINE_NAME
        meta = {"modalities": json.dumps(self.modalities), "dims": json.dumps(self.dims),
                "intercept": repr(float(self.intercept)), "alpha": repr(float(self.alpha)),
                "n_train": str(self.n_train), "kind": "ridge on pooled mean+std, mask indicators"}
        arrays = {"mean": self.mean, "scale": self.scale, "coef": self.coef}
        save_file({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}, str(path), metadata=meta)
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "RidgeBaseline":
        from safetensors import safe_open

        path = Path(folder) / BASELINE_NAME
        if not path.is_file():
            raise LimssrError(f"{folder}: this checkpoint has no built-in baseline ({BASELINE_NAME}): it was trained "
                              "before checkpoints carried one. Retrain it to get one, or fit the same kind of baseline "
                              "on your dataset (under its own missingness) without training: "
                              "scripts/ridge_baseline.py --data DATASET")
        with safe_open(str(path), framework="numpy") as handle:
            meta = handle.metadata()
            arrays = {key: handle.get_tensor(key) for key in handle.keys()}
        return cls(json.loads(meta["modalities"]), json.loads(meta["dims"]), arrays["mean"], arrays["scale"],
                   arrays["coef"], float(meta["intercept"]), float(meta["alpha"]), int(meta["n_train"]))


def _design(samples, masks, modalities, dims, mean, scale) -> np.ndarray:
    blocks, offset = [], 0
    for j, name in enumerate(modalities):
        width = 2 * dims[name]
        block = np.zeros((len(samples), width))
        for i, (sample, mask) in enumerate(zip(samples, masks)):
            if mask[j] and name in sample.features:
                stats = pooled_statistics(np.asarray(sample.features[name], dtype=np.float64))
                block[i] = (stats - mean[offset:offset + width]) / scale[offset:offset + width]
        blocks.append(block)
        offset += width
    indicators = np.array([[float(bool(mask[j]) and name in sample.features) for j, name in enumerate(modalities)]
                           for sample, mask in zip(samples, masks)])
    return np.concatenate(blocks + [indicators], axis=1)


def fit_baseline(samples: list[Sample], masks: list[tuple[bool, ...]], modalities: list[str],
                 dims: dict[str, int]) -> RidgeBaseline:
    """Fit on training samples under their training masks (the ones the model trained with)."""
    from sklearn.linear_model import RidgeCV

    if len(samples) < 3:
        raise LimssrError(f"the baseline needs at least 3 training samples, got {len(samples)}")
    means, scales = [], []
    for j, name in enumerate(modalities):
        rows = [pooled_statistics(np.asarray(s.features[name], dtype=np.float64))
                for s, mask in zip(samples, masks) if mask[j] and name in s.features]
        stats = np.array(rows) if rows else np.zeros((1, 2 * dims[name]))
        means.append(stats.mean(axis=0))
        scales.append(stats.std(axis=0) + 1e-6)
    mean, scale = np.concatenate(means), np.concatenate(scales)
    x = _design(samples, masks, modalities, dims, mean, scale)
    y = np.array([s.target for s in samples], dtype=np.float64)
    ridge = RidgeCV(alphas=ALPHAS).fit(x, y)
    return RidgeBaseline(list(modalities), dict(dims), mean, scale, ridge.coef_.astype(np.float64),
                         float(ridge.intercept_), float(ridge.alpha_), len(samples))
