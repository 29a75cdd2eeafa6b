"""Small generated media fixtures (PyAV + numpy): 160x120, a few seconds, every edge case the extractors handle."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

W, H, FPS, SR = 160, 120, 25, 16000


def _frame(i: int, width: int = W, height: int = H) -> np.ndarray:
    """A moving bright square on a textured background (gives optical flow something to track)."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([(xx * 3 + yy) % 256, (yy * 5) % 256, (xx * 7 + yy * 2) % 256], axis=-1).astype(np.uint8)
    x0 = (i * 3) % (width - 30)
    img[40:70, x0:x0 + 30] = (255, 255, 0)
    return img


def make_media(
    path: Path,
    seconds: float = 3.0,
    audio: str | None = "tone",  # "tone" | "silent" | None
    channels: int = 2,
    video_streams: int = 1,
    audio_streams: int = 1,
    rotation: int = 0,
    vfr: bool = False,
    frames: int | None = None,
    video: bool = True,
) -> Path:
    import av

    layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
    n_frames = frames if frames is not None else int(seconds * FPS)
    with av.open(str(path), "w") as out:
        vstreams = []
        for k in range(video_streams if video else 0):
            vs = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
            vs.width, vs.height, vs.pix_fmt = W // (k + 1) // 2 * 2, H // (k + 1) // 2 * 2, "yuv420p"
            if vfr:
                vs.time_base = Fraction(1, 1000)
                vs.codec_context.time_base = Fraction(1, 1000)
            if rotation:
                vs.set_display_rotation(rotation)
            vstreams.append(vs)
        astreams = []
        for _ in range(audio_streams if audio else 0):
            astreams.append(out.add_stream("aac", rate=SR, layout=layout))
        t_ms = 0
        for i in range(n_frames if video else 0):
            for vs in vstreams:
                frame = av.VideoFrame.from_ndarray(_frame(i, vs.width, vs.height), format="rgb24")
                if vfr:  # alternate 20 ms and 60 ms frame durations
                    frame.pts, frame.time_base = t_ms, Fraction(1, 1000)
                else:
                    frame.pts, frame.time_base = i, Fraction(1, FPS)
                for packet in vs.encode(frame):
                    out.mux(packet)
            t_ms += 20 if i % 2 == 0 else 60
        total = int((t_ms / 1000 if vfr else (n_frames / FPS if video else seconds)) * SR)
        t = np.arange(total) / SR
        wave = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
        if audio == "silent":
            wave = np.zeros_like(wave)
        for astream in astreams:
            for lo in range(0, total, 1024):
                chunk = np.tile(wave[lo:lo + 1024].astype(np.float32), (channels, 1))
                aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
                aframe.sample_rate, aframe.pts, aframe.time_base = SR, lo, Fraction(1, SR)
                for packet in astream.encode(aframe):
                    out.mux(packet)
        for stream in vstreams + astreams:
            for packet in stream.encode(None):
                out.mux(packet)
    return path


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    files = {
        "normal": make_media(root / "normal.mp4"),
        "noaudio": make_media(root / "noaudio.mp4", audio=None),
        "silent": make_media(root / "silent.mp4", audio="silent"),
        "multistream": make_media(root / "multistream.mkv", video_streams=2, audio_streams=2),
        "sixch": make_media(root / "sixch.mkv", channels=6),
        "rotated": make_media(root / "rotated.mp4", seconds=2.0, rotation=90),
        "vfr": make_media(root / "vfr.mkv", frames=60, vfr=True),
        "short": make_media(root / "short.mp4", frames=10),
        "oneframe": make_media(root / "oneframe.mp4", frames=1, audio=None),
        "audio_only": make_media(root / "audio_only.m4a", video=False, seconds=3.0),
        "empty": root / "empty.mp4",
        "notmedia": root / "notmedia.mp4",
    }
    files["empty"].write_bytes(b"")
    files["notmedia"].write_text("this is not a video\n" * 50)
    # mp4 keeps its index at the end: cutting it off makes the file unusable
    data = files["normal"].read_bytes()
    (root / "truncated.mp4").write_bytes(data[: len(data) // 2])
    files["truncated_mp4"] = root / "truncated.mp4"
    # Matroska can be read up to the cut: a degraded but usable file
    mkv = make_media(root / "long.mkv", seconds=4.0).read_bytes()
    (root / "truncated.mkv").write_bytes(mkv[: int(len(mkv) * 0.6)])
    files["truncated_mkv"] = root / "truncated.mkv"
    # MPEG-TS with garbage payload in 40 transport packets mid-file (sync bytes kept, so demuxing goes on)
    ts = bytearray(make_media(root / "long.ts", seconds=4.0).read_bytes())
    rng = np.random.default_rng(1)
    start = (len(ts) // 2) // 188 * 188
    for offset in range(start, start + 188 * 40, 188):
        ts[offset + 8:offset + 188] = rng.integers(0, 256, 180, dtype=np.uint8).tobytes()
    (root / "corrupt.ts").write_bytes(bytes(ts))
    files["corrupt_ts"] = root / "corrupt.ts"
    return files
