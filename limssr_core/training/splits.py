"""The training and selection splits of a run: the labelled split, a carved validation split, or (a member of a
K-fold ensemble, training/folds.py) the pooled labelled samples less one held-out fold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from limssr_core.config import LimssrConfig, TrainingConfig
from limssr_core.data.collate import Sample
from limssr_core.data.dataset import FeatureDataset
from limssr_core.errors import DataError, LimssrError


@dataclass
class Splits:
    train: list[Sample]
    select: list[Sample]
    select_name: str  # val | val (carved from train) | test


def fold_assignment(sample_ids: list[str], folds: int, seed: int) -> list[int]:
    """Each sample's fold (0..K-1): sizes differ by at most one, drawn from the seed, independent of list order."""
    order = sorted(sample_ids)
    shuffled = [order[i] for i in np.random.default_rng(seed).permutation(len(order))]
    fold_of = {sample_id: i % folds for i, sample_id in enumerate(shuffled)}
    return [fold_of[sample_id] for sample_id in sample_ids]


def labelled_folds(dataset: FeatureDataset, training: TrainingConfig) -> tuple[list[Sample], dict[str, int]]:
    """A K-fold ensemble's pool (the labelled train and val samples) and each pooled sample's fold."""
    pool = dataset.split("train") + dataset.split("val")
    if len(pool) < 2 * training.folds:
        raise DataError(f"{dataset.root}: {len(pool)} labelled samples are too few for {training.folds} folds "
                        "(each fold needs at least 2)")
    ids = [s.sample_id for s in pool]
    return pool, dict(zip(ids, fold_assignment(ids, training.folds, training.seed)))


def make_splits(dataset: FeatureDataset, config: LimssrConfig, fold: int | None = None) -> Splits:
    """The training and selection splits; with `fold` (a member of a K-fold ensemble, training.folds = K) the labelled
    train and val samples are pooled and fold `fold` of them is the selection split."""
    training = config.training
    train = dataset.split("train")
    if not train:
        raise DataError(f"{dataset.root}/labels.csv: no samples with split=train")
    if fold is not None:
        pool, fold_of = labelled_folds(dataset, training)
        select = [s for s in pool if fold_of[s.sample_id] == fold]
        train = [s for s in pool if fold_of[s.sample_id] != fold]
        return Splits(train, select, f"fold {fold + 1} of {training.folds} (held out from this member)")
    if training.select_on == "test":
        select = dataset.split("test")
        name = "test (reproduction of the published code's selection; not a fair evaluation)"
    elif training.select_on == "val":
        select, name = dataset.split("val"), "val"
        if not select:
            rng = np.random.default_rng(training.seed)
            order = rng.permutation(len(train))
            n_val = max(2, int(round(training.val_fraction * len(train))))
            if n_val >= len(train):
                raise DataError(f"{dataset.root}: too few training samples ({len(train)}) to carve a validation split")
            select = [train[i] for i in order[:n_val]]
            train = [train[i] for i in order[n_val:]]
            name = f"val ({n_val} samples carved from train, seed {training.seed})"
    else:
        raise LimssrError(f"--select-on must be 'val' or 'test', got {training.select_on!r}")
    if len(select) < 2:
        raise DataError(f"{dataset.root}: the selection split needs at least 2 samples, has {len(select)}")
    return Splits(train, select, name)
