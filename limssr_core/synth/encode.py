"""Write frames + stereo audio to an MP4 (H.264 yuv420p + AAC) with PyAV, deterministically.

The encoder runs single-threaded (x264 then gives identical bytes for identical input). Audio is cut into
encoder-sized frames and interleaved with the video by time. The file is written to a temporary name and renamed,
so an interrupted run never leaves a half-written MP4 under the final name.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import cv2
import numpy as np

from limssr_core.errors import LimssrError

CRF = 26
PRESET = "veryfast"
AUDIO_BITRATE = 96_000


def write_mp4(path: str | Path, frames: Iterable[np.ndarray], audio: np.ndarray, *, fps: int, sample_rate: int,
              size: tuple[int, int]) -> None:
    """frames: H x W x 3 RGB uint8 (W, H = size); audio: float32 [2, n] in [-1, 1]."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".partial" + path.suffix)
    w, h = size
    if w % 2 or h % 2:
        raise LimssrError(f"video size {w}x{h} must have even width and height (yuv420p)")
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            video = container.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = w, h, "yuv420p"
            video.options = {"crf": str(CRF), "preset": PRESET, "threads": "1"}
            video.codec_context.thread_count = 1
            audio_stream = container.add_stream("aac", rate=sample_rate, layout="stereo")
            audio_stream.bit_rate = AUDIO_BITRATE
            chunk = audio_stream.codec_context.frame_size or 1024
            audio = np.ascontiguousarray(audio, dtype=np.float32)
            a_pos = 0

            def push_audio(until_sample: int) -> None:
                nonlocal a_pos
                while a_pos < min(until_sample, audio.shape[1]):
                    block = audio[:, a_pos:a_pos + chunk]
                    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
                    frame.sample_rate = sample_rate
                    frame.pts, frame.time_base = a_pos, Fraction(1, sample_rate)
                    container.mux(audio_stream.encode(frame))
                    a_pos += block.shape[1]

            for i, rgb in enumerate(frames):
                yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)  # BT.601 limited range, like swscale's default
                frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                container.mux(video.encode(frame))
                push_audio(int((i + 1) * sample_rate / fps))
            push_audio(audio.shape[1])
            container.mux(video.encode(None))
            container.mux(audio_stream.encode(None))
        os.replace(tmp, path)
    except (av.FFmpegError, OSError, ValueError) as err:
        tmp.unlink(missing_ok=True)
        raise LimssrError(f"could not write {path}: {err}") from err
