"""Evaluation metrics and the paper's missing-modality protocol (pure numpy/scipy).

Every non-empty subset of modalities is evaluated on the whole test set; each gets Spearman rho and MSE in
original score units. "Average" is the Fisher-z mean of rho and the arithmetic mean of MSE over the
incomplete subsets; the full set is reported separately.

A subset whose predictions are all equal ("constant": a collapsed model) has no defined rho. It is marked
`constant` and counts as rho = 0 in every average and in model selection, so collapse can never win selection.
Predictions that differ by at most a millionth of the score range (float noise around one value) count as equal,
and evaluation gives them no rho (nan): it would rank noise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

RHO_CLIP = 0.999999
COLLAPSE_TOLERANCE = 1e-6  # on the normalised scale, where 1 is the whole score range


def _as_vector(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(array).all():
        raise ValueError(f"{what} holds NaN/Inf values")
    return array


def _paired(pred, target) -> tuple[np.ndarray, np.ndarray]:
    p, t = _as_vector(pred, "pred"), _as_vector(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target differ in length: {p.size} vs {t.size}")
    return p, t


def spearman(pred: Sequence[float] | np.ndarray, target: Sequence[float] | np.ndarray) -> float:
    """Spearman rank correlation.

    Returns nan (undefined, not an error) for fewer than 2 samples or when either side is constant.
    Raises ValueError for mismatched lengths or NaN/Inf inputs.
    """
    p, t = _paired(pred, target)
    if p.size < 2 or np.ptp(p) == 0 or np.ptp(t) == 0:
        return float("nan")
    return float(stats.spearmanr(p, t)[0])


def mse_in_units(
    pred_norm: Sequence[float] | np.ndarray,
    target_norm: Sequence[float] | np.ndarray,
    score_range: float | tuple[float, float],
) -> float:
    """MSE in original score units for predictions/targets normalised by (s - lo) / (hi - lo).

    `score_range` is (lo, hi) or a single number R meaning (0, R). Equals mean((p - t)^2) * (hi - lo)^2.
    """
    lo, hi = (0.0, float(score_range)) if np.isscalar(score_range) else map(float, score_range)
    if not hi > lo:
        raise ValueError(f"score_range must have hi > lo, got {score_range!r}")
    p, t = _paired(pred_norm, target_norm)
    if p.size == 0:
        return float("nan")
    return float(np.mean((p - t) ** 2) * (hi - lo) ** 2)


def is_constant(pred: Sequence[float] | np.ndarray, tolerance: float = COLLAPSE_TOLERANCE) -> bool:
    """At least 2 predictions, all within `tolerance` of each other (normalised scale by default: pass the tolerance
    in score units for denormalised predictions): the model has collapsed on them, and their rho is undefined or
    ranks float noise."""
    p = _as_vector(pred, "pred")
    return p.size >= 2 and float(np.ptp(p)) <= tolerance


def rank_score(subset: dict) -> float:
    """A subset's rho for averaging and selection: its rho, 0 when its predictions are constant."""
    return 0.0 if subset.get("constant") else float(subset["spearman"])


def fisher_z_mean(rhos: Sequence[float]) -> float:
    """Average correlations in Fisher-z space: tanh(mean(arctanh(clip(rho)))). nan entries are skipped."""
    values = np.asarray(rhos, dtype=np.float64).reshape(-1)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan")
    return float(np.tanh(np.mean(np.arctanh(np.clip(values, -RHO_CLIP, RHO_CLIP)))))


def all_modality_subsets(names: Sequence[str]) -> list[tuple[str, ...]]:
    """Every non-empty subset, ordered by size and then by the order of `names`; the full set comes last."""
    names = list(names)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate modality names in {names}")
    return [combo for size in range(1, len(names) + 1) for combo in itertools.combinations(names, size)]


def _mean_finite(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def summarise(results: list[dict], modalities: Sequence[str]) -> dict:
    """Collect per-subset results into the protocol's summary.

    `results`: dicts {"modalities": [...], "spearman": float, "mse": float, "n": int}, one per subset (order of
    names inside a subset does not matter). Returns {"subsets": [...] (canonical order), "full": {"spearman",
    "mse"}, "average_incomplete": {"spearman", "mse"}}; the average excludes the full set.
    """
    order = all_modality_subsets(modalities)
    by_set: dict[frozenset, dict] = {}
    for result in results:
        key = frozenset(result["modalities"])
        if not key or not key <= set(modalities):
            raise ValueError(f"subset {result['modalities']} is not a non-empty subset of {list(modalities)}")
        if key in by_set:
            raise ValueError(f"subset {sorted(key)} appears twice in the results")
        by_set[key] = result
    full_key = frozenset(modalities)
    if full_key not in by_set:
        raise ValueError(f"no result for the full modality set {list(modalities)}")

    subsets = []
    for subset in order:
        result = by_set.get(frozenset(subset))
        if result is not None:
            subsets.append({"modalities": list(subset), "spearman": float(result["spearman"]),
                            "mse": float(result["mse"]), "n": int(result["n"]),
                            "constant": bool(result.get("constant", False))})
    incomplete = [s for s in subsets if len(s["modalities"]) < len(full_key)]
    full = by_set[full_key]
    return {
        "subsets": subsets,
        "full": {"spearman": float(full["spearman"]), "mse": float(full["mse"]),
                 "constant": bool(full.get("constant", False))},
        "average_incomplete": {
            "spearman": fisher_z_mean([rank_score(s) for s in incomplete]),
            "mse": _mean_finite([s["mse"] for s in incomplete]),
        },
    }


def _fmt(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def rho_text(row: dict) -> str:
    """A subset's (or the full set's) rho for a table or a log line: "constant" for a collapsed one."""
    return "constant" if row.get("constant") else _fmt(row["spearman"], 3)


def markdown_table(summary: dict) -> str:
    """Render `summarise` output as a Markdown table: one row per subset, then the incomplete-subset average."""
    lines = ["| Modalities | n | Spearman rho | MSE |", "|---|---:|---:|---:|"]
    for s in summary["subsets"]:
        lines.append(f"| {' + '.join(s['modalities'])} | {s['n']} | {rho_text(s)} | {_fmt(s['mse'], 2)} |")
    avg = summary["average_incomplete"]
    lines.append(f"| **Average (incomplete subsets)** | | {_fmt(avg['spearman'], 3)} | {_fmt(avg['mse'], 2)} |")
    full = summary["full"]
    lines.append(f"| **Full set** | | {rho_text(full)} | {_fmt(full['mse'], 2)} |")
    return "\n".join(lines) + "\n"


def comparison_table(model: dict, baseline: dict, names: tuple[str, str] = ("LIMSSR", "ridge baseline")) -> str:
    """Two summaries of the same split side by side: one row per subset, then the average and the full set."""
    a, b = names
    lines = [f"| Modalities | n | {a} rho | {b} rho | {a} MSE | {b} MSE |", "|---|---:|---:|---:|---:|---:|"]
    for s, t in zip(model["subsets"], baseline["subsets"]):
        lines.append(f"| {' + '.join(s['modalities'])} | {s['n']} | {rho_text(s)} | {rho_text(t)} | "
                     f"{_fmt(s['mse'], 2)} | {_fmt(t['mse'], 2)} |")
    for label, key in (("**Average (incomplete subsets)**", "average_incomplete"), ("**Full set**", "full")):
        s, t = model[key], baseline[key]
        lines.append(f"| {label} | | {rho_text(s)} | {rho_text(t)} | {_fmt(s['mse'], 2)} | {_fmt(t['mse'], 2)} |")
    return "\n".join(lines) + "\n"
