"""Score the mean of several checkpoints' predictions, offline, from their `evaluate --predictions` files.

    .venv/bin/python -m limssr_core evaluate --checkpoint RUN_A --data DATA --split test --predictions a.csv
    .venv/bin/python -m limssr_core evaluate --checkpoint RUN_B --data DATA --split test --predictions b.csv
    .venv/bin/python scripts/ensemble_of_runs.py a.csv b.csv
    .venv/bin/python scripts/ensemble_of_runs.py RUN_A/test_predictions.csv RUN_B/test_predictions.csv

(`train` writes `test_predictions.csv` into a run folder whenever the data has a test split.)

Prints each file's full-set and incomplete-average Spearman, then those of every combination's mean prediction
(per sample and modality subset), and the per-subset table of the mean of all files. It is how the small-data study
(docs/method.md) estimated what an ensemble gains before `train --folds K` existed; it needs no model.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limssr_core.evaluation.metrics import is_constant, markdown_table, rho_text, spearman, summarise  # noqa: E402


def read_predictions(path: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """(sample_id, subset) -> (target, prediction), in score units."""
    with open(path, newline="") as handle:
        return {(row["sample_id"], row["subset"]): (float(row["target"]), float(row["prediction"]))
                for row in csv.DictReader(handle)}


def mean_summary(runs: list[dict], modalities: list[str]) -> dict:
    """The evaluation summary of the runs' mean prediction (MSE in score units)."""
    keys = set(runs[0])
    for run in runs[1:]:
        if set(run) != keys:
            raise SystemExit("the prediction files cover different (sample, subset) pairs: same split and data?")
    by_subset: dict[str, list] = defaultdict(list)
    for key in sorted(keys):
        by_subset[key[1]].append(key)
    results = []
    for subset, pairs in by_subset.items():
        target = np.array([runs[0][k][0] for k in pairs])
        pred = np.array([np.mean([run[k][1] for run in runs]) for k in pairs])
        # scores in their own units, written with 6 significant digits: a collapsed run's copies differ by ~1e-5 of
        # their size
        constant = is_constant(pred, tolerance=1e-5 * max(1.0, float(np.abs(pred).max())))
        rho = float("nan") if constant else spearman(pred, target)
        results.append({"modalities": subset.split("+"), "spearman": rho, "mse": float(np.mean((pred - target) ** 2)),
                        "n": len(pairs), "constant": constant})
    return summarise(results, modalities)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", nargs="+", type=Path, help="CSV files written by evaluate --predictions")
    args = parser.parse_args()
    runs = {path.stem: read_predictions(path) for path in args.predictions}
    first = next(iter(runs.values()))
    full = max((key[1] for key in first), key=lambda subset: subset.count("+"))
    modalities = full.split("+")
    for size in range(1, len(runs) + 1):
        for combo in itertools.combinations(runs, size):
            summary = mean_summary([runs[name] for name in combo], modalities)
            print(f"{' + '.join(combo):60s} full {rho_text(summary['full'])}  "
                  f"avg-incomplete {summary['average_incomplete']['spearman']:.3f}")
    print()
    print(markdown_table(mean_summary(list(runs.values()), modalities)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
