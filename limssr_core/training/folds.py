"""`train --folds K`: a K-fold ensemble in one checkpoint (model/ensemble.py; docs/method.md, "Small data").

The labelled samples (train and val rows pooled) are cut into K folds (`fold_assignment`: seeded, independent of
their order). Member k trains on the other K-1 folds and keeps its weights by the usual rule, selected on fold k;
the members are trained one after the other, each a resumable run folder of its own (`members/fold-k`). Every
sample is then predicted by the one member that never trained on it: these out-of-fold predictions stand in for a
validation split of all N samples - they fill the card's selection table and calibrate the conformal intervals,
where one model would have a handful of carved samples for both. The built-in baseline is cross-validated on the
same folds for the card's side-by-side table, and refitted on all N samples for `evaluate --baseline`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from limssr_core.config import LimssrConfig
from limssr_core.data.collate import Sample
from limssr_core.data.dataset import FeatureDataset
from limssr_core.evaluation.baseline import fit_baseline
from limssr_core.evaluation.evaluate import (TEST_PREDICTIONS_NAME, Predictor, evaluate_model, evaluate_predictor,
                                             selection_score, write_predictions_csv)
from limssr_core.inference.calibration import calibration_from_rows
from limssr_core.errors import LimssrError
from limssr_core.model.backbone import Backbone, load_backbone, shared_copy
from limssr_core.model.checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    library_versions,
    load_checkpoint,
    member_folders,
)
from limssr_core.model.ensemble import LimssrEnsemble
from limssr_core.model.hub import write_card
from limssr_core.model.runner import normalised_predictions
from limssr_core.training.missingness import MaskPolicy, MissingnessMode
from limssr_core.training.model_card import render_model_card
from limssr_core.training.splits import labelled_folds
from limssr_core.training.trainer import Trainer, TrainResult


def out_of_fold_predictor(members: list[Predictor], fold_of: dict[str, int]) -> Predictor:
    """A Predictor that scores each sample with the member (a Predictor itself) that held its fold out."""

    def predict(samples: list[Sample], masks: list[tuple[bool, ...]]) -> np.ndarray:
        out = np.zeros(len(samples))
        for k, member in enumerate(members):
            mine = [i for i, s in enumerate(samples) if fold_of[s.sample_id] == k]
            if mine:
                out[mine] = member([samples[i] for i in mine], [masks[i] for i in mine])
        return out

    return predict


def train_ensemble(config: LimssrConfig, dataset: FeatureDataset, out: str | Path, *, backbone: Backbone | None = None,
                   device: str = "auto", resume: bool = False, progress: bool = True) -> TrainResult:
    """Train the K members, then write the ensemble checkpoint at `out`: its config (training.folds = K, calibrated
    on the out-of-fold predictions), the baseline and the card with out-of-fold, test and baseline tables."""
    out, folds = Path(out), config.training.folds
    if (out / WEIGHTS_NAME).is_file():
        raise LimssrError(f"{out} holds a single model: train the {folds}-fold ensemble into another folder")
    pristine = backbone or load_backbone(config.backbone)
    results = []
    for k, member in enumerate(member_folders(out, config)):
        trainer = Trainer(config, dataset, member, backbone=shared_copy(pristine), progress=progress,
                          device=device, fold=k)
        results.append(trainer.fit(resume=resume))
        trainer.accelerator.wait_for_everyone()
    if not results[-1].main_process:
        return results[-1]
    names = config.modality_names
    pool, fold_of = labelled_folds(dataset, config.training)
    # evaluated as they will be loaded: on a freshly loaded LLM (a bf16 training run rounded the shared weights)
    evaluation = load_backbone(config.backbone)
    member_models = [load_checkpoint(folder, backbone=shared_copy(evaluation), device=trainer.accelerator.device)
                     for folder in member_folders(out, config)]
    bound = member_models[0].config  # bound to the backbone (identity, LoRA targets)
    model_predictors = [lambda s, m, model=model: normalised_predictions(model, s, m) for model in member_models]
    oof_summary, oof_rows = evaluate_predictor(out_of_fold_predictor(model_predictors, fold_of), pool, names, bound,
                                               progress=False)
    labels = [bound.denormalise(s.target) for s in pool if s.target is not None]
    calibration = calibration_from_rows(oof_rows, "out-of-fold", labels)

    # the baseline: cross-validated on the same folds for the card, refitted on every labelled sample for the file
    mode = MissingnessMode.parse(config.training.train_missing)
    policy = MaskPolicy(mode, pool, names, config.training.seed, 0.0)
    masks = {s.sample_id: policy.mode_masks([s])[0] for s in pool}  # the training masks, as in run.train
    dims = {m.name: m.dim for m in config.modalities}
    fold_baselines = []
    for k in range(folds):
        train_k = [s for s in pool if fold_of[s.sample_id] != k]
        fold_baselines.append(fit_baseline(train_k, [masks[s.sample_id] for s in train_k], names, dims))
    baseline_oof = out_of_fold_predictor([b.predict for b in fold_baselines], fold_of)
    summaries = {"select": evaluate_predictor(baseline_oof, pool, names, bound, progress=False)[0]}
    baseline = fit_baseline(pool, [masks[s.sample_id] for s in pool], names, dims)
    baseline.save(out)

    ensemble_config = type(bound).from_json(bound.to_json())
    ensemble_config.calibration = calibration.to_json()
    ensemble = LimssrEnsemble(ensemble_config, member_models)
    test = dataset.split("test")
    test_summary = None
    if len(test) >= 2:
        test_summary, rows = evaluate_model(ensemble, test, progress=False)
        write_predictions_csv(rows, out / TEST_PREDICTIONS_NAME)
        summaries["test"] = evaluate_predictor(baseline.predict, test, names, bound, progress=False)[0]
    kept = (f"{folds} members, each trained on {folds - 1} of {folds} folds of the {len(pool)} labelled samples and "
            f"kept by `{config.training.keep_weights}` on its own held-out fold; scores are the members' mean")
    card = render_model_card(ensemble_config, oof_summary, f"out-of-fold: each of the {len(pool)} samples scored by "
                             "the member that never trained on it", kept, len(pool), test_summary=test_summary,
                             baseline=summaries, processes=results[-1].processes)
    summary, split = (test_summary, "test") if test_summary is not None else (oof_summary, "val")
    write_card(out, card, ensemble_config, summary, split)
    raw = ensemble_config.to_json()  # last, and whole or not at all: the folder is a checkpoint from then on
    raw["library_versions"] = library_versions()
    tmp = out / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(raw, indent=2) + "\n")
    os.replace(tmp, out / CONFIG_NAME)
    history = [row | {"member": k + 1} for k, result in enumerate(results) for row in result.history]
    selection = selection_score(oof_summary, config.training.select_metric)  # the out-of-fold figure
    return TrainResult(out, -1, selection, oof_summary, keep=f"ensemble of {folds}", kept=kept, history=history,
                       test_summary=test_summary, baseline_summaries=summaries, processes=results[-1].processes,
                       selection_split="out-of-fold")
