"""From a dataset and settings to a trained, evaluated checkpoint (the engine of `python -m limssr_core train`).

Settings come in three layers, later ones winning: the config dataclasses' defaults, a benchmark preset
(`training/presets.py`), and the caller's explicit settings (the command line's flags, generated from the config
fields). The run folder is the checkpoint of the kept weights (the best epoch, or the late epochs' average:
`training/averaging.py`); with a test split it also gets the test table in its card.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from limssr_core.config import LimssrConfig, ModalityConfig, TrainingConfig
from limssr_core.data.dataset import FeatureDataset
from limssr_core.errors import LimssrError
from limssr_core.evaluation.baseline import fit_baseline
from limssr_core.evaluation.evaluate import (TEST_PREDICTIONS_NAME, evaluate_model, evaluate_predictor,
                                             write_predictions_csv)
from limssr_core.inference.calibration import calibration_from_rows
from limssr_core.model.backbone import load_backbone, shared_copy
from limssr_core.model.checkpoint import load_checkpoint, update_config
from limssr_core.model.ensemble import LimssrEnsemble
from limssr_core.model.hub import MEMBERS_DIR, SELECTION_DIR, write_card
from limssr_core.training.model_card import render_model_card
from limssr_core.training.folds import train_ensemble
from limssr_core.training.presets import get_preset
from limssr_core.training.refit import refit_applies, refit_members_text, train_with_refit
from limssr_core.training.trainer import STATE_FILE, Trainer, TrainResult

DEFAULT_LENGTH = 32  # T for every modality block when neither --length nor a preset sets it
DERIVED_FIELDS = frozenset({"modalities", "score_name", "score_range", "backbone_identity", "training", "dataset",
                            "format_version", "calibration"})
DROPOUT_FIELDS = ("projector_dropout", "head_dropout")  # what a preset's (or --dropout's) single dropout sets


def settable_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of LimssrConfig / TrainingConfig a user sets (the rest come from the dataset and the backbone)."""
    return [f for f in dataclasses.fields(cls) if f.name not in DERIVED_FIELDS]


def parse_lengths(value: int | str | None, modalities: list[str], default: int) -> dict[str, int]:
    """`--length`: one T for every modality ("32"), or per modality ("video=32,commentary=12"; others: default)."""
    if value is None or value == "":
        return dict.fromkeys(modalities, default)
    text = str(value)
    if "=" not in text:
        if not text.isdigit() or int(text) < 1:
            raise LimssrError(f"--length must be a positive integer or name=T pairs, got {text!r}")
        return dict.fromkeys(modalities, int(text))
    lengths = dict.fromkeys(modalities, default)
    for item in text.split(","):
        name, _, number = item.partition("=")
        if name not in lengths or not number.isdigit() or int(number) < 1:
            raise LimssrError(f"--length: {item!r} is not MODALITY=T with a modality of the dataset {modalities}")
        lengths[name] = int(number)
    return lengths


def build_config(dataset: FeatureDataset, model: dict | None = None, training: dict | None = None,
                 preset: str | None = None, length: int | str | None = None) -> LimssrConfig:
    """Dataset spec + preset + explicit settings (explicit wins) -> one LimssrConfig.

    `model` and `training` map LimssrConfig / TrainingConfig field names to values; a name that is no settable
    field is an error, never silently ignored.
    """
    model, training = dict(model or {}), dict(training or {})
    for cls, given in ((LimssrConfig, model), (TrainingConfig, training)):
        unknown = sorted(set(given) - {f.name for f in settable_fields(cls)})
        if unknown:
            raise LimssrError(f"unknown {cls.__name__} setting(s) {unknown}")
    chosen = get_preset(preset) if preset else {}
    if "epochs" in chosen:
        training.setdefault("epochs", chosen["epochs"])
    if "dropout" in chosen:
        for name in DROPOUT_FIELDS:
            model.setdefault(name, chosen["dropout"])
    spec = dataset.spec
    lengths = parse_lengths(length, list(spec.modalities), chosen.get("length", DEFAULT_LENGTH))
    return LimssrConfig(
        modalities=[ModalityConfig(name, info.dim, info.extractor, lengths[name], info.timeline)
                    for name, info in spec.modalities.items()],
        score_name=spec.score_name,
        score_range=spec.score_range,
        training=TrainingConfig(**training),
        dataset={"name": spec.name, "samples": len(dataset.samples), "availability": dataset.availability(),
                 "preset": preset},
        **model,
    )


def calibrate(model, samples: list, split: str, train_samples: list):
    """Split-conformal calibration of `model` on `samples` (never trained on), percentiles from `train_samples`."""
    _, rows = evaluate_model(model, samples, progress=False)
    labels = [model.config.denormalise(s.target) for s in train_samples if s.target is not None]
    return calibration_from_rows(rows, split, labels)


