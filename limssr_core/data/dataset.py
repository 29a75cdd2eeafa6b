"""Load a generic feature dataset (docs/data_format.md section 1) into validated in-memory samples.

Every feature file is checked once at load time (shape, dtype, NaN/Inf), so a bad file fails before training starts,
with an error naming it. A modality without a file for a sample is missing for that sample: a mask bit, never zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from limssr_core.data.collate import Sample
from limssr_core.data.generic import DatasetSpec, feature_path, load_features, load_spec, read_labels
from limssr_core.errors import DataError

SCORE_TOLERANCE = 1e-6


@dataclass
class FeatureDataset:
    root: Path
    spec: DatasetSpec
    samples: list[Sample]

    @property
    def modality_names(self) -> list[str]:
        return list(self.spec.modalities)

    def split(self, *names: str) -> list[Sample]:
        return [s for s in self.samples if s.split in names]

    def availability(self, samples: list[Sample] | None = None) -> dict[str, int]:
        """How many samples have each modality."""
        samples = self.samples if samples is None else samples
        return {m: sum(m in s.features for s in samples) for m in self.spec.modalities}


def normalise_score(score: float, score_range: tuple[float, float], where: str) -> float:
    lo, hi = score_range
    if not (lo - SCORE_TOLERANCE <= score <= hi + SCORE_TOLERANCE):
        raise DataError(f"{where}: score {score} is outside the declared score_range [{lo}, {hi}]")
    return float(np.clip((score - lo) / (hi - lo), 0.0, 1.0))


def load_dataset(root: str | Path, splits: tuple[str, ...] | None = None, progress: bool = True,
                 require_scores: bool = True) -> FeatureDataset:
    """Read and validate a dataset. `splits` restricts which labelled samples are loaded."""
    root = Path(root)
    spec = load_spec(root)
    rows = read_labels(root)
    if splits is not None:
        rows = [row for row in rows if row.split in splits]
    samples = []
    for row in tqdm(rows, desc=f"loading {spec.name}", disable=not progress, unit="sample"):
        features = {}
        for modality, info in spec.modalities.items():
            path = feature_path(root, modality, row.sample_id)
            if path.exists():
                features[modality] = load_features(path, info.dim)
        if not features:
            raise DataError(f"sample {row.sample_id!r} (labels.csv) has no feature file for any modality "
                            f"under {root / 'features'}")
        target = None
        if row.score is not None:
            target = normalise_score(row.score, spec.score_range, f"labels.csv sample {row.sample_id!r}")
        elif require_scores:
            raise DataError(f"labels.csv sample {row.sample_id!r} has no score; training and evaluation need one")
        samples.append(Sample(row.sample_id, features, target, row.split))
    return FeatureDataset(root=root, spec=spec, samples=samples)


def sample_from_files(files: dict[str, str | Path], dims: dict[str, int]) -> Sample:
    """One prediction sample from {modality: path.npy}; modalities not given are missing."""
    features = {}
    for modality, path in files.items():
        if modality not in dims:
            raise DataError(f"{path}: modality {modality!r} is not one the checkpoint knows ({sorted(dims)})")
        features[modality] = load_features(path, dims[modality])
    if not features:
        raise DataError("no feature file given: at least one modality must be present")
    return Sample(sample_id="sample", features=features)


def sample_from_folder(folder: str | Path, dims: dict[str, int]) -> Sample:
    """A folder holding `<modality>.npy` files (any subset of the checkpoint's modalities)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    files = {p.stem: p for p in sorted(folder.glob("*.npy"))}
    unknown = sorted(set(files) - set(dims))
    if unknown:
        raise DataError(f"{folder}: files {[f + '.npy' for f in unknown]} match no modality of the checkpoint "
                        f"({sorted(dims)})")
    sample = sample_from_files(files, dims)
    sample.sample_id = folder.name
    return sample
