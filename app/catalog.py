"""Which checkpoints the app serves, by name: a visitor chooses from a list and never names a server path.

The list, rebuilt on every lookup so that folders the operator adds show up without a restart:

- `bundled`: the demo checkpoint in assets/demo_checkpoint;
- the operator's `--checkpoint`: its folder name, or its Hub id;
- every checkpoint folder directly under an operator's `--checkpoint-dir` folder, by its folder name
  (`name (parent)` when two folders share a name);
- every Hub id on the operator's `--allow-hub-checkpoint` list. An `owner/*` entry also admits any `owner/name`
  typed in the page. Hub checkpoints are fetched through the core's single Hub path (model/hub.py), which downloads
  the checkpoint files only, with a size cap.

Every other value gets the same message, `NOT_OFFERED`, whatever it names. So the page never reveals whether a path
exists on the server. `--allow-checkpoint-paths` also accepts a typed folder path. It is meant for a local,
single-user app only, because it then loads any checkpoint folder on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from limssr_core.errors import LimssrError
from limssr_core.model.checkpoint import is_checkpoint
from limssr_core.model.hub import HUB_ID, resolve_checkpoint_folder, split_ref

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED = "bundled"
BUNDLED_PATH = REPO_ROOT / "assets" / "demo_checkpoint"
NOT_OFFERED = "this checkpoint is not offered here: choose one from the list"


class CheckpointRefused(LimssrError):
    """A checkpoint value the app does not serve. The message is always NOT_OFFERED."""

    def __init__(self) -> None:
        super().__init__(NOT_OFFERED)


@dataclass(frozen=True)
class CatalogEntry:
    name: str  # what the selector shows and sends
    source: Path | str  # a local folder, or a Hub ref "owner/name[@revision]"


def _local(path: str | Path) -> Path:
    """An operator's path: absolute, or relative to the working directory, else to the repository."""
    path = Path(path).expanduser()
    if not path.is_absolute() and not path.exists() and (REPO_ROOT / path).exists():
        path = REPO_ROOT / path
    return path.resolve()


def _is_hub_ref(ref: str) -> bool:
    return bool(HUB_ID.match(ref)) and not _local(ref).exists()


def operator_source(checkpoint: str) -> Path | str:
    """The operator's `--checkpoint` as a folder or a Hub ref (`bundled` is the demo checkpoint)."""
    ref = (checkpoint or "").strip() or BUNDLED
    if ref == BUNDLED:
        return BUNDLED_PATH
    return ref if _is_hub_ref(ref) else _local(ref)


def entries(settings) -> list[CatalogEntry]:
    """The selector's choices in order: bundled, the operator's checkpoint, scanned folders, allowlisted Hub ids."""
    sources: list[Path | str] = [BUNDLED_PATH, operator_source(settings.checkpoint)]
    for root in settings.checkpoint_dirs:
        base = _local(root)
        if base.is_dir():
            sources.extend(sorted(p.resolve() for p in base.iterdir() if is_checkpoint(p)))
    sources.extend(ref for ref in settings.hub_allowlist if not ref.endswith("/*"))
    unique = list(dict.fromkeys(sources))
    names = [Path(s).name if isinstance(s, Path) else s for s in unique]
    listed = []
    for source, name in zip(unique, names):
        if source == BUNDLED_PATH:
            name = BUNDLED
        elif isinstance(source, Path) and (names.count(name) > 1 or name == BUNDLED):
            name = f"{name} ({source.parent.name})"
        listed.append(CatalogEntry(name, source))
    return listed


def names(settings) -> list[str]:
    return [entry.name for entry in entries(settings)]


def default_name(settings) -> str:
    """The selector's initial value: the operator's checkpoint's name."""
    source = operator_source(settings.checkpoint)
    return next(e.name for e in entries(settings) if e.source == source)


def lookup(value: str | None, settings) -> Path | str:
    """A selector value -> its source (a folder or a Hub ref). Raises CheckpointRefused for anything not offered.

    The operator's own `--checkpoint` value is accepted verbatim as well (API clients and the benchmarks pass it)."""
    value = (value or "").strip() or BUNDLED
    for entry in entries(settings):
        if value == entry.name:
            return entry.source
    if value == settings.checkpoint.strip():
        return operator_source(value)
    if HUB_ID.match(value):
        owner = split_ref(value)[0].split("/")[0]
        if f"{owner}/*" in settings.hub_allowlist:
            return value
    if settings.allow_checkpoint_paths and not value.startswith("~"):
        path = _local(value)
        if is_checkpoint(path):
            return path
    raise CheckpointRefused()


def resolve(value: str | None, settings) -> Path:
    """A selector value -> a local checkpoint folder (a Hub checkpoint is downloaded once, size-capped)."""
    source = lookup(value, settings)
    if source == BUNDLED_PATH and not is_checkpoint(BUNDLED_PATH):
        raise LimssrError(f"the bundled demo checkpoint is missing: {BUNDLED_PATH} holds no limssr_config.json. "
                          "Build it (see README) or choose another checkpoint (--checkpoint / LIMSSR_CHECKPOINT)")
    return resolve_checkpoint_folder(source)
