"""Training-time missingness modes (docs/method.md).

- `dataset`: what is on disk; a sample's absent files are its missing modalities (the default).
- `fixed:RATE`: each training sample keeps one random missing pattern for the whole run: every modality it has is
  withheld with probability RATE, keeping at least one. Withheld modalities are never read. A sample's pattern is
  drawn from (seed, sample id) alone, so the order of the training list does not matter.
- `per-batch`: the published code's behaviour, for comparison: one random non-empty subset per batch, applied to every
  sample in it (a sample left with nothing keeps one of its own modalities, chosen at random).

On top of any mode, `modality_dropout` (a training setting) withholds each modality a batch would show with that
probability, drawn afresh every step and keeping at least one: an augmentation that shows the model the smaller
subsets it must also score, from data it has (it never reveals a withheld modality).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from limssr_core.data.collate import Sample
from limssr_core.errors import LimssrError


@dataclass(frozen=True)
class MissingnessMode:
    kind: str  # dataset | fixed | per-batch
    rate: float = 0.0

    @classmethod
    def parse(cls, text: str) -> "MissingnessMode":
        if text in ("dataset", "per-batch"):
            return cls(text)
        if text.startswith("fixed:"):
            try:
                rate = float(text.split(":", 1)[1])
            except ValueError:
                rate = -1.0
            if not 0.0 <= rate < 1.0:
                raise LimssrError(f"--train-missing fixed:RATE needs 0 <= RATE < 1, got {text!r}")
            return cls("fixed", rate)
        raise LimssrError(f"--train-missing must be 'dataset', 'fixed:RATE' or 'per-batch', got {text!r}")


def available_mask(sample: Sample, modalities: list[str]) -> tuple[bool, ...]:
    return tuple(name in sample.features for name in modalities)


def _keep_one_if_empty(mask: np.ndarray, available: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not mask.any():
        mask[rng.choice(np.flatnonzero(available))] = True
    return mask


def sample_rng(seed: int, sample_id: str) -> np.random.Generator:
    """A generator that depends on the seed and the sample id only (a stable hash, not Python's salted `hash`)."""
    digest = hashlib.sha256(f"{seed}:{sample_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def fixed_patterns(samples: list[Sample], modalities: list[str], rate: float, seed: int) -> dict[str, tuple]:
    """One persistent mask per training sample, keyed on (seed, sample id), with at least one observed modality."""
    patterns = {}
    for sample in samples:
        rng = sample_rng(seed, sample.sample_id)
        available = np.array(available_mask(sample, modalities))
        mask = available & (rng.random(len(modalities)) >= rate)
        patterns[sample.sample_id] = tuple(bool(v) for v in _keep_one_if_empty(mask, available, rng))
    return patterns


class MaskPolicy:
    """Gives the per-sample masks for each training batch under a missingness mode."""

    def __init__(self, mode: MissingnessMode, samples: list[Sample], modalities: list[str], seed: int,
                 modality_dropout: float = 0.0, draw_seed: int | None = None):
        """`seed` keys the fixed masks; `draw_seed` (default: `seed`) the per-step draws (per-batch, modality
        dropout), which a refit's further models take from their own seed (training/trainer.draw_seed)."""
        if not 0.0 <= modality_dropout < 1.0:
            raise LimssrError(f"--modality-dropout needs 0 <= RATE < 1, got {modality_dropout}")
        self.mode = mode
        self.modality_dropout = modality_dropout
        self.modalities = modalities
        self.rng = np.random.default_rng((seed if draw_seed is None else draw_seed) + 1)
        self.patterns = fixed_patterns(samples, modalities, mode.rate, seed) if mode.kind == "fixed" else {}

    def masks(self, batch: list[Sample]) -> list[tuple[bool, ...]]:
        masks = self.mode_masks(batch)
        if not self.modality_dropout:
            return masks
        out = []
        for mask in masks:
            shown = np.array(mask)
            kept = shown & (self.rng.random(len(mask)) >= self.modality_dropout)
            out.append(tuple(bool(v) for v in _keep_one_if_empty(kept, shown, self.rng)))
        return out

    def mode_masks(self, batch: list[Sample]) -> list[tuple[bool, ...]]:
        """The masks of the missingness mode alone (before modality dropout)."""
        if self.mode.kind == "fixed":
            return [self.patterns[s.sample_id] for s in batch]
        if self.mode.kind == "per-batch":
            m = len(self.modalities)
            subset = np.zeros(m, dtype=bool)
            while not subset.any():
                subset = self.rng.random(m) < 0.5
            out = []
            for sample in batch:
                available = np.array(available_mask(sample, self.modalities))
                mask = _keep_one_if_empty(available & subset, available, self.rng)
                out.append(tuple(bool(v) for v in mask))
            return out
        return [available_mask(s, self.modalities) for s in batch]

    def observed(self, sample: Sample) -> tuple[bool, ...]:
        """The modalities training shows of this sample (fixed/dataset; per-batch: what is on disk)."""
        return self.patterns.get(sample.sample_id, available_mask(sample, self.modalities))

    def effective_missing_rate(self, samples: list[Sample]) -> float:
        """The fraction of (sample, modality) pairs on disk that training withholds (fixed mode; else 0)."""
        on_disk = sum(sum(available_mask(s, self.modalities)) for s in samples)
        observed = sum(self.observed_counts(samples).values())
        return 1.0 - observed / on_disk if on_disk else 0.0

    def observed_counts(self, samples: list[Sample]) -> dict[str, int]:
        """How often each modality is actually observed in training under this mode (fixed/dataset)."""
        counts = dict.fromkeys(self.modalities, 0)
        for sample in samples:
            for name, present in zip(self.modalities, self.observed(sample)):
                counts[name] += int(present)
        return counts