def training_masks(trainer: Trainer) -> list[tuple[bool, ...]]:
    """The masks of the training missingness on a trainer's training split (the data the model had), without modality
    dropout's augmentation: what the built-in baseline is fitted under. Under `per-batch` missingness, which draws a new
    subset every step, this is one draw per sample from the same distribution."""
    return [trainer.policy.mode_masks([s])[0] for s in trainer.splits.train]


def train(config: LimssrConfig, dataset: FeatureDataset, out: str | Path, *, backbone=None, device: str = "auto",
          resume: bool = False, progress: bool = True) -> TrainResult:
    """Train, keep the chosen weights in `out`, fit the built-in baseline beside it, evaluate both on the selection
    split and (selection on val, a test split present) on test, and write the card with those tables. With
    training.folds = K > 1: a K-fold ensemble (training/folds.py)."""
    if config.training.folds == 1 and (Path(out) / MEMBERS_DIR).is_dir():
        raise LimssrError(f"{out} holds an ensemble (members/): train one model into another folder")
    if config.training.folds > 1:
        return train_ensemble(config, dataset, out, backbone=backbone, device=device, resume=resume,
                              progress=progress)
    plain_state, selection = Path(out) / STATE_FILE, Path(out) / SELECTION_DIR
    refit = refit_applies(config.training, dataset)
    if not refit and selection.is_dir():  # its selection/ would pair the new model with the old first run
        raise LimssrError(f"{out} is a refitted run (selection/): resume it with --refit on, or train into another "
                          "folder")
    if resume and refit and plain_state.is_file() and not selection.is_dir():
        raise LimssrError(f"{out} holds a run that was not refitted: resume it with --refit off, or train into another "
                          "folder")
    if refit:  # `first` chose the epoch; `trainer` refitted on train + val (training/refit.py)
        trainer, result, first = train_with_refit(config, dataset, out, backbone=backbone, device=device,
                                                  resume=resume, progress=progress)
        result.kept += refit_members_text(config.training)
    else:
        trainer = first = Trainer(config, dataset, out, backbone=backbone, progress=progress, device=device)
        result = trainer.fit(resume=resume)
    trainer.accelerator.wait_for_everyone()
    if not result.main_process:  # the main process fits the baseline, evaluates and writes the files
        return result
    # evaluation in fp32 on a freshly loaded body (training may have cast its own to bf16); a refitted run's selection
    # model (its second member under refit_keep both), judged for calibration below, shares that body's weights
    evaluation = load_backbone(config.backbone)
    model = load_checkpoint(out, backbone=shared_copy(evaluation), device=trainer.accelerator.device)
    names = model.config.modality_names
    dims = {m.name: m.dim for m in model.config.modalities}
    baseline = fit_baseline(trainer.splits.train, training_masks(trainer), names, dims)
    baseline.save(out)
    # beside the model's validation figures, a baseline that never trained on the validation split either
    select_baseline = baseline if first is trainer else fit_baseline(first.splits.train, training_masks(first), names,
                                                                     dims)
    summaries = {"select": evaluate_predictor(select_baseline.predict, trainer.splits.select, names, model.config,
                                              progress=False)[0]}
    test = dataset.split("test")
    if len(test) >= 2 and trainer.config.training.select_on == "val":
        result.test_summary, rows = evaluate_model(model, test, progress=False)
        write_predictions_csv(rows, Path(out) / TEST_PREDICTIONS_NAME)
        summaries["test"] = evaluate_predictor(baseline.predict, test, names, model.config, progress=False)[0]
    result.baseline_summaries = summaries
    if trainer.splits.select_name.startswith("val"):  # errors on samples the weights never trained on
        # (--refit: the first run's weights; the refitted ones trained on the validation split)
        if first is trainer:
            judged = model
        elif isinstance(model, LimssrEnsemble) and config.training.refit_keep == "both":  # second member: first run
            judged = model.members[1]
        else:
            judged = load_checkpoint(Path(out) / SELECTION_DIR, backbone=shared_copy(evaluation),
                                     device=trainer.accelerator.device)
        model.config.calibration = calibrate(judged, trainer.splits.select, "val", trainer.splits.train).to_json()
        update_config(out, model.config)
    card = render_model_card(model.config, result.best_summary, trainer.splits.select_name, result.kept,
                             len(trainer.splits.train), test_summary=result.test_summary, baseline=summaries,
                             processes=result.processes)
    if result.test_summary is not None:
        write_card(out, card, model.config, result.test_summary, "test")
    else:
        write_card(out, card, model.config, result.best_summary, "val")
    return result
