"""A linear yardstick for a feature dataset, without training LIMSSR: the built-in baseline on its own.

    .venv/bin/python scripts/ridge_baseline.py --data DATASET [--fit train] [--eval test]

Fits limssr_core.evaluation.baseline (ridge on each modality's pooled segment mean and std, mask indicators,
RidgeCV) on the fitting split with the modalities each sample has, and prints the Spearman rho on the evaluation
split with all modalities and with each one alone. Every trained checkpoint carries the same baseline
(`evaluate --baseline`); this script answers "do the features carry the score?" before any training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limssr_core.config import LimssrConfig, ModalityConfig  # noqa: E402
from limssr_core.data.dataset import load_dataset  # noqa: E402
from limssr_core.errors import LimssrError  # noqa: E402
from limssr_core.evaluation.baseline import fit_baseline  # noqa: E402
from limssr_core.evaluation.evaluate import evaluate_predictor  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--fit", default="train", help="split to fit on")
    parser.add_argument("--eval", default="test", help="split to evaluate on")
    args = parser.parse_args(argv)
    dataset = load_dataset(args.data, progress=False)
    names, spec = dataset.modality_names, dataset.spec
    fit, evaluate = dataset.split(args.fit), dataset.split(args.eval)
    if len(fit) < 5 or len(evaluate) < 3:
        raise LimssrError(f"need at least 5 samples in {args.fit!r} and 3 in {args.eval!r}, "
                          f"got {len(fit)} and {len(evaluate)}")
    dims = {name: info.dim for name, info in spec.modalities.items()}
    baseline = fit_baseline(fit, [tuple(n in s.features for n in names) for s in fit], names, dims)
    config = LimssrConfig([ModalityConfig(n, d) for n, d in dims.items()], score_range=spec.score_range)
    summary, _ = evaluate_predictor(baseline.predict, evaluate, names, config, progress=False)
    rho = {tuple(s["modalities"]): s["spearman"] for s in summary["subsets"]}
    print(f"ridge on pooled segment mean+std (alpha {baseline.alpha:g}), fitted on {len(fit)} {args.fit} samples, "
          f"evaluated on {len(evaluate)} {args.eval} samples (Spearman rho)")
    print(f"all modalities: {summary['full']['spearman']:.3f}")
    for name in names:
        print(f"{name} alone: {rho[(name,)]:.3f}")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except LimssrError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
