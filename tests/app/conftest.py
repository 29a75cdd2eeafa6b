"""Fixtures for the app tests: a tiny fixture checkpoint, short generated routines, and a served app."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from app.state import AppSettings, AppState

MODEL_CARD = """# LIMSSR checkpoint: TES

Predicts **TES** on a 0-130 scale from any non-empty subset of its modalities.

## What this score means

A fixture for tests: an untrained model on a tiny random backbone. Its scores carry no meaning.

## Training

- Data: none
"""


@pytest.fixture(scope="session")
def fixture_checkpoint(tmp_path_factory) -> Path:
    """All four default modalities, TES on 0-130, tiny random backbone (untrained)."""
    from tests.conftest import save_default_modalities_checkpoint

    return save_default_modalities_checkpoint(tmp_path_factory.mktemp("checkpoint") / "tes-fixture", MODEL_CARD)


def remux(src: Path, dst: Path, keep: tuple[str, ...]) -> Path:
    """Copy only the streams of the given types ('video', 'audio') into a new file (no re-encoding)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        mapping = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in keep}
        for packet in inp.demux(*[inp.streams[i] for i in mapping]):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    return dst


@pytest.fixture(scope="session")
def routines(tmp_path_factory) -> dict[str, Path]:
    """A 6-8 s 160x120 routine (H.264 + AAC + commentary .txt) and variants made from it."""
    import soundfile

    from limssr_core.synth import generate_routines

    root = tmp_path_factory.mktemp("routines")
    generate_routines(root / "gen", 2, seed=5, min_seconds=6, max_seconds=8, size=(160, 120), progress=False)
    videos = sorted((root / "gen").glob("*.mp4"))
    files = {"video": videos[0], "commentary": videos[0].with_suffix(".txt"), "other": videos[1]}
    files["noaudio"] = remux(videos[0], root / "noaudio.mp4", ("video",))
    files["audio_only"] = remux(videos[0], root / "track.m4a", ("audio",))
    files["audio_only_mp4"] = remux(videos[0], root / "sound_only.mp4", ("audio",))
    silent = root / "silent.wav"
    soundfile.write(silent, np.zeros(22050 * 8, dtype=np.float32), 22050)
    files["silent_wav"] = silent
    srt = root / "commentary.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:03,000\nA clean opening jump.\n\n"
                   "2\n00:00:03,000 --> 00:00:06,000\nThe spin travels a little.\n", encoding="utf-8")
    files["srt"] = srt
    (root / "notes.docx").write_bytes(b"PK\x03\x04 not really a document")
    files["docx"] = root / "notes.docx"
    (root / "broken.mp4").write_text("this is not a video\n" * 40)
    files["corrupt"] = root / "broken.mp4"
    shutil.copy(videos[0], root / "routine.xyz")
    files["badext"] = root / "routine.xyz"
    return files


def transcode(src: Path, dst: Path, video_codec: str, audio_codec: str | None, size=None, fps: int = 25) -> Path:
    """Re-encode a routine into another container / codec pair (the formats judges' cameras produce)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        width, height = size or (vin.codec_context.width, vin.codec_context.height)
        vout = out.add_stream(video_codec, rate=fps)
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        aout = out.add_stream(audio_codec, rate=44100, layout="stereo") if audio_codec else None
        resampler = av.AudioResampler(format=aout.codec_context.format.name, layout="stereo", rate=44100) \
            if aout else None
        fifo, samples, index = av.AudioFifo(), 0, 0
        streams = [vin] + ([inp.streams.audio[0]] if aout else [])
        for packet in inp.demux(*streams):
            for frame in packet.decode():
                if packet.stream.type == "video":
                    scaled = frame.reformat(width=width, height=height, format="yuv420p")
                    scaled.pts, scaled.time_base = index, Fraction(1, fps)
                    index += 1
                    out.mux(vout.encode(scaled))
                else:
                    for chunk in resampler.resample(frame):
                        chunk.pts = None
                        fifo.write(chunk)
                    size_ = aout.codec_context.frame_size or 1152
                    while fifo.samples >= size_:
                        block = fifo.read(size_)
                        block.pts, block.time_base = samples, Fraction(1, 44100)
                        samples += size_
                        out.mux(aout.encode(block))
        out.mux(vout.encode(None))
        if aout:
            out.mux(aout.encode(None))
    return dst


@pytest.fixture(scope="session")
def unplayable(routines, tmp_path_factory) -> dict[str, Path]:
    """The routine in formats browsers cannot play (app/preview.py makes their previews)."""
    root = tmp_path_factory.mktemp("unplayable")
    return {
        "avi": transcode(routines["video"], root / "routine.avi", "mpeg4", "pcm_s16le"),
        "mpg": transcode(routines["video"], root / "routine.mpg", "mpeg1video", "mp2"),
        "mkv": shutil.copy(routines["video"], root / "routine.mkv"),  # H.264 in a container browsers refuse
        "hd_avi": transcode(routines["video"], root / "hd.avi", "mpeg4", None, size=(1280, 720)),
    }


@pytest.fixture(scope="session")
def settings(fixture_checkpoint) -> AppSettings:
    return AppSettings(checkpoint=str(fixture_checkpoint), max_upload_mb=50, max_minutes=5, concurrency=2,
                       preload=False, threads=None)


@pytest.fixture(scope="session")
def state(settings) -> AppState:
    return AppState.create(settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def served_app(settings):
    """The app served in this process on a free port; yields its URL. A fresh state (nothing cached)."""
    from app import create_app, launch

    demo, _ = create_app(settings)
    port = free_port()
    launch(demo, settings, port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@dataclass
class Browser:
    """Node + Debian's Chromium, driven by the tests/app/*.cjs scripts through playwright-core."""

    node: str
    chromium: str

    def run(self, script: str, *args: str, timeout: float = 240) -> dict:
        """Run tests/app/SCRIPT with ARGS; its last stdout line, parsed as JSON (a failure shows its stderr)."""
        proc = subprocess.run([self.node, str(HERE / script), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"})
        assert proc.returncode == 0, f"browser run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        return json.loads(proc.stdout.strip().splitlines()[-1])


def _chromium() -> str | None:
    for candidate in (os.environ.get("LIMSSR_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Browser:
    """Skips only when no Chromium is installed, and fails instead under LIMSSR_REQUIRE_BROWSER=1 (CI sets it)."""
    chromium = _chromium()
    if chromium is None:
        assert os.environ.get("LIMSSR_REQUIRE_BROWSER") != "1", "LIMSSR_REQUIRE_BROWSER=1 but no Chromium installed"
        pytest.skip("no Chromium installed (apt-get install chromium; make setup does it)")
    node = shutil.which("node")
    assert node, "Node.js is missing: the browser tests drive Chromium with playwright-core (see app/SETUP_NOTES.md)"
    assert (REPO / "node_modules" / "playwright-core").is_dir(), \
        "playwright-core is missing: run `npm install --no-save playwright-core@1` in the repository (make setup)"
    return Browser(node, chromium)
