"""Self-describing checkpoints: megabytes, not the whole LLM (docs/data_format.md).

```
limssr_config.json           the full LimssrConfig (backbone identity, modalities with dims and extractor ids, K, T,
                             score name and range, prompt, training settings and data provenance) + library versions
adapter/                     the peft LoRA adapter (save_pretrained; its base model is named by Hub id, never a path)
limssr_weights.safetensors   projectors, new token rows, fusion pooling and MDA heads
README.md                    the card: Hub metadata + what it was trained on, how, and its evaluation table
                             (older checkpoints: MODEL_CARD.md, still read)
```
A K-fold ensemble (`train --folds K`, model/ensemble.py) has the config (training.folds = K), card and baseline at the
top and its members in `members/fold-1` .. `members/fold-K`, each a checkpoint of the layout above. A refitted run
(training/refit.py) is the refitted model's checkpoint with the first run's in `selection/`; with
training.refit_keep = both (format 5 on) it loads as the pair, scoring with the mean of both.
Loading takes a folder or a Hub id (model/hub.py), checks the backbone identity; `check_compatible` checks
modalities, dims and extractor ids against data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from importlib import metadata
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from limssr_core.config import LimssrConfig
from limssr_core.data.generic import DatasetSpec
from limssr_core.errors import CheckpointMismatchError, LimssrError
from limssr_core.model.backbone import Backbone, check_identity, load_backbone, shared_copy
from limssr_core.model.hub import (
    CARD_NAME,
    CONFIG_NAME,
    LEGACY_CARD_NAME,
    MEMBERS_DIR,
    SELECTION_DIR,
    base_model_of,
    is_checkpoint,
    read_card,
    refit_folder,
    resolve_checkpoint_folder,
    write_card,
)

WEIGHTS_NAME = "limssr_weights.safetensors"
ADAPTER_DIR = "adapter"
__all__ = ["CARD_NAME", "CONFIG_NAME", "LEGACY_CARD_NAME", "is_checkpoint", "read_card", "check_compatible",
           "load_checkpoint", "read_config", "checkpoint_fingerprint", "save_checkpoint", "portable_adapter_config", "update_config",
           "upgrade_checkpoint", "member_folders", "load_model"]


def library_versions() -> dict[str, str]:
    versions = {}
    for package in ("limssr-studio", "torch", "transformers", "peft"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def read_config(folder: str | Path) -> LimssrConfig:
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise LimssrError(f"{folder}: not a LIMSSR checkpoint (no {CONFIG_NAME})")
    try:
        return LimssrConfig.from_json(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError, KeyError) as err:
        raise LimssrError(f"{path}: not a valid LIMSSR config ({err})") from None


FULL_PRECISION_SUFFIXES = (".feature_mean", ".feature_scale")  # statistics float16 would round (a mean near 3000)


def _halve(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.half() if v.is_floating_point() and not k.endswith(FULL_PRECISION_SUFFIXES) else v
            for k, v in tensors.items()}


def portable_adapter_config(adapter_dir: Path, config: LimssrConfig) -> None:
    """Name the adapter's base model by Hub id (peft writes the local folder it was loaded from, which breaks Hub
    uploads and leaks a machine path) and drop peft's auto-generated adapter card (the checkpoint has its own)."""
    path = adapter_dir / "adapter_config.json"
    raw = json.loads(path.read_text())
    raw["base_model_name_or_path"] = base_model_of(config)[0]
    path.write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")
    (adapter_dir / "README.md").unlink(missing_ok=True)


