"""A playable preview for a video the browser cannot play (.avi, .mpg, .mkv, MPEG-4 Part 2, ...).

Browsers play H.264 / VP8 / VP9 / AV1 in MP4, MOV or WebM; anything else shows Gradio's red "Video not playable"
toast although it scores fine. On upload such a video is transcoded, with PyAV (the FFmpeg the app already decodes
with; Gradio's own conversion needs an `ffmpeg` binary), to a small H.264 + AAC MP4 that the page shows instead.
Scoring never reads the preview: `PreviewRegistry` maps the preview's name back to the uploaded original, so a
re-encoded copy can never change a score.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path

import av

from limssr_core.errors import LimssrError

PLAYABLE_CONTAINERS = frozenset({".mp4", ".m4v", ".mov", ".webm"})
PLAYABLE_CODECS = frozenset({"h264", "vp8", "vp9", "av1"})
PLAYABLE_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})
PREVIEW_HEIGHT = 360  # at most this many lines (the page shows the video a few hundred pixels high)
PREVIEW_NAME = re.compile(r"preview-([0-9a-f]{32})\.mp4$")
AUDIO_RATE = 44_100


def browser_playable(path: str | Path) -> bool:
    """Whether a browser can play this file as it is (container, codec and pixel format of its first video
    stream); a file PyAV cannot open counts as playable here: scoring gives its own specific error."""
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return True
            context = container.streams.video[0].codec_context
            return (path.suffix.lower() in PLAYABLE_CONTAINERS and context.name in PLAYABLE_CODECS
                    and (context.format is None or context.format.name in PLAYABLE_PIXEL_FORMATS))
    except (av.FFmpegError, OSError, ValueError):
        return True


def preview_size(width: int, height: int, max_height: int = PREVIEW_HEIGHT) -> tuple[int, int]:
    """Keep the aspect ratio, at most `max_height` lines, even sides (yuv420p)."""
    scale = min(1.0, max_height / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def make_preview(source: str | Path, out_dir: str | Path, max_seconds: float | None = None) -> Path:
    """Transcode `source` to `out_dir/preview-<random>.mp4` (H.264 ultrafast + AAC), up to `max_seconds`.

    Frames keep their own timestamps (variable frame rates stay in sync, so seeking the preview to a timeline
    moment shows that moment). Raises LimssrError when the file cannot be read or written.
    """
    out = Path(out_dir) / f"preview-{uuid.uuid4().hex}.mp4"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(str(source)) as src, av.open(str(out), mode="w", format="mp4") as dst:
            if not src.streams.video:
                raise LimssrError(f"{Path(source).name} has no video stream to preview")
            vin = src.streams.video[0]
            ain = src.streams.audio[0] if src.streams.audio else None
            width, height = preview_size(vin.codec_context.width, vin.codec_context.height)
            vout = dst.add_stream("libx264", options={"preset": "ultrafast", "crf": "30"})
            vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
            vout.time_base = vout.codec_context.time_base = Fraction(1, 1000)  # timestamps in milliseconds
            aout = resampler = None
            if ain is not None:
                aout = dst.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
                resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
                fifo, samples_out = av.AudioFifo(), 0
            last_ms, start = -1, None  # the first video frame is second 0 (MPEG-PS and TS start later)
            for packet in src.demux(*(s for s in (vin, ain) if s is not None)):
                for frame in packet.decode():
                    if start is None and packet.stream is vin:
                        start = frame.time or 0.0
                    seconds = (frame.time or 0.0) - (start or 0.0)
                    if max_seconds is not None and seconds > max_seconds:
                        continue
                    if packet.stream is vin:
                        ms = round(seconds * 1000)
                        if ms <= last_ms:  # the muxer needs strictly increasing timestamps
                            continue
                        last_ms = ms
                        scaled = frame.reformat(width=width, height=height, format="yuv420p")
                        scaled.pts, scaled.time_base = ms, Fraction(1, 1000)
                        dst.mux(vout.encode(scaled))
                    else:
                        for chunk in resampler.resample(frame):
                            chunk.pts = None
                            fifo.write(chunk)
                        size = aout.codec_context.frame_size or 1024
                        while fifo.samples >= size:
                            block = fifo.read(size)
                            block.pts, block.time_base = samples_out, Fraction(1, AUDIO_RATE)
                            samples_out += size
                            dst.mux(aout.encode(block))
            dst.mux(vout.encode(None))
            if aout is not None:
                dst.mux(aout.encode(None))
        if last_ms < 0:
            raise LimssrError(f"{Path(source).name}: no video frame could be decoded for the preview")
    except (av.FFmpegError, OSError, ValueError) as err:
        out.unlink(missing_ok=True)
        raise LimssrError(f"{Path(source).name}: no preview could be made ({err})") from err
    except LimssrError:
        out.unlink(missing_ok=True)
        raise
    return out


class PreviewRegistry:
    """Preview name -> the uploaded original it shows, so scoring reads the original (thread-safe, bounded).

    Gradio copies a returned file into its cache under its own folder but keeps the file name, so the random name
    (122 bits, never guessable by another visitor) identifies the preview wherever Gradio moved it.
    """

    def __init__(self, capacity: int = 256):
        self.capacity = capacity
        self._originals: OrderedDict[str, Path] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, preview: Path, original: Path) -> None:
        match = PREVIEW_NAME.search(preview.name)
        if match is None:
            raise ValueError(f"not a preview name: {preview.name}")
        with self._lock:
            self._originals[match.group(1)] = Path(original)
            while len(self._originals) > self.capacity:
                self._originals.popitem(last=False)

    def original(self, video: str | Path | None) -> str | Path | None:
        """The uploaded original behind a preview the page shows; any other value unchanged. A preview whose
        original is gone (the server restarted or cleaned its uploads) is an error: it is never scored itself."""
        if video is None:
            return None
        match = PREVIEW_NAME.search(Path(video).name)
        if match is None:
            return video
        with self._lock:
            original = self._originals.get(match.group(1))
        if original is None or not original.is_file():
            raise LimssrError("the uploaded video is no longer on the server (only its preview is); upload it again")
        return str(original)
