"""Shared, thread-safe state of the app: settings, checkpoints (each loaded once) and a small feature cache.

A checkpoint reference is what the selector holds: `bundled` (the demo checkpoint), a local folder, or a Hugging Face
Hub id (`owner/name`, `owner/name@revision`). `ModelRegistry.get` resolves it, loads its `Scorer` once per process and
hands the same object to every request (the `Scorer` serialises its own forward passes).

The backbone comes from the core (`limssr_core.model.backbone`): the embedded package when installed, else its pinned
Hub copy (a Hugging Face Space, see app/SETUP_NOTES.md); `load_checkpoint` then checks the recorded identity.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from limssr_core.model.checkpoint import is_checkpoint, read_card, read_config
from limssr_core.model.hub import HUB_ID, resolve_checkpoint_folder, split_ref
from limssr_core.config import LimssrConfig
from limssr_core.errors import LimssrError

log = logging.getLogger("limssr.app")

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED = "bundled"
BUNDLED_PATH = REPO_ROOT / "assets" / "demo_checkpoint"


@dataclass
class AppSettings:
    """Everything the command line / environment can set (see app.py)."""

    checkpoint: str = BUNDLED
    device: str = "cpu"
    max_upload_mb: float = 500.0  # the video (and Gradio's upload route for every file)
    max_audio_mb: float = 100.0  # a separate audio file
    max_commentary_kb: float = 256.0  # a commentary file; text beyond 20000 characters is cut with a warning
    max_minutes: float = 6.0  # the longest routine: a free skate of about 4 minutes plus margin
    concurrency: int = 2  # scoring requests processed at once
    queue_size: int = 16  # waiting requests beyond which new ones are refused
    max_routines: int = 20  # routines one Competition upload may hold
    threads: int | None = None  # torch / OpenCV / decoder threads (None: library defaults)
    feature_cache: int = 8  # extracted samples kept for re-scoring ("what if") without re-extraction
    checkpoint_dirs: tuple[str, ...] = ("runs", "checkpoints")  # scanned for local checkpoints
    allow_custom_checkpoints: bool = True  # a folder path typed into the selector
    hub_allowlist: tuple[str, ...] = ()  # Hub checkpoint ids (or owner/*) visitors may choose
    preload: bool = True  # load the default checkpoint and extractors at start, in the background


@dataclass
class LoadedCheckpoint:
    ref: str
    folder: Path
    config: LimssrConfig
    scorer: Any  # limssr_core.inference.scorer.Scorer
    card: str  # the card's markdown body ("" if absent)


# ---------------------------------------------------------------- resolving references


def resolve_checkpoint(ref: str, allow_custom: bool = True, hub_allowlist: tuple[str, ...] = ()) -> Path:
    """A selector value -> a local checkpoint folder, through the core's one path (model/hub.py): a folder, or a Hub
    id whose checkpoint files alone are downloaded, size-capped. A Hub id only when it (or its `owner/*`) is on the
    operator's `hub_allowlist`."""
    ref = (ref or "").strip() or BUNDLED
    if ref == BUNDLED:
        if not is_checkpoint(BUNDLED_PATH):
            raise LimssrError(f"the bundled demo checkpoint is missing: {BUNDLED_PATH} holds no limssr_config.json. "
                              "Build it (see README) or choose another checkpoint (--checkpoint / LIMSSR_CHECKPOINT)")
        return BUNDLED_PATH
    path = Path(ref).expanduser()
    if not path.is_absolute() and not path.exists() and (REPO_ROOT / path).exists():
        path = REPO_ROOT / path
    if path.exists():
        return resolve_checkpoint_folder(path)
    if HUB_ID.match(ref):
        repo_id = split_ref(ref)[0]
        if repo_id in hub_allowlist or f"{repo_id.split('/')[0]}/*" in hub_allowlist:
            return resolve_checkpoint_folder(ref)
        raise LimssrError(f"{ref}: this app serves Hub checkpoints only from its operator's allowlist "
                          "(--allow-hub-checkpoint)")
    if not allow_custom:
        raise LimssrError(f"{ref}: unknown checkpoint; this app only serves the checkpoints in its list")
    raise LimssrError(f"{ref}: no such checkpoint folder, and not a Hub id of the form owner/name[@revision]")


