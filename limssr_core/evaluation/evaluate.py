"""The paper's protocol (docs/method.md): every non-empty modality subset applied to a whole split.

For a subset S each sample is scored from the modalities it has that are in S; samples with none of them are left out
of that subset (its `n` says how many were scored). Spearman rho on the scores, MSE in original score units, and the
Fisher-z average over the incomplete subsets with the full set reported separately.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from limssr_core.config import LimssrConfig
from limssr_core.data.collate import Sample
from limssr_core.evaluation.metrics import (
    all_modality_subsets,
    fisher_z_mean,
    is_constant,
    mse_in_units,
    rank_score,
    spearman,
    summarise,
)
from limssr_core.model.limssr import LimssrModel
from limssr_core.model.runner import normalised_predictions


def subset_masks(samples: list[Sample], names: list[str], subset: tuple[str, ...]):
    """Samples that have at least one modality of `subset`, and their masks restricted to it."""
    kept, masks = [], []
    for sample in samples:
        mask = tuple(name in subset and name in sample.features for name in names)
        if any(mask):
            kept.append(sample)
            masks.append(mask)
    return kept, masks


Predictor = Callable[[list[Sample], list[tuple[bool, ...]]], np.ndarray]  # samples, masks -> normalised scores


def evaluate_predictor(predict: Predictor, samples: list[Sample], names: list[str], config: LimssrConfig,
                       progress: bool = True, subsets: list[tuple[str, ...]] | None = None,
                       desc: str = "evaluating subsets", chunk: int = 256) -> tuple[dict, list[dict]]:
    """The protocol for any predictor (the model, the built-in baseline): the summary (the stable JSON contract)
    and per-sample prediction rows in score units.

    Every subset's (sample, mask) pairs go to the predictor together, `chunk` pairs per call (pairs with the same
    mask next to each other, so a batch holds sequences of like length), not one subset at a time: a split of 6
    samples under 15 subsets is 90 pairs in a few full batches instead of 15 batches of 6 (a sample's prediction
    does not depend on what else is in its batch). A pair that several subsets share (a sample without audio is
    scored from the same modalities under "video" and "video+audio") is predicted once: a prediction depends only
    on the sample and its mask."""
    subsets = subsets or all_modality_subsets(names)
    selected = [subset_masks(samples, names, subset) for subset in subsets]
    index = {id(sample): i for i, sample in enumerate(samples)}
    pairs = [(index[id(sample)], mask) for kept, masks in selected if len(kept) >= 2
             for sample, mask in zip(kept, masks)]
    distinct = sorted(set(pairs), key=lambda pair: (pair[1], pair[0]))  # same masks together: like lengths
    flat = np.zeros(len(distinct))
    with tqdm(total=len(distinct), desc=desc, disable=not progress, unit="prediction") as bar:
        for lo in range(0, len(distinct), chunk):
            part = distinct[lo:lo + chunk]
            flat[lo:lo + len(part)] = np.asarray(predict([samples[i] for i, _ in part], [mask for _, mask in part]),
                                                 dtype=np.float64)
            bar.update(len(part))
    position = {pair: k for k, pair in enumerate(distinct)}
    flat = flat[[position[pair] for pair in pairs]]  # back to every subset's pairs, in subset order
    results, rows, offset = [], [], 0
    for subset, (kept, masks) in zip(subsets, selected):
        if len(kept) < 2:
            results.append({"modalities": list(subset), "spearman": float("nan"), "mse": float("nan"),
                            "n": len(kept), "constant": False})
            continue
        pred, offset = flat[offset:offset + len(kept)], offset + len(kept)
        target = np.array([s.target for s in kept], dtype=np.float64)
        constant = is_constant(pred)  # collapsed: no rho (a rho of float noise would be read as a ranking)
        results.append({
            "modalities": list(subset),
            "spearman": float("nan") if constant else spearman(pred, target),
            "mse": mse_in_units(pred, target, config.score_range),
            "n": len(kept),
            "constant": constant,
        })
        label = "+".join(subset)
        for sample, p in zip(kept, pred):
            rows.append({"sample_id": sample.sample_id, "subset": label,
                         "target": config.denormalise(sample.target), "prediction": config.denormalise(float(p))})
    return summarise(results, names), rows


def evaluate_model(model: LimssrModel, samples: list[Sample], batch_size: int = 16, progress: bool = True,
                   subsets: list[tuple[str, ...]] | None = None) -> tuple[dict, list[dict]]:
    """The model under every modality subset (centre crops): (summary, per-sample rows)."""
    return evaluate_predictor(lambda kept, masks: normalised_predictions(model, kept, masks, batch_size), samples,
                              model.config.modality_names, model.config, progress, subsets)


TEST_PREDICTIONS_NAME = "test_predictions.csv"  # what `train` writes beside a run it tested: every (sample, subset)


def write_predictions_csv(rows: list[dict], path: str | Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["sample_id", "subset", "target", "prediction"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "target": f"{row['target']:.6g}", "prediction": f"{row['prediction']:.6g}"})


def selection_score(summary: dict, metric: str) -> float:
    """Model-selection figure: Fisher-z average over every subset (incl. full), or the full set's rho; a subset
    with constant predictions counts as rho = 0, so a collapsed model never wins."""
    if metric == "full":
        return rank_score(summary["full"])
    return fisher_z_mean([rank_score(s) for s in summary["subsets"]])
