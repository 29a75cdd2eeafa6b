"""One sample -> features for every modality, each with a present/missing status and reason.

`extract_sample` decodes the video once (reduced size), feeding each frame to the flow accumulator and the sampled
ones to the CNN, then extracts audio and commentary on the same segment timeline. Unusable input raises a
`LimssrError` subclass (`MediaError`); degraded input gives `present=False` with a reason, or a warning in
`meta["warnings"]`. Missing modalities get no array at all (a mask bit downstream, never zeros).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from limssr_core.errors import LimssrError
from limssr_core.runtime import apply_cpu_threads
from limssr_core.features import audio as audio_mod
from limssr_core.features.commentary import (
    MAX_SENTENCES,
    cap_text,
    commentary_features,
    cue_features,
    read_text_file,
    text_problem,
)
from limssr_core.features.flow import FlowAccumulator
from limssr_core.features.media import MediaError, MediaInfo, check_decode_budget, decode_audio, iter_frames, probe
from limssr_core.features.registry import (
    DEFAULT_MODALITIES,
    EXTRACTORS,
    ExtractionConfig,
    ModalityStatus,
    KNOWN_MODALITIES,
    SampleFeatures,
)
from limssr_core.features.segments import Segment, apply_cap, segment_bounds, time_windows
from limssr_core.features.video import FrameEmbedder, sample_positions

ProgressFn = Callable[[str, float], None]


def build_timeline(info: MediaInfo, config: ExtractionConfig, warnings: list[str]) -> tuple[list[Segment], float]:
    """Segments for a probed file (video frames, else audio time windows) and the frame rate they use."""
    if info.video is not None:
        fps, frames = info.video.fps, info.video.num_frames
        segments = segment_bounds(frames, config.segment_frames, fps, config.min_tail)
        if 0 < frames < config.segment_frames:
            warnings.append(f"shorter than one segment ({frames} frames < {config.segment_frames}); "
                            "using a single short segment")
    else:
        fps = config.fallback_fps
        segments = time_windows(info.duration_s, config.segment_frames / fps, config.min_tail)
    if config.max_segments and config.segment_policy == "crop" and len(segments) > config.max_segments:
        warnings.append(f"{len(segments)} segments cropped to the first {config.max_segments}")
        segments = segments[: config.max_segments]
    return segments, fps


def extract_sample(
    video_path: str | Path,
    *,
    audio_path: str | Path | None = None,
    commentary_text: str | None = None,
    commentary_path: str | Path | None = None,
    transcribe: bool = False,
    config: ExtractionConfig = ExtractionConfig(),
    modalities: Iterable[str] = DEFAULT_MODALITIES,
    progress_callback: ProgressFn | None = None,
) -> SampleFeatures:
    """Extract the requested modalities of one sample. See the module docstring for the error/missing rules."""
    modalities = tuple(modalities)
    unknown = [m for m in modalities if m not in KNOWN_MODALITIES]
    if unknown:
        raise LimssrError(f"unknown modality {unknown[0]!r}; known: {', '.join(KNOWN_MODALITIES)}")
    progress = progress_callback or (lambda stage, fraction: None)
    apply_cpu_threads(config.num_threads)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    status: dict[str, ModalityStatus] = {}
    features: dict[str, np.ndarray] = {}

    progress("probe", 0.0)
    video_path = Path(video_path)
    info = probe(video_path, config.max_duration_s, need_video=False)
    check_decode_budget(info, config.max_video_frames, config.max_video_megapixels)
    warnings = info.warnings
    segments, fps = build_timeline(info, config, warnings)
    if not segments:
        raise MediaError(f"{video_path.name}: nothing to segment (no frames and no audio duration)")
    timings["probe"] = time.perf_counter() - started

    # ---- frames: one decoding pass feeds both the CNN and optical flow
    want_video, want_flow = "video" in modalities, "flow" in modalities
    if info.video is None:
        for name in ("video", "flow"):
            if name in modalities:
                status[name] = ModalityStatus.not_given(f"no video stream in {video_path.name}")
    elif want_video or want_flow:
        t0 = time.perf_counter()
        segments = _frames_pass(info, segments, config, want_video, want_flow, features, status, progress)
        timings["frames"] = time.perf_counter() - t0

    # ---- audio (the given audio file replaces the video's own track)
    samples_16k = None
    need_audio = "audio" in modalities or "speech" in modalities or (transcribe and _no_text(commentary_text,
                                                                                              commentary_path))
    if need_audio:
        t0 = time.perf_counter()
        progress("audio", 0.0)
        samples, sr, audio_status = _load_audio(video_path, info, audio_path, config, warnings)
        if audio_status.present and "audio" in modalities:
            covered = audio_mod.covered_segments(segments, samples.size / sr, config.min_tail)
            if not covered:
                audio_status = ModalityStatus.degraded(
                    f"audio track too short ({samples.size / sr:.2f} s) to cover one segment")
            else:
                features["audio"] = audio_mod.audio_features(samples, sr, covered, config)
        if "audio" in modalities:
            status["audio"] = audio_status
        if samples.size and ("speech" in modalities or transcribe):
            import librosa

            samples_16k = librosa.resample(samples, orig_sr=sr, target_sr=16000)
        if "speech" in modalities:
            status["speech"] = _speech(samples_16k, audio_status, segments, config, features)
        timings["audio"] = time.perf_counter() - t0
        progress("audio", 1.0)

    # ---- commentary
    commentary_meta: dict = {}
    if "commentary" in modalities:
        t0 = time.perf_counter()
        progress("commentary", 0.0)
        status["commentary"] = _commentary(commentary_text, commentary_path, transcribe, samples_16k, segments,
                                           config, features, commentary_meta, warnings)
        timings["commentary"] = time.perf_counter() - t0
        progress("commentary", 1.0)

    for name in list(features):
        features[name] = np.ascontiguousarray(apply_cap(features[name], config.max_segments, config.segment_policy),
                                              dtype=np.float32)
    timings["total"] = time.perf_counter() - started
    ids = config.extractor_ids(modalities)
    meta = {
        "source": str(video_path),
        "audio_source": str(audio_path) if audio_path else None,
        "media": info.to_meta(),
        "extractors": ids,
        "dims": {name: EXTRACTORS[ext].dim for name, ext in ids.items()},
        "segment": {"frames": config.segment_frames, "fps": round(fps, 4), "count": len(segments),
                    "max_segments": config.max_segments, "policy": config.segment_policy},
        "commentary": commentary_meta,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "warnings": warnings,
    }
    progress("done", 1.0)
    return SampleFeatures(features=features, status={m: status[m] for m in modalities if m in status}, meta=meta)


def _no_text(text: str | None, path: str | Path | None) -> bool:
    return text is None and path is None


def _frames_pass(info: MediaInfo, segments: list[Segment], config: ExtractionConfig, want_video: bool,
                 want_flow: bool, features: dict, status: dict, progress: ProgressFn) -> list[Segment]:
    """Decode once; returns the segments actually covered by decoded frames (fewer if the file ends early)."""
    total = segments[-1].end_frame
    owner = np.repeat(np.arange(len(segments)), [s.num_frames for s in segments])
    positions = sample_positions(segments, config.frames_per_segment) if want_video else {}
    embedder = FrameEmbedder(config, len(segments)) if want_video else None
    flow = FlowAccumulator(config, segments) if want_flow else None
    decoded = 0
    progress("frames", 0.0)
    for chunk in iter_frames(info, config.decode_short_side, chunk=config.segment_frames, decoder=config.decoder,
                             threads=config.num_threads):
        for frame in chunk:
            if decoded >= total:
                break
            seg = int(owner[decoded])
            if flow is not None:
                flow.add(frame, seg)
            if embedder is not None and decoded in positions:
                embedder.add(frame, seg)
            decoded += 1
        progress("frames", decoded / total)
        if decoded >= total:
            break
    if decoded == 0:
        raise MediaError(f"{info.path.name}: no video frame could be decoded (corrupt file)")
    if total - decoded > max(2, 0.01 * total):
        info.warnings.append(f"decoded {decoded} of {total} expected frames (corrupt or truncated data); "
                             "the timeline is shortened accordingly")
    if decoded < total:
        segments = [s for s in segments if s.start_frame < decoded
                    and min(s.end_frame, decoded) - s.start_frame >= min(s.num_frames, config.min_tail * s.num_frames)]
        segments = segments or [Segment(0, 0, decoded, 0.0, decoded / info.video.fps)]
    keep = len(segments)
    if embedder is not None:
        features["video"] = embedder.result()[:keep]
        status["video"] = ModalityStatus.ok()
    if flow is not None:
        if flow.num_frames < 2:
            status["flow"] = ModalityStatus.degraded(f"too few frames for optical flow ({flow.num_frames}; needs 2)")
        else:
            features["flow"] = flow.result()[:keep]
            status["flow"] = ModalityStatus.ok()
    return segments


def _load_audio(video_path: Path, info: MediaInfo, audio_path, config: ExtractionConfig,
                warnings: list[str]) -> tuple[np.ndarray, int, ModalityStatus]:
    """(samples, rate, status): samples are empty unless the status is ok."""
    sr = config.audio_sample_rate
    empty = np.zeros(0, np.float32)
    if audio_path is not None:
        audio_path = Path(audio_path)
        ainfo = probe(audio_path, config.max_duration_s, need_video=False)
        warnings.extend(f"audio file: {w}" for w in ainfo.warnings if "video stream" not in w)
        source, stream = audio_path, ainfo.audio
    else:
        source, stream = video_path, info.audio
    if stream is None:
        return empty, sr, ModalityStatus.not_given(f"no audio stream in {source.name}")
    samples, channels, audio_warnings = decode_audio(source, stream.index, sr)
    warnings.extend(audio_warnings)
    if channels > 2:
        warnings.append(f"{channels}-channel audio averaged to mono")
    if samples.size == 0:
        return empty, sr, ModalityStatus.failed(f"the audio stream of {source.name} could not be decoded")
    rms = audio_mod.track_rms(samples)
    if rms < config.silence_rms:
        return empty, sr, ModalityStatus.degraded(f"audio silent (RMS {rms:.2e} below the threshold "
                                                  f"{config.silence_rms:.0e})")
    return samples, sr, ModalityStatus.ok()


def _speech(samples_16k, audio_status: ModalityStatus, segments, config, features) -> ModalityStatus:
    from limssr_core.features import whisper

    if not audio_status.present:
        return audio_status
    if not whisper.whisper_available():
        return ModalityStatus.unsupported(f"Whisper not installed ({whisper.INSTALL})")
    features["speech"] = whisper.speech_embeddings(samples_16k, segments, config.device)
    return ModalityStatus.ok()


def _commentary(text, path, transcribe, samples_16k, segments, config, features, meta, warnings) -> ModalityStatus:
    subtitle_file = False
    if text is None and path is not None:
        path = Path(path)
        if not path.is_file():
            return ModalityStatus.failed(f"commentary file {path.name} not found")
        text = read_text_file(path)
        meta["source"] = str(path)
        subtitle_file = path.suffix.lower() == ".srt"
    if text is not None:
        if not text.strip():
            return ModalityStatus.degraded("commentary is empty")
        problem = text_problem(text, subtitle_file)
        if problem:  # never scored as text: missing, with the reason
            warnings.append(problem)
            return ModalityStatus.degraded(problem)
        text, cut = cap_text(text)
        if cut:
            warnings.append(cut)
        array, info = commentary_features(text, segments, config.device)
        if info.get("cut_units"):
            warnings.append(f"commentary cut to its first {MAX_SENTENCES} of {info['units']} "
                            "sentences or cues")
        meta.update(info)
        if array.shape[0] == 0:
            return ModalityStatus.degraded("commentary holds no sentence")
        features["commentary"] = array
        return ModalityStatus.ok()
    if not transcribe:
        return ModalityStatus.not_given("no commentary given")
    from limssr_core.features import whisper

    if not whisper.whisper_available():
        warnings.append(f"transcription requested but Whisper is not installed: {whisper.INSTALL}")
        return ModalityStatus.unsupported("no commentary given; transcription needs the optional Whisper packages")
    if samples_16k is None:
        return ModalityStatus.degraded("no commentary given and no usable audio to transcribe")
    cues = whisper.transcribe(samples_16k, config.device)
    if not cues:
        return ModalityStatus.degraded("no commentary given and the transcription found no speech")
    features["commentary"] = cue_features(cues, segments, config.device)
    meta.update({"kind": "transcribed", "units": len(cues), "transcript": " ".join(c.text for c in cues)})
    return ModalityStatus.ok()


def preload_models(config: ExtractionConfig | None = None, modalities: Iterable[str] = DEFAULT_MODALITIES) -> None:
    """Load (and cache) the models the given modalities need, e.g. at app start-up."""
    from limssr_core.features.commentary import load_text_encoder
    from limssr_core.features.video import load_effnet

    config = config or ExtractionConfig()
    if "video" in modalities:
        load_effnet(config.device)
    if "commentary" in modalities:
        load_text_encoder(config.device)
    if "audio" in modalities:  # first librosa calls import and JIT-compile helpers (seconds): do it now
        noise = np.random.default_rng(0).normal(0, 0.1, config.audio_sample_rate * 3).astype(np.float32)
        audio_mod.audio_features(noise, config.audio_sample_rate, time_windows(3.0, 1.28), config)
