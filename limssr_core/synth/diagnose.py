"""Which parts of the synthetic score a model follows, and which it misses (`python -m limssr_core synth-diagnose`).

The synthetic score is a documented sum of five components (docs/synthetic_routines.md). Given a model's predictions
for routines whose plans are known, this reports for every component c, in points of the score:

    follows  corr(prediction, c)   how much the prediction moves with it
    share    corr(score, c)        how much the true score moves with it (what a perfect model would show)
    missed   corr(score - prediction, c)   how much of the error it explains

A component the model cannot see has `follows` near 0 and a large `missed` (e.g. timing, which needs the video's
motion and the audio's beat aligned within a fraction of a beat).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from limssr_core.errors import LimssrError
from limssr_core.synth.routines import (
    FALL_DOWN_S,
    FALL_LIE_S,
    FALL_PENALTY,
    FALL_UP_S,
    WEIGHTS,
    RoutinePlan,
    score_components,
)

COMPONENTS = (*WEIGHTS, "falls")


@dataclass
class FactorRow:
    component: str
    follows: float
    share: float
    missed: float


@dataclass
class FactorReport:
    n: int
    spearman: float
    rows: list[FactorRow]

    def to_markdown(self) -> str:
        lines = [f"{self.n} routines, Spearman rho of the predictions {self.spearman:.3f}", "",
                 "| component | follows corr(pred, c) | share corr(score, c) | missed corr(score - pred, c) |",
                 "|---|---:|---:|---:|"]
        lines += [f"| {r.component} | {r.follows:+.2f} | {r.share:+.2f} | {r.missed:+.2f} |" for r in self.rows]
        return "\n".join(lines)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() < 1e-12 or b.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def factor_report(predictions: dict[str, float], plans: list[RoutinePlan]) -> FactorReport:
    """Correlate predictions (sample id -> score) with each plan's components, in points of the score."""
    from scipy.stats import spearmanr

    by_id = {plan.sample_id: plan for plan in plans}
    ids = [sid for sid in predictions if sid in by_id]
    if len(ids) < 3:
        raise LimssrError(f"need at least 3 predicted routines with a plan, got {len(ids)}")
    pred = np.array([predictions[sid] for sid in ids], dtype=np.float64)
    true = np.array([by_id[sid].score for sid in ids], dtype=np.float64)
    points = {name: WEIGHTS.get(name, -FALL_PENALTY) for name in COMPONENTS}
    components = [score_components(by_id[sid]) for sid in ids]
    rows = []
    for name in COMPONENTS:
        c = np.array([comp[name] * points[name] for comp in components])
        rows.append(FactorRow(name, _corr(pred, c), _corr(true, c), _corr(true - pred, c)))
    return FactorReport(len(ids), float(spearmanr(pred, true)[0]), rows)


def diagnose_checkpoint(checkpoint, data, routines, split: str = "test", modalities: list[str] | None = None,
                        device: str = "auto", progress: bool = True) -> tuple[tuple[str, ...], FactorReport]:
    """Score a split of extracted synthetic routines with a checkpoint (from `modalities`, default all) and report
    which score components the predictions follow. Returns (the modalities used, the report)."""
    from limssr_core.data.dataset import load_dataset
    from limssr_core.evaluation.evaluate import subset_masks
    from limssr_core.model.checkpoint import load_checkpoint
    from limssr_core.model.runner import normalised_predictions
    from limssr_core.runtime import resolve_device
    from limssr_core.synth.generate import read_plans

    plans = read_plans(routines)
    splits = ("train", "val", "test") if split == "all" else (split,)
    dataset = load_dataset(data, splits=splits, progress=progress)
    model = load_checkpoint(checkpoint, device=resolve_device(device))
    names = model.config.modality_names
    subset = tuple(modalities) if modalities else tuple(names)
    unknown = sorted(set(subset) - set(names))
    if unknown:
        raise LimssrError(f"--modalities {unknown}: not modalities of this checkpoint ({names})")
    subset = tuple(n for n in names if n in subset)
    kept, masks = subset_masks(dataset.samples, names, subset)
    scores = normalised_predictions(model, kept, masks, batch_size=16)
    predictions = {s.sample_id: model.config.denormalise(float(p)) for s, p in zip(kept, scores, strict=True)}
    return subset, factor_report(predictions, plans)


@dataclass
class FallMoment:
    """Whether a routine's timeline points at its fall: the mean effect ("all" modalities, score units) of the
    moments that hold the fall's impact against the mean effect of the moments that hold no fall at all."""

    sample_id: str
    fall_s: float  # the first fall's impact, seconds into the routine
    fall_effect: float  # negative: the moment lowered the score (occluding it raises the score)
    other_effect: float

    @property
    def located(self) -> bool:
        """Occluding the fall's moment raises the score more than occluding a moment without a fall."""
        return self.fall_effect < self.other_effect


def fall_moment(timeline, plan: RoutinePlan) -> FallMoment | None:
    """For a routine with at least one fall and a timeline in seconds; None when it has no fall or no moment
    without one."""
    falls = [e.fall_time for e in plan.elements if e.fall and e.fall_time is not None]
    if not falls or timeline.segment_seconds is None:
        return None
    spans = [(t - FALL_DOWN_S, t + FALL_LIE_S + FALL_UP_S) for t in falls]  # the whole fall sequence
    at_fall = [p.effect["all"] for p in timeline.points if p.start_s <= falls[0] < p.end_s]
    elsewhere = [p.effect["all"] for p in timeline.points
                 if not any(p.start_s < b and a < p.end_s for a, b in spans)]
    if not at_fall or not elsewhere:
        return None
    return FallMoment(plan.sample_id, falls[0], float(np.mean(at_fall)), float(np.mean(elsewhere)))
