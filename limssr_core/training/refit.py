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
from limssr_core.model.hub import SELECTION_DIR  # the first run's folder inside a refitted run folder
from limssr_core.training.trainer import RefitPlan, Trainer, TrainResult


def refit_applies(training: TrainingConfig, dataset: FeatureDataset) -> bool:
    """Whether this run refits: `on`, or `auto` with a carved validation split (no split=val rows) and one model
    kept by its best epoch. Measured at N = 60 and 200 with carved splits (docs/method.md, "Small data")."""
    if training.refit == "auto":
        return training.refit_compatible and not dataset.split("val")
    return training.refit == "on"


def train_with_refit(config: LimssrConfig, dataset: FeatureDataset, out: str | Path, *,
                     backbone: Backbone | None = None, device: str = "auto", resume: bool = False,
                     progress: bool = True) -> tuple[Trainer, TrainResult, Trainer]:
    """Both runs: (the refit trainer, its result, the selection trainer). The checkpoint at `out` is the refit's."""
    pristine = backbone or load_backbone(config.backbone)
    first = Trainer(config, dataset, Path(out) / SELECTION_DIR, backbone=shared_copy(pristine), progress=progress,
                    device=device)
    chosen = first.fit(resume=resume)
    first.accelerator.wait_for_everyone()
    plan = RefitPlan(epochs=chosen.best_epoch, summary=chosen.best_summary, selection=chosen.best_selection)
    second = Trainer(config, dataset, out, backbone=shared_copy(pristine), progress=progress, device=device,
                     refit=plan)
    result = second.fit(resume=resume)
    result.history = chosen.history + result.history  # the card's and the caller's time: both runs
    return second, result, first
