"""Probing and decoding media files: stream choice, duration cap, rotation, variable frame rate, corrupt packets.

Documented choices
- Several video streams: the stream ffmpeg ranks best (`av_find_best_stream`, the one decord also opens); attached
  pictures (cover art) never count. Several audio streams: the one marked default, else the best-ranked one. Both
  cases add a warning naming the stream used.
- Rotation metadata (display matrix): frames are turned upright before any extractor sees them. decord ignores
  (and mangles) rotated streams, so those are decoded with PyAV.
- Variable frame rate: frames are re-timed onto a constant grid at the stream's average rate (each grid slot shows
  the frame on screen at that time), so every segment spans the same time.
- Corrupt packets mid-file: skipped with a warning (count in the message); a file yielding no frame is an error.
- Audio: any channel count (6-channel 5.1 included) is averaged to mono and resampled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from limssr_core.errors import LimssrError
from limssr_core.features.segments import constant_rate_indices, is_variable_rate

log = logging.getLogger(__name__)


class MediaError(LimssrError):
    """An input file cannot be used at all (empty, not media, too long, corrupt beyond use).

    When a configured limit refused it, `limit` names the `ExtractionConfig` field (e.g. "max_duration_s"),
    `value` is what the file has and `allowed` the limit, so a caller can name its own setting for it.
    """

    def __init__(self, message: str, *, limit: str | None = None, value: float | None = None,
                 allowed: float | None = None):
        super().__init__(message)
        self.limit, self.value, self.allowed = limit, value, allowed


# The shortest routine scored: a judged element (a jump, a spin, a toss) takes a couple of seconds, and below two
# 32-frame segments at 30 fps there is not one element to judge. Extraction still works on shorter clips.
MIN_ROUTINE_SECONDS = 2.0


def check_routine_duration(duration_s: float, name: str) -> None:
    """Refuse to score a clip too short for a meaningful score (MediaError naming the limit)."""
    if duration_s < MIN_ROUTINE_SECONDS:
        raise MediaError(f"{name}: is {duration_s:.2f} s long; a score needs at least {MIN_ROUTINE_SECONDS:g} s "
                         "of routine", limit="min_routine_s", value=duration_s, allowed=MIN_ROUTINE_SECONDS)


@dataclass
class VideoInfo:
    index: int
    width: int
    height: int
    fps: float  # average rate
    num_frames: int  # frames on the constant-rate grid
    rotation: int  # degrees counter-clockwise to turn frames upright (0, 90, 180, 270)
    variable_rate: bool
    codec: str
    timestamps: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # per packet, seconds, sorted


@dataclass
class AudioInfo:
    index: int
    channels: int
    sample_rate: int
    codec: str


@dataclass
class MediaInfo:
    path: Path
    size_bytes: int
    format_name: str
    duration_s: float
    video: VideoInfo | None
    audio: AudioInfo | None
    num_video_streams: int = 0
    num_audio_streams: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_meta(self) -> dict:
        out = {"file": self.path.name, "size_bytes": self.size_bytes, "format": self.format_name,
               "duration_s": round(self.duration_s, 3), "video_streams": self.num_video_streams,
               "audio_streams": self.num_audio_streams}
        if self.video:
            v = self.video
            out["video"] = {"stream": v.index, "width": v.width, "height": v.height, "fps": round(v.fps, 4),
                            "frames": v.num_frames, "rotation": v.rotation, "variable_rate": v.variable_rate,
                            "codec": v.codec}
        if self.audio:
            a = self.audio
            out["audio"] = {"stream": a.index, "channels": a.channels, "sample_rate": a.sample_rate, "codec": a.codec}
        return out


def _open(path: Path):
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise MediaError(f"{path.name}: not a media file ffmpeg can read, or corrupt/truncated beyond use "
                         f"({err.__class__.__name__}: {getattr(err, 'strerror', None) or err})") from None


def _is_cover_art(stream) -> bool:
    import av

    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def probe(path: str | Path, max_duration_s: float | None = None, need_video: bool = True) -> MediaInfo:
    """Inspect a file: streams, duration, frame rate, rotation, VFR. Raises MediaError when it is unusable."""
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: file not found")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path.name}: the file is empty (0 bytes)")
    warnings: list[str] = []
    with _open(path) as container:
        videos = [s for s in container.streams.video if not _is_cover_art(s)]
        audios = list(container.streams.audio)
        if not videos and not audios:
            raise MediaError(f"{path.name}: holds no audio or video stream")
        if need_video and not videos:
            raise MediaError(f"{path.name}: holds no video stream (only audio); give it as the audio file instead")
        video_info = None
        if videos:
            try:
                best = container.streams.best("video")
            except Exception:  # pragma: no cover - older PyAV
                best = None
            stream = best if best in videos else videos[0]
            if len(videos) > 1:
                warnings.append(f"{len(videos)} video streams; using stream #{stream.index} "
                                f"({stream.codec_context.width}x{stream.codec_context.height}, ffmpeg's best)")
            video_info = _probe_video(container, stream, path, warnings)
        audio_info = None
        if audios:
            defaults = [s for s in audios if s.disposition & av.stream.Disposition.default]
            try:
                best_a = container.streams.best("audio")
            except Exception:  # pragma: no cover
                best_a = None
            stream = defaults[0] if defaults else (best_a if best_a in audios else audios[0])
            if len(audios) > 1:
                warnings.append(f"{len(audios)} audio streams; using stream #{stream.index}"
                                f"{' (marked default)' if defaults else ''}")
            ctx = stream.codec_context
            audio_info = AudioInfo(stream.index, int(ctx.channels or 0), int(ctx.sample_rate or 0), ctx.name)
        duration = container.duration / 1e6 if container.duration else 0.0
        format_name = container.format.name
    if video_info and video_info.fps > 0:
        readable = video_info.num_frames / video_info.fps
        if duration > readable + max(1.0, 0.1 * duration):
            warnings.append(f"the header says {duration:.1f} s but video data ends at {readable:.1f} s "
                            "(truncated or corrupt file); using what is readable")
        duration = readable
    if max_duration_s and duration > max_duration_s:
        raise MediaError(f"{path.name}: is {_hms(duration)} long; the limit is {_hms(max_duration_s)}",
                         limit="max_duration_s", value=duration, allowed=max_duration_s)
    return MediaInfo(path, size, format_name, duration, video_info, audio_info, len(videos), len(audios), warnings)


def check_decode_budget(info: MediaInfo, max_frames: int | None = None, max_megapixels: float | None = None) -> None:
    """Refuse a video whose decoding alone would exceed a budget (MediaError naming the limit), else return.

    Extraction decodes every frame at its full size, so its time grows with the frame count (the CNN, the optical
    flow) and with the decoded pixels (the decoder); a duration limit alone does not bound it (6 minutes of 4K at
    60 fps is 24x the pixels of 720p at 30 fps). None: no limit.
    """
    video = info.video
    if video is None:
        return
    frames = video.num_frames
    megapixels = frames * video.width * video.height / 1e6
    shape = f"{video.width}x{video.height} at {video.fps:.4g} fps for {_hms(info.duration_s)}"
    if max_frames is not None and frames > max_frames:
        raise MediaError(f"{info.path.name}: {shape} is {frames} frames to decode; the limit is {max_frames}. "
                         "Lower its frame rate (e.g. ffmpeg -i IN -r 30 OUT.mp4) or cut it",
                         limit="max_video_frames", value=frames, allowed=max_frames)
    if max_megapixels is not None and megapixels > max_megapixels:
        raise MediaError(f"{info.path.name}: {shape} is {megapixels / 1000:.1f} gigapixels to decode; the limit is "
                         f"{max_megapixels / 1000:.1f}. Re-encode it smaller (e.g. ffmpeg -i IN -vf scale=-2:1080 "
                         "OUT.mp4) or cut it", limit="max_video_megapixels", value=megapixels,
                         allowed=max_megapixels)


def _probe_video(container, stream, path: Path, warnings: list[str]) -> VideoInfo:
    """Demux (no decoding) the video packets for exact timestamps; read rotation from the first decoded frame."""
    import av

    pts = []
    rotation = 0
    corrupt = 0
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                pts.append(float(packet.pts * packet.time_base))
                corrupt += bool(packet.is_corrupt)
    except av.error.FFmpegError as err:
        warnings.append(f"demuxing stopped early ({err.__class__.__name__}); the rest of the file is unreadable")
    if corrupt:
        warnings.append(f"{corrupt} corrupt video packet(s) flagged by the demuxer; frames lost there are skipped")
    try:
        container.seek(0)
        for frame in container.decode(stream):
            rotation = int(round(frame.rotation or 0)) % 360
            break
    except av.error.FFmpegError:
        pass
    if not pts:
        raise MediaError(f"{path.name}: the video stream holds no readable frame (truncated or corrupt)")
    ts = np.sort(np.asarray(pts))
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    span = float(ts[-1] - ts[0])
    if fps <= 0 or fps > 1000:
        fps = (len(ts) - 1) / span if span > 0 else 25.0
    variable = is_variable_rate(ts)
    if variable:
        fps = (len(ts) - 1) / span if span > 0 else fps
        warnings.append(f"variable frame rate; frames re-timed to a constant {fps:.3f} fps")
    num_frames = len(constant_rate_indices(ts, fps)) if variable else len(ts)
    if rotation not in (0, 90, 180, 270):
        warnings.append(f"rotation {rotation} degrees is not a multiple of 90; ignored")
        rotation = 0
    return VideoInfo(stream.index, int(ctx.width), int(ctx.height), fps, num_frames, rotation, variable, ctx.name, ts)


def _hms(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 \
        else f"{seconds // 60}m{seconds % 60:02d}s"


def decode_size(info: VideoInfo, short_side: int) -> tuple[int, int]:
    """(width, height) to decode at: short side `short_side` (never upscaled), aspect kept, even numbers."""
    w, h = info.width, info.height
    scale = min(1.0, short_side / max(1, min(w, h)))
    return max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2)


def iter_frames(info: MediaInfo, short_side: int, chunk: int, decoder: str = "auto",
                threads: int | None = None) -> Iterator[np.ndarray]:
    """Yield uint8 RGB chunks [B, H, W, 3] of the constant-rate frame grid, upright, at reduced size.

    `decoder="auto"` uses decord and falls back to PyAV (with a warning in `info.warnings`) if decord fails.
    Rotated streams always use PyAV.
    """
    video = info.video
    assert video is not None
    width, height = decode_size(video, short_side)
    use_decord = decoder in ("auto", "decord") and video.rotation == 0
    if use_decord:
        emitted = 0
        try:
            for frames in _iter_decord(info.path, video, width, height, chunk, threads):
                emitted += frames.shape[0]
                yield frames
            return
        except Exception as err:  # decord raises its own DECORDError and RuntimeError types
            if decoder == "decord":
                raise MediaError(f"{info.path.name}: decord could not decode the video ({err})") from None
            info.warnings.append(f"decord failed after {emitted} frames ({str(err)[:120]}); decoded with PyAV")
            yield from _skip(_iter_pyav(info, video, width, height, chunk, threads), emitted)
            return
    yield from _iter_pyav(info, video, width, height, chunk, threads)


def _skip(chunks: Iterator[np.ndarray], count: int) -> Iterator[np.ndarray]:
    for frames in chunks:
        if count >= frames.shape[0]:
            count -= frames.shape[0]
            continue
        yield frames[count:]
        count = 0


def _iter_decord(path: Path, video: VideoInfo, width: int, height: int, chunk: int,
                 threads: int | None) -> Iterator[np.ndarray]:
    import decord

    reader = decord.VideoReader(str(path), ctx=decord.cpu(0), width=width, height=height, num_threads=threads or 0)
    n = len(reader)
    if video.variable_rate:
        ts = reader.get_frame_timestamp(np.arange(n))[:, 0]
        mapping = constant_rate_indices(ts, video.fps)
    else:
        mapping = np.arange(n)
    for lo in range(0, len(mapping), chunk):
        wanted = mapping[lo:lo + chunk]
        unique, inverse = np.unique(wanted, return_inverse=True)
        frames = reader.get_batch(unique.tolist()).asnumpy()
        yield frames[inverse] if len(unique) != len(wanted) else frames


def _iter_pyav(info: MediaInfo, video: VideoInfo, width: int, height: int, chunk: int,
               threads: int | None) -> Iterator[np.ndarray]:
    """PyAV decoding with per-packet error skipping and on-the-fly constant-rate re-timing."""
    import av

    bad_packets = 0
    buffer: list[np.ndarray] = []
    out_w, out_h = (height, width) if video.rotation in (90, 270) else (width, height)
    with _open(info.path) as container:
        stream = container.streams[video.index]
        stream.thread_type = "AUTO"
        if threads:
            stream.codec_context.thread_count = threads
        t0 = None
        grid = 0  # next constant-rate slot to fill
        prev = None

        def frames_from(packet):
            nonlocal bad_packets
            try:
                return stream.decode(packet)
            except (av.error.InvalidDataError, av.error.FFmpegError):
                bad_packets += 1
                return []

        for packet in container.demux(stream):
            if packet.is_corrupt:
                bad_packets += 1
                continue
            for frame in frames_from(packet):
                image = frame.to_ndarray(width=width, height=height, format="rgb24")
                if video.rotation:
                    image = np.ascontiguousarray(np.rot90(image, k=video.rotation // 90))
                t = float(frame.time) if frame.time is not None else (grid / video.fps)
                t0 = t if t0 is None else t0
                # fill every grid slot before this frame's time with the previous frame
                while prev is not None and grid / video.fps < (t - t0) - 1e-6:
                    buffer.append(prev)
                    grid += 1
                prev = image
                if len(buffer) >= chunk:
                    yield np.stack(buffer[:chunk])
                    buffer = buffer[chunk:]
        if prev is not None:
            buffer.append(prev)
    if bad_packets:
        info.warnings.append(f"skipped {bad_packets} corrupt video packet(s)")
    if buffer:
        yield np.stack(buffer).reshape(-1, out_h, out_w, 3)


def decode_audio(path: Path, stream_index: int | None, sample_rate: int) -> tuple[np.ndarray, int, list[str]]:
    """Decode one audio stream to mono float32 at `sample_rate`. Returns (samples, source channels, warnings)."""
    import av

    warnings: list[str] = []
    chunks: list[np.ndarray] = []
    bad = 0
    with _open(path) as container:
        if not container.streams.audio:
            return np.zeros(0, np.float32), 0, warnings
        stream = container.streams[stream_index] if stream_index is not None else container.streams.audio[0]
        channels = int(stream.codec_context.channels or 0)
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)  # keeps the layout; we average channels
        try:
            packets = container.demux(stream)
            for packet in packets:
                try:
                    frames = stream.decode(packet)
                except (av.error.InvalidDataError, av.error.FFmpegError):
                    bad += 1
                    continue
                for frame in frames:
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray().mean(axis=0))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().mean(axis=0))
        except av.error.FFmpegError as err:
            warnings.append(f"audio decoding stopped early ({err.__class__.__name__})")
    if bad:
        warnings.append(f"skipped {bad} corrupt audio packet(s)")
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return samples, channels, warnings