def list_checkpoints(settings: AppSettings) -> list[str]:
    """Selector choices: the bundled checkpoint, the configured one, then local checkpoint folders."""
    choices = [BUNDLED]
    if settings.checkpoint not in choices:
        choices.append(settings.checkpoint)
    for root in settings.checkpoint_dirs:
        base = Path(root) if Path(root).is_absolute() else REPO_ROOT / root
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if is_checkpoint(p)):
            label = str(folder.relative_to(REPO_ROOT)) if folder.is_relative_to(REPO_ROOT) else str(folder)
            if label not in choices:
                choices.append(label)
    return choices


# ---------------------------------------------------------------- registry and feature cache


class ModelRegistry:
    """Loads each checkpoint once (concurrent first requests wait for the same load) and shares it."""

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self._loaded: dict[Path, LoadedCheckpoint] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[Path, threading.Lock] = {}

    def _resolve(self, ref: str) -> Path:
        if not self.settings.allow_custom_checkpoints and (ref or BUNDLED) not in list_checkpoints(self.settings):
            raise LimssrError(f"{ref}: unknown checkpoint; this app only serves the checkpoints in its list")
        allowlist = (*self.settings.hub_allowlist, split_ref(self.settings.checkpoint)[0])  # the operator's choices
        return resolve_checkpoint(ref, self.settings.allow_custom_checkpoints, allowlist)

    def get(self, ref: str) -> LoadedCheckpoint:
        folder = self._resolve(ref)
        if folder in self._loaded:
            return self._loaded[folder]
        with self._lock:
            key_lock = self._key_locks.setdefault(folder, threading.Lock())
        with key_lock:
            if folder not in self._loaded:
                self._loaded[folder] = self._load(ref, folder)
        return self._loaded[folder]

    def config(self, ref: str) -> tuple[LimssrConfig, str]:
        """(config, model card) without loading the model: cheap, for the UI's modality panel."""
        folder = self._resolve(ref)
        return read_config(folder), read_card(folder)

    def _load(self, ref: str, folder: Path) -> LoadedCheckpoint:
        from limssr_core.inference.scorer import Scorer

        config = read_config(folder)
        log.info("loading checkpoint %s (backbone %s) on %s", folder, config.backbone, self.settings.device)
        scorer = Scorer(folder, device=self.settings.device, threads=self.settings.threads)
        return LoadedCheckpoint(ref, folder, config, scorer, read_card(folder))


@dataclass
class FeatureCache:
    """Least-recently-used extracted samples, keyed by content hash and extraction settings."""

    capacity: int = 8
    _items: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """(value, was_cached). Two requests for the same new key may both compute; the result is the same."""
        if self.capacity > 0:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key], True
        value = compute()
        if self.capacity > 0:
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return value, False


def file_digest(path: str | Path | None) -> str:
    if path is None:
        return "-"
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class AppState:
    """What every handler receives: settings, the model registry and the feature cache."""

    settings: AppSettings
    registry: ModelRegistry
    features: FeatureCache

    @classmethod
    def create(cls, settings: AppSettings) -> "AppState":
        return cls(settings, ModelRegistry(settings), FeatureCache(settings.feature_cache))

    def preload(self) -> None:
        """Load the default checkpoint and the extractors' models (logged, never raised: the page says why)."""
        from limssr_core.features import ExtractionConfig, preload_models

        try:
            loaded = self.registry.get(self.settings.checkpoint)
            log.info("checkpoint ready: %s", loaded.folder)
        except Exception as err:  # the first request retries the load and reports the problem on the page
            log.warning("default checkpoint not loaded: %s", err)
        try:
            preload_models(ExtractionConfig(device=self.settings.device))
            log.info("extractor models ready")
        except Exception as err:
            log.warning("extractor models not preloaded: %s", err)

    def preload_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.preload, name="limssr-preload", daemon=True)
        thread.start()
        return thread
