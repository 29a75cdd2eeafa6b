"""Shared, thread-safe state of the app: settings, checkpoints (each loaded once) and a small feature cache.

A checkpoint is named by what the selector holds: a name from the app's catalog (app/catalog.py: the bundled demo
checkpoint, the operator's folders and allowlisted Hub ids; never a visitor's server path). `ModelRegistry.get`
resolves it, loads its `Scorer` once and hands the same object to every request (the `Scorer` serialises its own
forward passes); at most `max_loaded_checkpoints` stay loaded, the least recently used is dropped first.

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

from app import catalog
from app.catalog import BUNDLED, BUNDLED_PATH
from app.preview import PreviewRegistry
from limssr_core.model.checkpoint import read_card, read_config
from limssr_core.config import LimssrConfig

log = logging.getLogger("limssr.app")

__all__ = ["BUNDLED", "BUNDLED_PATH", "AppSettings", "AppState", "FeatureCache", "LoadedCheckpoint", "ModelRegistry",
           "file_digest"]


@dataclass
class AppSettings:
    """Everything the command line / environment can set (see app.py)."""

    checkpoint: str = BUNDLED
    device: str = "cpu"
    max_upload_mb: float = 500.0  # the video (and Gradio's upload route for every file)
    max_audio_mb: float = 100.0  # a separate audio file
    max_commentary_kb: float = 256.0  # a commentary file; text beyond 20000 characters is cut with a warning
    max_minutes: float = 6.0  # the longest routine: a free skate of about 4 minutes plus margin
    # decoding work per request (features/media.check_decode_budget): at most `max_minutes` of video at this many
    # frames per second, and at most `max_minutes` of this many megapixels per second (1080p at 30 fps); shorter
    # videos may have more (e.g. 90 s of 4K at 30 fps), larger ones are refused with how to re-encode them
    max_video_fps: float = 60.0
    max_video_megapixels_per_s: float = 1920 * 1080 * 30 / 1e6
    concurrency: int = 2  # scoring requests processed at once
    queue_size: int = 16  # waiting requests beyond which new ones are refused
    max_routines: int = 20  # routines one Competition upload may hold
    threads: int | None = None  # torch / OpenCV / decoder threads (None: library defaults)
    feature_cache: int = 8  # extracted samples kept for re-scoring ("what if") without re-extraction
    checkpoint_dirs: tuple[str, ...] = ("runs", "checkpoints")  # scanned for local checkpoints, listed by name
    allow_checkpoint_paths: bool = False  # also accept a typed folder path (a local, single-user app only)
    hub_allowlist: tuple[str, ...] = ()  # Hub checkpoint ids (or owner/*) visitors may choose
    max_loaded_checkpoints: int = 2  # checkpoints kept loaded at once (least recently used dropped first)
    preload: bool = True  # load the default checkpoint and extractors at start, in the background


    def decode_budget(self) -> tuple[int, float]:
        """(frames, megapixels) one request may decode: the rates over the longest routine."""
        seconds = self.max_minutes * 60
        return int(seconds * self.max_video_fps), seconds * self.max_video_megapixels_per_s


@dataclass
class LoadedCheckpoint:
    ref: str
    folder: Path
    config: LimssrConfig
    scorer: Any  # limssr_core.inference.scorer.Scorer
    card: str  # the card's markdown body ("" if absent)


# ---------------------------------------------------------------- registry and feature cache


class ModelRegistry:
    """Loads each checkpoint once (concurrent first requests wait for the same load), shares it, and keeps at most
    `settings.max_loaded_checkpoints` loaded (a request still using a dropped one finishes with it)."""

    def __init__(self, settings: AppSettings):
        self.settings = settings
        self._loaded: OrderedDict[Path, LoadedCheckpoint] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Path, threading.Lock] = {}

    def _resolve(self, ref: str) -> Path:
        return catalog.resolve(ref, self.settings)

    def loaded(self) -> list[Path]:
        """Folders loaded now, least recently used first."""
        with self._lock:
            return list(self._loaded)

    def get(self, ref: str) -> LoadedCheckpoint:
        folder = self._resolve(ref)
        with self._lock:
            if folder in self._loaded:
                self._loaded.move_to_end(folder)
                return self._loaded[folder]
            key_lock = self._key_locks.setdefault(folder, threading.Lock())
        with key_lock:
            with self._lock:
                hit = self._loaded.get(folder)
            if hit is None:
                hit = self._load(ref, folder)
            with self._lock:
                self._loaded[folder] = hit
                self._loaded.move_to_end(folder)
                while len(self._loaded) > max(1, self.settings.max_loaded_checkpoints):
                    dropped, _ = self._loaded.popitem(last=False)
                    log.info("unloaded checkpoint %s (more than %d loaded)", dropped,
                             self.settings.max_loaded_checkpoints)
        return hit

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
    """What every handler receives: settings, the model registry, the feature cache and the video previews."""

    settings: AppSettings
    registry: ModelRegistry
    features: FeatureCache
    previews: PreviewRegistry = field(default_factory=PreviewRegistry)  # preview shown -> the uploaded original

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
