"""`synth-features`: a generic dataset with a planted, learnable signal (for tests and demos).

Each sample has one shared quality factor `s` that every modality observes (redundancy) and one private factor `p_m`
per modality that only modality m observes (complementarity). The score is

    raw   = s + private_weight * sum_m p_m + label_noise * e,          s, p_m, e ~ N(0, 1)
    score = lo + (hi - lo) * Phi(raw / sd(raw))                          (Phi: standard normal CDF)

so every modality alone predicts the score above chance, and all modalities together predict it best. Modality m's
segment t is `x_t = A_m s (1 + 0.3 sin(w t + phase)) + B_m p_m + nuisance_t + noise`, with fixed random loading
vectors A_m, B_m (seeded), a per-sample nuisance drift and white noise; the signal is spread over all segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from limssr_core.data.generic import DatasetSpec, ModalityInfo, write_dataset
from limssr_core.errors import LimssrError


@dataclass
class SynthOptions:
    modalities: dict[str, int]  # name -> feature dim
    n_samples: int = 300
    min_length: int = 12
    max_length: int = 24
    missing_rate: float = 0.0  # per-sample, per-modality probability that the file is absent on disk
    private_weight: float = 0.6
    label_noise: float = 0.15
    signal: float = 1.0
    noise: float = 1.0
    split_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    score_range: tuple[float, float] = (0.0, 100.0)
    seed: int = 0
    name: str = "synthetic"


def parse_modalities(text: str) -> dict[str, int]:
    """'video:32,audio:16' -> {'video': 32, 'audio': 16}."""
    out = {}
    for item in text.split(","):
        name, _, dim = item.strip().partition(":")
        if not name or not dim.isdigit() or int(dim) < 1:
            raise LimssrError(f"--modalities expects name:dim pairs like 'video:32,audio:16', got {item!r}")
        out[name] = int(dim)
    return out


def generate_features(options: SynthOptions) -> tuple[DatasetSpec, list[tuple[str, float, str, dict]]]:
    rng = np.random.default_rng(options.seed)
    names = list(options.modalities)
    n, m = options.n_samples, len(names)
    if n < 3:
        raise LimssrError("synth-features needs at least 3 samples")
    if not 0.0 <= options.missing_rate < 1.0:
        raise LimssrError(f"missing rate must be in [0, 1), got {options.missing_rate}")
    shared = rng.standard_normal(n)
    private = rng.standard_normal((n, m))
    raw = shared + options.private_weight * private.sum(axis=1) + options.label_noise * rng.standard_normal(n)
    sd = np.sqrt(1 + m * options.private_weight**2 + options.label_noise**2)
    lo, hi = options.score_range
    scores = lo + (hi - lo) * norm.cdf(raw / sd)

    loadings = {}
    for name, dim in options.modalities.items():
        a = rng.standard_normal(dim)
        b = rng.standard_normal(dim)
        b -= a * (a @ b) / (a @ a)  # the private direction is orthogonal to the shared one
        loadings[name] = (a / np.linalg.norm(a) * np.sqrt(dim), b / np.linalg.norm(b) * np.sqrt(dim))

    present = rng.random((n, m)) >= options.missing_rate
    for i in np.flatnonzero(~present.any(axis=1)):
        present[i, rng.integers(m)] = True

    order = rng.permutation(n)
    n_train = int(round(options.split_fractions[0] * n))
    n_val = int(round(options.split_fractions[1] * n))
    splits = np.empty(n, dtype=object)
    splits[order[:n_train]] = "train"
    splits[order[n_train:n_train + n_val]] = "val"
    splits[order[n_train + n_val:]] = "test"

    samples = []
    for i in range(n):
        length = int(rng.integers(options.min_length, options.max_length + 1))
        t = np.arange(length)[:, None]
        features = {}
        for j, (name, dim) in enumerate(options.modalities.items()):
            a, b = loadings[name]
            phase = rng.uniform(0, 2 * np.pi)
            drift = rng.standard_normal(dim) * 0.5
            x = (options.signal * (shared[i] * (1 + 0.3 * np.sin(0.5 * t + phase)) * a + private[i, j] * b)
                 + drift + options.noise * rng.standard_normal((length, dim)))
            if present[i, j]:
                features[name] = x.astype(np.float32)
        samples.append((f"s{i:05d}", float(scores[i]), str(splits[i]), features))

    spec = DatasetSpec(
        name=options.name,
        score_name="score",
        score_range=(float(lo), float(hi)),
        modalities={name: ModalityInfo(dim=dim, extractor="synthetic@1", timeline=True)  # one length per sample
                    for name, dim in options.modalities.items()},
        segment={"frames": None, "seconds": None},
    )
    return spec, samples


def write_synthetic_dataset(out_dir, options: SynthOptions) -> DatasetSpec:
    spec, samples = generate_features(options)
    write_dataset(out_dir, spec, samples)
    return spec
