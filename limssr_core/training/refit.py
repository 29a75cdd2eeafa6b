"""`--refit`: once the validation split has chosen the epoch, train again on every labelled sample up to that epoch.

`--refit auto` (the default) does so when the validation split is carved out of the training rows (the labels have
no split=val) and the run is one model kept by its best epoch; `on` also refits on a labelled validation split;
`off` never refits.

A carved validation split costs a small dataset about a sixth of its samples (9 of 60 at the default 0.15): the
kept model never trains on them, while the built-in baseline, which needs no validation, fits on all of them. With
`--refit` the run has two parts, each resumable:

1. the usual run, in `<out>/selection/` (a checkpoint of its own): it chooses the best epoch E on the validation split;
2. a second run from the same seed on the training and validation samples together, in `<out>/`, with the same
   learning-rate schedule (built for `--epochs`), stopped after epoch E; its weights are the checkpoint.

With `--refits N` (N > 1) step 2 trains N models, the first in `<out>/`, the others in `<out>/refits/refit-k/`, each
from its own initial weights, batch order and draws (`trainer.draw_seed`) on the same samples and masks; the
checkpoint scores with the mean of all of them (and of the first run under `--refit-keep both`).

Nothing is left to validate the second run on, so its card shows the first run's validation figures, and its
intervals are calibrated on the first run's validation errors: an approximation (the refitted model trained on
those samples, and on more data its errors are expected to be no larger, not guaranteed to be). The built-in
baseline is fitted on the same samples as the refitted model. Measured effect: docs/method.md ("Small data").
"""

from __future__ import annotations

from pathlib import Path

from limssr_core.config import LimssrConfig, TrainingConfig
from limssr_core.data.dataset import FeatureDataset
from limssr_core.model.backbone import Backbone, load_backbone, shared_copy
from limssr_core.model.hub import REFITS_DIR, SELECTION_DIR, refit_folder  # the other runs' folders
from limssr_core.training.trainer import RefitPlan, Trainer, TrainResult


def refit_applies(training: TrainingConfig, dataset: FeatureDataset) -> bool:
    """Whether this run refits: `on`, or `auto` with a carved validation split (no split=val rows) and one model
    kept by its best epoch. Measured at N = 60 and 200 with carved splits (docs/method.md, "Small data")."""
    if training.refit == "auto":
        return training.refit_compatible and not dataset.split("val")
    return training.refit == "on"


def refit_members_text(training: TrainingConfig) -> str:
    """What a refitted checkpoint scores with, in words, after the card's "Kept" line (empty: the refitted model)."""
    parts = [f"{training.refits - 1} more refitted model{'s' if training.refits > 2 else ''} ({REFITS_DIR}/, "
             "other initial weights and batch order)"] if training.refits > 1 else []
    if training.refit_keep == "both":
        parts.append(f"the first run's model ({SELECTION_DIR}/)")
    return f"; scores are the mean of it and {' and '.join(parts)}" if parts else ""


def train_with_refit(config: LimssrConfig, dataset: FeatureDataset, out: str | Path, *,
                     backbone: Backbone | None = None, device: str = "auto", resume: bool = False,
                     progress: bool = True) -> tuple[Trainer, TrainResult, Trainer]:
    """Both runs: (the refit trainer, its result, the selection trainer). The checkpoint at `out` is the refit's;
    further refitted models (training.refits) train after it, in `refits/`; the result's history holds every run's
    epochs."""
    pristine = backbone or load_backbone(config.backbone)
    first = Trainer(config, dataset, Path(out) / SELECTION_DIR, backbone=shared_copy(pristine), progress=progress,
                    device=device)
    chosen = first.fit(resume=resume)
    first.accelerator.wait_for_everyone()
    plan = RefitPlan(epochs=chosen.best_epoch, summary=chosen.best_summary, selection=chosen.best_selection)
    second = Trainer(config, dataset, out, backbone=shared_copy(pristine), progress=progress, device=device,
                     refit=plan)
    result = second.fit(resume=resume)
    history = chosen.history + result.history  # the card's and the caller's time: every run
    for member in range(2, config.training.refits + 1):
        other = Trainer(config, dataset, refit_folder(out, member), backbone=shared_copy(pristine), progress=progress,
                        device=device, refit=RefitPlan(plan.epochs, plan.summary, plan.selection, member=member))
        history += other.fit(resume=resume).history
    result.history = history
    return second, result, first
