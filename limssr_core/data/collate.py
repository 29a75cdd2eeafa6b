"""From samples (variable-length feature arrays, some modalities absent) to a model batch.

Training takes one random crop per sample: a start on the video's timeline shared by every modality on it (a modality
with another number of segments starts at the same fraction of the routine), T_m consecutive segments each; a
modality off the timeline (plain-text commentary: one vector per sentence) is cropped on its own. Evaluation takes
each modality's centre crop (the paper's protocol). Shorter sequences are not zero-padded into fake data: the batch
records each sequence's true length and the model only reads valid segments. A modality that is absent, or withheld
by a mask, has length 0 and mask bit 0.
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
    occluded: dict[str, np.ndarray] = field(default_factory=dict)  # modality -> bool [T_i]: show as missing token


def host_to_device(tensor: Tensor, device) -> Tensor:
    """A CPU tensor on `device` without making the host wait: on CUDA through pinned memory, asynchronously (a copy
    from pageable memory would first wait for every kernel already queued); elsewhere a plain copy."""
    device = torch.device(device)
    if device.type != "cuda" or tensor.device.type != "cpu":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


@dataclass
class LimssrBatch:
    features: dict[str, Tensor]  # modality -> [B, T_m, d_m], zeros beyond each sample's length
    lengths: Tensor  # [B, M] valid segments per modality, 0 where missing
    target: Tensor | None  # [B] normalised scores, or None for prediction
    sample_ids: list[str] = field(default_factory=list)
    occluded: dict[str, Tensor] = field(default_factory=dict)  # modality -> [B, T_m] bool: segments shown to the
    # model as that modality's learned missing token instead of their features (the timeline's occlusions)

    @property
    def mask(self) -> Tensor:
        return self.lengths > 0  # [B, M]

    def __len__(self) -> int:
        return self.lengths.shape[0]

    def to(self, device) -> "LimssrBatch":
        """Features and targets move; lengths stay on the CPU (they drive the Python-side sequence layout, and
        reading them back from a GPU would stall it)."""
        return LimssrBatch(
            features={name: host_to_device(x, device) for name, x in self.features.items()},
            lengths=self.lengths,
            target=None if self.target is None else host_to_device(self.target, device),
            sample_ids=self.sample_ids,
            occluded=self.occluded,  # CPU, like lengths
        )


def crop_window(length: int, window: int, rng: np.random.Generator | None, cover: float = 1.0) -> slice:
    """A random window (training, `rng` given) or the centre window (evaluation) of at most `window` segments.

    cover < 1 (training only): the window spans that fraction of min(length, window), at least one segment.
    """
    window = min(length, window)
    if cover < 1.0:
        window = max(1, int(round(window * cover)))
    if length <= window:
        return slice(0, length)
    start = int(rng.integers(0, length - window + 1)) if rng is not None else (length - window) // 2
    return slice(start, start + window)


def crop_windows(lengths: dict[str, int], modalities: list[ModalityConfig], rng: np.random.Generator | None,
                 min_cover: float = 1.0) -> dict[str, slice]:
    """Each present modality's window: centre crops without `rng`; with it, one random start shared (as a fraction of
    the sequence) by the modalities on the timeline, the first present one in config order setting it.

    min_cover < 1 (crop augmentation, training only): each window spans a random fraction in [min_cover, 1] of what
    a full crop would, one fraction shared by the timeline, one of its own for each modality off it.
    """
    if rng is None:
        return {m.name: crop_window(lengths[m.name], m.length, None) for m in modalities if m.name in lengths}

    def draw_cover() -> float:
        return 1.0 if min_cover >= 1.0 else float(rng.uniform(min_cover, 1.0))

    windows: dict[str, slice] = {}
    fraction = None  # where the shared window starts, as a fraction of the reference sequence
    timeline_cover = draw_cover()
    for m in modalities:
        if m.name not in lengths:
            continue
        n = lengths[m.name]
        if not m.timeline:
            windows[m.name] = crop_window(n, m.length, rng, draw_cover())
            continue
        if fraction is None:
            window = crop_window(n, m.length, rng, timeline_cover)
            fraction = window.start / n if n else 0.0
            windows[m.name] = window
            continue
        span = max(1, int(round(min(n, m.length) * timeline_cover)))
        start = min(int(round(fraction * n)), max(0, n - span))
        windows[m.name] = slice(start, min(n, start + span))
    return windows


def covering_windows(lengths: dict[str, int], modalities: list[ModalityConfig]) -> list[dict[str, slice]]:
    """Consecutive windows that together cover a whole routine longer than T (scoring, not the paper's protocol).

    The first present modality on the timeline (config order) of length L and block T gets ceil(L / T) windows of T
    segments, evenly spread from the first segment to the last (neighbours overlap where L is not a multiple of T);
    the other modalities on the timeline take the window at the same fraction of their own sequence; one off the
    timeline takes its centre crop in every window. A routine that fits one block gives one window (the centre crop).
    """
    present = [m for m in modalities if m.name in lengths]
    reference = next((m for m in present if m.timeline), None)
    if reference is None or lengths[reference.name] <= reference.length:
        return [crop_windows(lengths, modalities, None)]
    n, t = lengths[reference.name], reference.length
    count = -(-n // t)
    starts = [round(k * (n - t) / (count - 1)) for k in range(count)]
    windows = []
    for start in starts:
        window = {}
        for m in present:
            length = lengths[m.name]
            if not m.timeline:
                window[m.name] = crop_window(length, m.length, None)
                continue
            own = min(int(round(start / n * length)), max(0, length - m.length))
            window[m.name] = slice(own, min(length, own + m.length))
        windows.append(window)
    return windows


def collate(
    samples: list[Sample],
    modalities: list[ModalityConfig],
    masks: list[tuple[bool, ...]] | None = None,
    rng: np.random.Generator | None = None,
    min_cover: float = 1.0,
) -> LimssrBatch:
    """Stack samples into a batch.

    modalities: the model's modality configs in config order (name, dim, T_m, timeline). masks: optional per-sample
    mask that further withholds modalities (a modality is observed only if the sample has it and its mask bit is set).
    rng: training crops (see the module docstring); None: centre crops. min_cover: crop augmentation (crop_windows).
    """
    b, m = len(samples), len(modalities)
    lengths = torch.zeros(b, m, dtype=torch.long)
    features = {mod.name: torch.zeros(b, mod.length, mod.dim) for mod in modalities}
    occluded: dict[str, Tensor] = {}
    for i, sample in enumerate(samples):
        observed = {}
        for j, mod in enumerate(modalities):
            array = sample.features.get(mod.name)
            if array is None or (masks is not None and not masks[i][j]):
                continue
            if array.ndim != 2 or array.shape[1] != mod.dim:
                raise ValueError(f"sample {sample.sample_id}: {mod.name} features have shape {array.shape}, "
                                 f"expected [T, {mod.dim}]")
            observed[mod.name] = array
        windows = crop_windows({name: a.shape[0] for name, a in observed.items()}, modalities, rng, min_cover)
        for j, mod in enumerate(modalities):
            name = mod.name
            if name not in observed:
                continue
            chunk = torch.from_numpy(np.ascontiguousarray(observed[name][windows[name]], dtype=np.float32))
            features[name][i, : chunk.shape[0]] = chunk
            lengths[i, j] = chunk.shape[0]
            if name in sample.occluded:
                hidden = torch.from_numpy(np.asarray(sample.occluded[name], dtype=bool)[windows[name]])
                occluded.setdefault(name, torch.zeros(b, mod.length, dtype=torch.bool))[i, : hidden.shape[0]] = hidden
    empty = [s.sample_id for s, row in zip(samples, lengths) if int(row.sum()) == 0]
    if empty:
        raise ValueError(f"no observed modality left for sample(s) {empty[:5]}")
    targets = [s.target for s in samples]
    target = None if any(t is None for t in targets) else torch.tensor(targets, dtype=torch.float32)
    return LimssrBatch(features=features, lengths=lengths, target=target, sample_ids=[s.sample_id for s in samples],
                       occluded=occluded)
