"""From command-line options to a trained, evaluated checkpoint (`python -m limssr_core train`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from limssr_core.model.checkpoint import CARD_NAME, load_checkpoint
from limssr_core.config import LimssrConfig, ModalityConfig, TrainingConfig
from limssr_core.data.dataset import FeatureDataset, load_dataset
from limssr_core.errors import LimssrError
from limssr_core.evaluation.evaluate import evaluate_model
from limssr_core.evaluation.metrics import markdown_table
from limssr_core.training.presets import get_preset
from limssr_core.training.model_card import render_model_card
from limssr_core.training.trainer import Trainer, TrainResult

DEFAULT_LENGTH = 32


@dataclass
class TrainOptions:
    data: str
    out: str
    backbone: str = "smollm2-135m"
    preset: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    warmup_epochs: int | None = None
    dropout: float | None = None
    length: int | str | None = None  # T for every block, or per modality: "video=32,commentary=12"
    fusion_tokens: int = 4
    lora_r: int = 16
    lora_alpha: int = 32
    fusion_reg: str = "margin"
    seed: int | None = None
    train_missing: str | None = None
    select_on: str | None = None
    select_metric: str | None = None
    val_fraction: float | None = None
    device: str = "auto"
    compile: bool = False
    precision: str | None = None  # auto (bf16 on GPU, fp32 on CPU) | no | bf16
    resume: bool = False
    no_progress: bool = False


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


def build_config(options: TrainOptions, dataset: FeatureDataset) -> LimssrConfig:
    """Dataset spec + preset + explicit options (explicit wins) -> one LimssrConfig."""
    preset = get_preset(options.preset) if options.preset else {}
    lengths = parse_lengths(options.length, list(dataset.spec.modalities), preset.get("length", DEFAULT_LENGTH))
    training = TrainingConfig()
    overrides = {
        "epochs": options.epochs or preset.get("epochs"),
        "batch_size": options.batch_size,
        "lr": options.lr,
        "weight_decay": options.weight_decay,
        "warmup_epochs": options.warmup_epochs,
        "seed": options.seed,
        "train_missing": options.train_missing,
        "select_on": options.select_on,
        "select_metric": options.select_metric,
        "val_fraction": options.val_fraction,
        "compile": options.compile,
        "mixed_precision": options.precision,
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(training, key, value)
    dropout = options.dropout if options.dropout is not None else preset.get("dropout", 0.1)
    spec = dataset.spec
    return LimssrConfig(
        modalities=[ModalityConfig(name, info.dim, info.extractor, lengths[name])
                    for name, info in spec.modalities.items()],
        score_name=spec.score_name,
        score_range=spec.score_range,
        backbone=options.backbone,
        num_fusion_tokens=options.fusion_tokens,
        projector_dropout=dropout,
        head_dropout=dropout,
        lora_r=options.lora_r,
        lora_alpha=options.lora_alpha,
        fusion_reg=options.fusion_reg,
        training=training,
        dataset={"name": spec.name, "path": str(Path(dataset.root).resolve()), "samples": len(dataset.samples),
                 "availability": dataset.availability(), "preset": options.preset},
    )


def train_from_options(options: TrainOptions, backbone=None) -> TrainResult:
    progress = not options.no_progress
    dataset = load_dataset(options.data, progress=progress)
    config = build_config(options, dataset)
    device = None if options.device == "auto" else options.device
    trainer = Trainer(config, dataset, options.out, backbone=backbone, progress=progress, device=device)
    result = trainer.fit(resume=options.resume)
    print(f"best epoch {result.best_epoch} on {trainer.splits.select_name}: selection rho "
          f"{result.best_selection:.3f}; checkpoint in {options.out}")
    test = dataset.split("test")
    if len(test) >= 2 and config.training.select_on == "val":
        model = load_checkpoint(options.out, device=trainer.accelerator.device)
        test_summary, _ = evaluate_model(model, test, progress=False)
        print("test split:\n" + markdown_table(test_summary))
        card = render_model_card(model.config, result.best_summary, trainer.splits.select_name, result.best_epoch,
                                 len(trainer.splits.train), test_summary=test_summary)
        (Path(options.out) / CARD_NAME).write_text(card)
        result.test_summary = test_summary
    return result
