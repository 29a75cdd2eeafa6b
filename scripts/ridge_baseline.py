"""A linear yardstick for a feature dataset: ridge regression on segment-pooled features.

    .venv/bin/python scripts/ridge_baseline.py --data DATASET [--pool mean+std] [--fit train] [--eval test]

Each sample becomes the concatenation, over modalities, of its segments' mean (and, with `--pool mean+std`, their
standard deviation). Features are standardised on the fitting split, and the ridge penalty is chosen by efficient
leave-one-out on that split (scikit-learn's RidgeCV). Only samples with every modality are used. The script prints
the Spearman rho on the evaluation split, with all modalities and with each one alone.

It answers one question: do the features carry the score? If this baseline beats a trained LIMSSR model, the model
under-uses its inputs. The README's demo-checkpoint section quotes it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limssr_core.data.dataset import load_dataset  # noqa: E402
from limssr_core.errors import LimssrError  # noqa: E402


def pooled(features: np.ndarray, pool: str) -> np.ndarray:
    """[T, d] -> [d] (mean) or [2d] (mean, std)."""
    mean = features.mean(axis=0)
    return np.concatenate([mean, features.std(axis=0)]) if pool == "mean+std" else mean


def ridge_spearman(fit: list, evaluate: list, modalities: list[str], pool: str) -> float:
    from scipy.stats import spearmanr
    from sklearn.linear_model import RidgeCV

    def design(samples):
        return np.array([np.concatenate([pooled(s.features[m], pool) for m in modalities]) for s in samples])

    x_fit, x_eval = design(fit), design(evaluate)
    mean, std = x_fit.mean(axis=0), x_fit.std(axis=0) + 1e-6
    model = RidgeCV(alphas=np.logspace(-2, 5, 15)).fit((x_fit - mean) / std, [s.target for s in fit])
    return float(spearmanr(model.predict((x_eval - mean) / std), [s.target for s in evaluate])[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--pool", choices=("mean", "mean+std"), default="mean")
    parser.add_argument("--fit", default="train", help="split to fit on")
    parser.add_argument("--eval", default="test", help="split to evaluate on")
    args = parser.parse_args(argv)
    dataset = load_dataset(args.data, progress=False)
    names = dataset.modality_names
    fit = [s for s in dataset.split(args.fit) if len(s.features) == len(names)]
    evaluate = [s for s in dataset.split(args.eval) if len(s.features) == len(names)]
    if len(fit) < 5 or len(evaluate) < 3:
        raise LimssrError(f"need at least 5 complete samples in {args.fit!r} and 3 in {args.eval!r}, "
                          f"got {len(fit)} and {len(evaluate)}")
    print(f"ridge on segment {args.pool}, fitted on {len(fit)} {args.fit} samples, evaluated on "
          f"{len(evaluate)} {args.eval} samples (Spearman rho)")
    print(f"all modalities: {ridge_spearman(fit, evaluate, names, args.pool):.3f}")
    for name in names:
        print(f"{name} alone: {ridge_spearman(fit, evaluate, [name], args.pool):.3f}")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except LimssrError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
