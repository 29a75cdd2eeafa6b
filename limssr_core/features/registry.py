"""Extractor registry: versioned ids, the extraction config, per-modality status, and a thread-safe model cache.

Every dataset and checkpoint records, per modality, the id of the extractor that made its features (e.g.
`effnet-lite0@1`). Bump the `@N` version whenever an extractor's output changes meaning (preprocessing, layout,
statistics), so that a model is never fed features from an extractor it was not trained on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from limssr_core.data.generic import ModalityInfo
from limssr_core.errors import CheckpointMismatchError, LimssrError


@dataclass(frozen=True)
class ExtractorSpec:
    modality: str
    id: str  # versioned: "<name>@<version>"
    dim: int
    description: str
    optional: bool = False  # needs an extra package


FLOW_DIM = 128
AUDIO_DIM = 140

EXTRACTORS: dict[str, ExtractorSpec] = {
    spec.id: spec
    for spec in (
        ExtractorSpec("video", "effnet-lite0@1", 1280, "EfficientNet-Lite0 (ImageNet) frame embeddings, mean per segment"),
        ExtractorSpec("flow", "flow-dis@1", FLOW_DIM, "OpenCV DIS dense optical flow statistics per segment"),
        ExtractorSpec("flow", "flow-farneback@1", FLOW_DIM, "OpenCV Farneback dense optical flow statistics"),
        ExtractorSpec("audio", "librosa-audio@1", AUDIO_DIM, "log-mel mean/std, onset, RMS, tempo, spectral shape"),
        ExtractorSpec("commentary", "minilm-l6-v2@1", 384, "all-MiniLM-L6-v2 sentence embeddings"),
        ExtractorSpec("speech", "whisper-tiny-en@1", 384, "Whisper tiny.en encoder states, mean per segment", True),
    )
}
# modality -> its extractor id; flow has one per method (ExtractionConfig.flow_method)
EXTRACTOR_FOR = {"video": "effnet-lite0@1", "flow": "flow-{method}@1", "audio": "librosa-audio@1",
                 "commentary": "minilm-l6-v2@1", "speech": "whisper-tiny-en@1"}
KNOWN_MODALITIES = tuple(EXTRACTOR_FOR)
DEFAULT_MODALITIES = ("video", "flow", "audio", "commentary")  # speech needs optional packages
FLOW_METHODS = ("dis", "farneback")


@dataclass
class ExtractionConfig:
    """Everything that shapes extraction. Values marked (id) are part of an extractor's identity: changing them
    changes the features' meaning, so they are fixed for a given extractor version."""

    segment_frames: int = 32  # frames per segment at the video's own rate
    max_segments: int | None = 512  # cap on segments per sample (None: no cap)
    segment_policy: str = "pool"  # "pool" (average neighbours down to the cap) | "crop" (keep the first ones)
    max_duration_s: float = 1800.0  # longer inputs are refused (MediaError)
    max_video_frames: int | None = None  # videos with more frames are refused (MediaError; None: no limit)
    max_video_megapixels: float | None = None  # videos with more decoded pixels (frames x width x height) too
    silence_rms: float = 1e-3  # whole-track RMS (full scale = 1.0) below this is "audio silent" (about -60 dBFS)
    frames_per_segment: int = 2  # frames sampled (evenly) per segment for the CNN
    image_size: int = 224  # (id) CNN input, whole frame resized (aspect not kept)
    decode_short_side: int = 224  # frames are decoded at this short side (aspect kept)
    flow_method: str = "dis"  # "dis" | "farneback"
    flow_width: int = 160  # (id) flow is computed on grayscale frames this wide
    flow_stride: int = 2  # (id) one frame pair every `flow_stride` frames
    audio_sample_rate: int = 22050  # (id)
    n_mels: int = 64  # (id)
    batch_size: int = 32  # CNN batch
    device: str = "cpu"
    num_threads: int | None = None  # if set: torch / OpenCV / decoder threads (process-wide for torch and OpenCV)
    decoder: str = "auto"  # "auto" (decord, PyAV on failure) | "decord" | "pyav"
    fallback_fps: float = 25.0  # timeline rate for inputs without video
    min_tail: float = 0.5  # keep a trailing partial segment holding at least this fraction of a segment

    def __post_init__(self) -> None:
        if self.segment_frames < 1:
            raise LimssrError(f"segment_frames must be >= 1, got {self.segment_frames}")
        if self.segment_policy not in ("pool", "crop"):
            raise LimssrError(f"segment policy must be 'pool' or 'crop', got {self.segment_policy!r}")
        if self.flow_method not in FLOW_METHODS:
            raise LimssrError(f"flow method must be 'dis' or 'farneback', got {self.flow_method!r}")
        if self.decoder not in ("auto", "decord", "pyav"):
            raise LimssrError(f"decoder must be 'auto', 'decord' or 'pyav', got {self.decoder!r}")
        if self.frames_per_segment < 1:
            raise LimssrError(f"frames_per_segment must be >= 1, got {self.frames_per_segment}")

    def extractor_ids(self, modalities=DEFAULT_MODALITIES) -> dict[str, str]:
        """modality -> the versioned id of the extractor these settings produce its features with."""
        unknown = [m for m in modalities if m not in EXTRACTOR_FOR]
        if unknown:
            raise LimssrError(f"unknown modality {unknown[0]!r}; known: {', '.join(KNOWN_MODALITIES)}")
        return {m: EXTRACTOR_FOR[m].format(method=self.flow_method) for m in modalities}


