"""How sure a score is: split-conformal intervals per modality subset, and the score's percentile.

Split conformal prediction: on calibration samples the model did not train on (the validation split, or any split
`calibrate` is given), the absolute errors |prediction - label| are kept per modality subset (the modalities the
prediction used). For a new score from subset S, the level-(1 - a) interval is score +- the ceil((n + 1)(1 - a))-th
smallest of S's n errors; it covers the true score with probability at least 1 - a when calibration and new samples
are exchangeable. A subset with fewer modalities has larger errors, so a missing modality widens the interval. With
too few calibration samples (below 9 for 90%) the interval is not finite and is reported as not available, never
invented. Implemented directly (a sorted array and an index): the whole method is those few lines, and it needs the
per-subset bookkeeping the protocol already does, which MAPIE or crepes would not add.

The percentile places a score among the training labels (their 0..100 % quantiles, stored with the calibration).
Both live in the checkpoint's config (`LimssrConfig.calibration`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_LEVEL = 0.9


def subset_key(modalities: list[str]) -> str:
    """The key of a modality subset, in the config's order: 'video+audio'."""
    return "+".join(modalities)


def min_calibration_samples(level: float) -> int:
    """The fewest calibration errors for a finite level interval: ceil((n + 1) level) <= n."""
    return math.ceil(level / (1.0 - level) - 1e-9)


def conformal_radius(errors: list[float] | np.ndarray, level: float) -> float:
    """The split-conformal half-width from calibration errors; inf when there are too few of them."""
    errors = np.sort(np.asarray(errors, dtype=np.float64))
    n = errors.size
    rank = math.ceil((n + 1) * level - 1e-9)
    return float(errors[rank - 1]) if 0 < rank <= n else math.inf


@dataclass
class ScoreInterval:
    level: float  # e.g. 0.9
    low: float | None  # None when not available
    high: float | None
    n_calibration: int  # calibration errors behind it (for this subset)
    modalities: list[str]  # the subset it is conditioned on
    reason: str = ""  # why it is not available


@dataclass
class Calibration:
    method: str  # "split-conformal"
    split: str  # the split the errors come from
    errors: dict[str, list[float]]  # subset key -> absolute errors in score units
    label_quantiles: list[float]  # the training labels' 0, 1, ..., 100 % quantiles, in score units

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict | None) -> "Calibration | None":
        if not raw:
            return None
        return cls(str(raw["method"]), str(raw["split"]), {k: list(map(float, v)) for k, v in raw["errors"].items()},
                   list(map(float, raw.get("label_quantiles", []))))

    def interval(self, score: float, modalities: list[str], score_range: tuple[float, float],
                 level: float = DEFAULT_LEVEL) -> ScoreInterval:
        errors = self.errors.get(subset_key(modalities), [])
        radius = conformal_radius(errors, level)
        if not math.isfinite(radius):
            need = min_calibration_samples(level)
            return ScoreInterval(level, None, None, len(errors), list(modalities),
                                 f"not enough calibration data ({len(errors)} samples with these modalities; "
                                 f"{need} needed for a {level:.0%} interval)")
        lo, hi = score_range
        return ScoreInterval(level, max(lo, score - radius), min(hi, score + radius), len(errors), list(modalities))

    def percentile(self, score: float) -> float | None:
        """The share of training labels at or below `score`, in percent (None without stored labels)."""
        q = np.asarray(self.label_quantiles, dtype=np.float64)
        if q.size < 2:
            return None
        grid = np.linspace(0.0, 100.0, q.size)
        return float(np.interp(score, q, grid, left=0.0, right=100.0))


def calibration_from_rows(rows: list[dict], split: str, train_labels: list[float]) -> Calibration:
    """From per-sample evaluation rows (evaluate_model's: sample_id, subset, target, prediction, in score units)."""
    errors: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        errors[row["subset"]].append(abs(float(row["prediction"]) - float(row["target"])))
    quantiles = np.quantile(np.asarray(train_labels, dtype=np.float64), np.linspace(0, 1, 101)).tolist() \
        if len(train_labels) >= 2 else []
    return Calibration("split-conformal", split, {k: sorted(v) for k, v in errors.items()}, quantiles)