def save_checkpoint(model, folder: str | Path, model_card: str | None = None, half: bool = False,
                    summary: dict | None = None, summary_split: str = "test") -> Path:
    """Write a checkpoint; files are staged then moved in, so an interruption never leaves a half-written one.

    `model_card` is the card's markdown body; `summary` (an evaluation summary on `summary_split`) goes into its
    Hub metadata. `half` stores the weights as float16 (half the size, e.g. for a bundled checkpoint); loading casts
    them back.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    raw = model.config.to_json()
    raw["library_versions"] = library_versions()
    (staging / CONFIG_NAME).write_text(json.dumps(raw, indent=2) + "\n")
    model.backbone.save_pretrained(staging / ADAPTER_DIR)
    portable_adapter_config(staging / ADAPTER_DIR, model.config)
    heads = {name: tensor.detach().cpu().contiguous() for name, tensor in model.head_state_dict().items()}
    if half:
        adapter_file = staging / ADAPTER_DIR / "adapter_model.safetensors"
        save_file(_halve(load_file(adapter_file)), adapter_file)
        heads = _halve(heads)
    save_file(heads, staging / WEIGHTS_NAME)
    if model_card is not None:
        write_card(staging, model_card, model.config, summary, summary_split)
    for entry in staging.iterdir():
        target = folder / entry.name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(entry, target)
    staging.rmdir()
    if model_card is not None:
        (folder / LEGACY_CARD_NAME).unlink(missing_ok=True)
    return folder


def member_folders(folder: str | Path, config: LimssrConfig) -> list[Path]:
    """An ensemble's member checkpoints; [] for a single model. A K-fold ensemble: `members/fold-k` (a member's own
    folder has weights of its own, and its config says how many folds it was one of: a single model). A refitted run
    (one with `selection/`): the folder itself (the refitted model), `selection/` (the first run) under
    training.refit_keep = both, and `refits/refit-2` .. `refit-N` when it trained N = training.refits models."""
    folder = Path(folder)
    training = config.training
    if training.folds >= 2 and not (folder / WEIGHTS_NAME).is_file():
        return [folder / MEMBERS_DIR / f"fold-{k + 1}" for k in range(training.folds)]
    if not (folder / SELECTION_DIR / CONFIG_NAME).is_file():  # not refitted (a refit's own members have no selection/)
        return []
    first = [folder / SELECTION_DIR] if training.refit_keep == "both" else []
    members = [folder] + first + [refit_folder(folder, k) for k in range(2, training.refits + 1)]
    return members if len(members) > 1 else []


def checkpoint_fingerprint(folder: str | Path) -> str:
    """SHA-256 (first 16 hex digits) of a checkpoint's config and weights (every member's, for an ensemble): it
    changes with every rebuild or recalibration, so a record made with one checkpoint
    (assets/examples/examples.json) can tell it is stale."""
    digest = hashlib.sha256()
    digest.update((Path(folder) / CONFIG_NAME).read_bytes())
    for weights in member_folders(folder, read_config(folder)) or [Path(folder)]:
        for name in (WEIGHTS_NAME, ADAPTER_DIR + "/adapter_model.safetensors"):
            digest.update((weights / name).read_bytes())
    return digest.hexdigest()[:16]


def update_config(folder: str | Path, config: LimssrConfig) -> None:
    """Rewrite a checkpoint's limssr_config.json from `config` (e.g. with a new calibration), atomically; the
    weights are untouched."""
    path = Path(folder) / CONFIG_NAME
    raw = config.to_json()
    raw["library_versions"] = json.loads(path.read_text()).get("library_versions", library_versions())
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(raw, indent=2) + "\n")
    os.replace(tmp, path)


def load_checkpoint(ref: str | Path, backbone: Backbone | None = None, device: str | torch.device = "cpu",
                    **hub_options):
    """Rebuild a LimssrModel (or a LimssrEnsemble, model/ensemble.py) from a checkpoint folder or Hub id
    (`hub_options`: revision, token, cache_dir, local_files_only, max_bytes), refusing a backbone that differs from
    the recorded one."""
    from limssr_core.model.ensemble import LimssrEnsemble

    folder = resolve_checkpoint_folder(ref, **hub_options)
    config = read_config(folder)
    members = member_folders(folder, config)
    for member in members:
        if not is_checkpoint(member):
            raise LimssrError(f"{folder}: incomplete ensemble checkpoint, member {member.name} is missing")
    if backbone is None:
        backbone = load_backbone(config.backbone)
    check_identity(config.backbone_identity, backbone.identity)
    if not members:
        return load_model(folder, config, backbone).to(device).eval()
    ensemble = LimssrEnsemble(config, [load_model(member, read_config(member), shared_copy(backbone))
                                       for member in members])
    ensemble.checkpoint_folder = folder
    return ensemble.to(device).eval()


def load_model(folder: Path, config: LimssrConfig, backbone: Backbone):
    """One LimssrModel from its checkpoint folder (LoRA is added to `backbone`'s body in place)."""
    from peft import set_peft_model_state_dict

    from limssr_core.model.limssr import LimssrModel

    for name in (WEIGHTS_NAME, ADAPTER_DIR + "/adapter_model.safetensors"):
        if not (folder / name).is_file():
            raise LimssrError(f"{folder}: incomplete checkpoint, {name} is missing")
    check_identity(config.backbone_identity, backbone.identity)
    model = LimssrModel(config, backbone)
    result = set_peft_model_state_dict(model.backbone, load_file(folder / ADAPTER_DIR / "adapter_model.safetensors"))
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise CheckpointMismatchError(f"{folder}: adapter does not fit the backbone (unexpected {unexpected[:3]})")
    heads = load_file(folder / WEIGHTS_NAME)
    expected = model.head_state_dict()
    missing = sorted(set(expected) - set(heads))
    extra = sorted(set(heads) - set(expected))
    if missing or extra:
        raise CheckpointMismatchError(f"{folder}: weights do not match the config (missing {missing[:3]}, "
                                      f"unexpected {extra[:3]})")
    for name, tensor in heads.items():
        if tensor.shape != expected[name].shape:
            raise CheckpointMismatchError(f"{folder}: weight {name} has shape {tuple(tensor.shape)}, the config "
                                          f"implies {tuple(expected[name].shape)}")
    model.load_state_dict(heads, strict=False)
    model.checkpoint_folder = folder  # where it came from: push_to_hub re-publishes its card
    model.stored_half = any(t.dtype == torch.float16 for t in heads.values())  # re-saved as it was stored
    return model


def check_compatible(config: LimssrConfig, spec: DatasetSpec, source: str = "dataset") -> None:
    """A checkpoint only scores data with its own modalities, feature dims and extractors."""
    model_modalities = set(config.modality_names)
    data_modalities = set(spec.modalities)
    if not data_modalities <= model_modalities:
        raise CheckpointMismatchError(
            f"{source} has modalities {sorted(data_modalities - model_modalities)} the checkpoint does not know "
            f"(checkpoint: {sorted(model_modalities)})"
        )
    for name, info in spec.modalities.items():
        expected = config.modality(name)
        if info.dim != expected.dim:
            raise CheckpointMismatchError(
                f"{source}: modality {name!r} has dim {info.dim}, the checkpoint expects {expected.dim}"
            )
        if expected.extractor != "unknown" and info.extractor != expected.extractor:
            raise CheckpointMismatchError(
                f"{source}: modality {name!r} was extracted with {info.extractor!r}, the checkpoint was trained on "
                f"{expected.extractor!r}"
            )


def upgrade_checkpoint(folder: str | Path) -> list[str]:
    """Bring a checkpoint written by an earlier version to today's layout without retraining: the card becomes a
    README.md with Hub metadata (its table from test_evaluation.json when present), the adapter names its base model
    by Hub id, and the config drops machine paths. Returns what changed."""
    folder = Path(folder)
    config = read_config(folder)
    changed = [f"{member.name}: {change}" for member in member_folders(folder, config) if member != folder
               for change in upgrade_checkpoint(member)]  # a refitted pair's first member is the folder itself
    raw = json.loads((folder / CONFIG_NAME).read_text())
    if "path" in raw.get("dataset", {}):
        del raw["dataset"]["path"]
        (folder / CONFIG_NAME).write_text(json.dumps(raw, indent=2) + "\n")
        changed.append("limssr_config.json: dataset path removed")
    adapter = folder / ADAPTER_DIR
    if adapter.is_dir():  # an ensemble's adapters are its members'
        before = (adapter / "adapter_config.json").read_text()
        portable_adapter_config(adapter, config)
        if (adapter / "adapter_config.json").read_text() != before:
            changed.append("adapter_config.json: base model named by Hub id")
    if (folder / LEGACY_CARD_NAME).is_file() and not (folder / CARD_NAME).is_file():
        evaluation = folder / "test_evaluation.json"
        summary = json.loads(evaluation.read_text()) if evaluation.is_file() else None
        write_card(folder, read_card(folder), config, summary)
        changed.append(f"{LEGACY_CARD_NAME} -> {CARD_NAME} with Hub metadata")
    return changed