def flow_method_of(extractor_id: str) -> str | None:
    """The flow method behind a flow extractor id (`flow-dis@1` -> `dis`), None if it is not one of ours."""
    for method in FLOW_METHODS:
        if extractor_id == EXTRACTOR_FOR["flow"].format(method=method):
            return method
    return None


STATUS_KINDS = ("ok", "not_given", "unsupported", "degraded", "failed")


@dataclass(frozen=True)
class ModalityStatus:
    """Why a modality is present or missing, as structure: callers branch on `kind`, never on `reason`'s wording.

    kind: ok | not_given (the input holds nothing for it, or the user gave nothing) | unsupported (it cannot be
    produced here: no extractor, an optional package missing) | degraded (the input has it but it is unusable:
    silent track, too short, no sentence) | failed (reading it failed: undecodable stream, file not found).
    """

    kind: str
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind not in STATUS_KINDS:
            raise ValueError(f"unknown modality status kind {self.kind!r}; one of {STATUS_KINDS}")

    @property
    def present(self) -> bool:
        return self.kind == "ok"

    @property
    def is_problem(self) -> bool:
        """Missing because of the input or the machine (worth a warning), not because nothing was given."""
        return self.kind in ("degraded", "failed")

    def to_json(self) -> dict:
        return {"present": self.present, "kind": self.kind, "reason": self.reason}

    @classmethod
    def ok(cls) -> "ModalityStatus":
        return cls("ok")

    @classmethod
    def not_given(cls, reason: str) -> "ModalityStatus":
        return cls("not_given", reason)

    @classmethod
    def unsupported(cls, reason: str) -> "ModalityStatus":
        return cls("unsupported", reason)

    @classmethod
    def degraded(cls, reason: str) -> "ModalityStatus":
        return cls("degraded", reason)

    @classmethod
    def failed(cls, reason: str) -> "ModalityStatus":
        return cls("failed", reason)


@dataclass
class SampleFeatures:
    features: dict[str, np.ndarray]  # name -> float32 [T, dim], only for present modalities
    status: dict[str, ModalityStatus]
    meta: dict = field(default_factory=dict)  # media facts, extractor ids, timings, "warnings": [...]

    @property
    def present(self) -> list[str]:
        return [name for name, st in self.status.items() if st.present]


def default_modalities(config: ExtractionConfig | None = None) -> dict[str, ModalityInfo]:
    """The default modalities: name -> ModalityInfo(dim, versioned extractor id)."""
    ids = (config or ExtractionConfig()).extractor_ids(DEFAULT_MODALITIES)
    return {name: ModalityInfo(dim=EXTRACTORS[ext].dim, extractor=ext) for name, ext in ids.items()}


def check_extractor_ids(expected: dict[str, str], actual: dict[str, str]) -> None:
    """Raise CheckpointMismatchError when a modality present in both was made by a different extractor.

    `expected` is what the model was trained on (checkpoint), `actual` what the features were made with. A modality
    absent from `actual` is simply missing (the model handles that); one absent from `expected` is not used.
    """
    problems = [
        f"modality '{name}': the model expects extractor '{expected[name]}' but the features come from "
        f"'{actual[name]}'"
        for name in sorted(set(expected) & set(actual))
        if str(expected[name]) != str(actual[name])
    ]
    if problems:
        raise CheckpointMismatchError(
            "; ".join(problems) + ". Re-extract the features with the model's extractors (or use a model trained on "
            "these features)."
        )


# ---------------------------------------------------------------- model cache (thread-safe, load once per process)

_CACHE: dict[str, Any] = {}
_CACHE_LOCK = threading.Lock()
_KEY_LOCKS: dict[str, threading.Lock] = {}


def cached_model(key: str, loader: Callable[[], Any]) -> Any:
    """Return the object cached under `key`, calling `loader()` once (other threads wait for that load)."""
    if key in _CACHE:
        return _CACHE[key]
    with _CACHE_LOCK:
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:
        if key not in _CACHE:
            _CACHE[key] = loader()
    return _CACHE[key]


def clear_model_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()

