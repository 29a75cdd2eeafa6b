"""From samples (variable-length feature arrays, some modalities absent) to a model batch.

Training takes a random crop of T_m consecutive segments per modality; evaluation takes the centre crop. Shorter
sequences are not zero-padded into fake data: the batch records each sequence's true length and the model only reads
valid segments. A modality that is absent, or withheld by a mask, has length 0 and mask bit 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from limssr_core.config import ModalityConfig


@dataclass
class Sample:
    sample_id: str
    features: dict[str, np.ndarray]  # modality -> float32 [T_i, dim]; absent modalities are not keys
    target: float | None = None  # normalised to [0, 1]
    split: str = "test"


@dataclass
class LimssrBatch:
    features: dict[str, Tensor]  # modality -> [B, T_m, d_m], zeros beyond each sample's length
    lengths: Tensor  # [B, M] valid segments per modality, 0 where missing
    target: Tensor | None  # [B] normalised scores, or None for prediction
    sample_ids: list[str] = field(default_factory=list)

    @property
    def mask(self) -> Tensor:
        return self.lengths > 0  # [B, M]

    def __len__(self) -> int:
        return self.lengths.shape[0]

    def to(self, device) -> "LimssrBatch":
        """Features and targets move; lengths stay on the CPU (they drive the Python-side sequence layout, and
        reading them back from a GPU would stall it)."""
        return LimssrBatch(
            features={name: x.to(device, non_blocking=True) for name, x in self.features.items()},
            lengths=self.lengths,
            target=None if self.target is None else self.target.to(device),
            sample_ids=self.sample_ids,
        )


def crop_window(length: int, window: int, rng: np.random.Generator | None) -> slice:
    """A random window (training, `rng` given) or the centre window (evaluation) of at most `window` segments."""
    if length <= window:
        return slice(0, length)
    start = int(rng.integers(0, length - window + 1)) if rng is not None else (length - window) // 2
    return slice(start, start + window)


def collate(
    samples: list[Sample],
    modalities: list[ModalityConfig],
    masks: list[tuple[bool, ...]] | None = None,
    rng: np.random.Generator | None = None,
) -> LimssrBatch:
    """Stack samples into a batch.

    modalities: the model's modality configs in config order (name, dim, T_m). masks: optional per-sample mask that further withholds modalities
    (a modality is observed only if the sample has it and its mask bit is set).
    """
    b, m = len(samples), len(modalities)
    lengths = torch.zeros(b, m, dtype=torch.long)
    features = {mod.name: torch.zeros(b, mod.length, mod.dim) for mod in modalities}
    for i, sample in enumerate(samples):
        for j, mod in enumerate(modalities):
            name, dim, window = mod.name, mod.dim, mod.length
            array = sample.features.get(name)
            if array is None or (masks is not None and not masks[i][j]):
                continue
            if array.ndim != 2 or array.shape[1] != dim:
                raise ValueError(f"sample {sample.sample_id}: {name} features have shape {array.shape}, "
                                 f"expected [T, {dim}]")
            window_slice = crop_window(array.shape[0], window, rng)
            chunk = torch.from_numpy(np.ascontiguousarray(array[window_slice], dtype=np.float32))
            features[name][i, : chunk.shape[0]] = chunk
            lengths[i, j] = chunk.shape[0]
    empty = [s.sample_id for s, row in zip(samples, lengths) if int(row.sum()) == 0]
    if empty:
        raise ValueError(f"no observed modality left for sample(s) {empty[:5]}")
    targets = [s.target for s in samples]
    target = None if any(t is None for t in targets) else torch.tensor(targets, dtype=torch.float32)
    return LimssrBatch(features=features, lengths=lengths, target=target, sample_ids=[s.sample_id for s in samples])
