"""Extraction speed benchmark (issue target: <= 45 s and <= 3x decode-only time, peak RSS <= 2.5 GB, on 2 cores).

Generates (once, cached under /tmp) a 3-minute 1280x720 25 fps H.264 video with a stereo AAC track and a
commentary file, then measures in one run:
  1. decode-only: every frame decoded at native resolution to RGB, with PyAV and with decord, each in a child
     process (the cost of merely reading the file; the ratio uses the faster one);
  2. full extraction of all four modalities with `limssr_core.features.extract_sample` (models loaded beforehand,
     load time printed separately).
Prints both times, their ratio and the process's peak RSS.

    .venv/bin/python bench/extract_bench.py [--threads 2] [--seconds 180] [--cache /tmp/limssr_bench]

Throughput across processes (`--throughput N`): N generated 640x360 routines of `--throughput-seconds` each,
extracted by the `extract` command in one process, in 2 worker processes (`--workers 2`) and in 2 torchrun
processes, side by side; routines per minute, model loading included (as a user runs it).

    .venv/bin/python bench/extract_bench.py --throughput 8 [--throughput-seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import resource
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COMMENTARY = [
    "The skater opens with a strong triple lutz.",
    "Good height and a clean landing on the back outside edge.",
    "Now the step sequence, quick turns along the boards.",
    "A slight wobble on the combination spin.",
    "She finishes with a confident double axel and the crowd responds.",
]


def make_video(path: Path, seconds: float, width: int = 1280, height: int = 720, fps: int = 25) -> None:
    """A camera pan over a textured background with moving blobs, plus a stereo tone/noise soundtrack."""
    import av

    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, size=(height // 8, int(width + 4 * seconds * fps) // 8 + 2, 3), dtype=np.uint8)
    import cv2

    texture = cv2.resize(texture, (texture.shape[1] * 8, height), interpolation=cv2.INTER_CUBIC)
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        vs = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.thread_type = "AUTO"
        sr = 48000
        aus = out.add_stream("aac", rate=sr, layout="stereo")
        n_frames = int(seconds * fps)
        audio_per_frame = sr // fps
        t_audio = 0
        for i in range(n_frames):
            x0 = (i * 4) % (texture.shape[1] - width)
            img = np.ascontiguousarray(texture[:, x0:x0 + width])
            cx = int((width / 2) + (width / 3) * np.sin(i / 20))
            cy = int(height / 2 + (height / 4) * np.cos(i / 13))
            cv2.circle(img, (cx, cy), 60, (250, 40, 40), -1)
            cv2.rectangle(img, (cx - 200, cy - 30), (cx - 120, cy + 30), (30, 220, 60), -1)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in vs.encode(frame):
                out.mux(packet)
            t = (t_audio + np.arange(audio_per_frame)) / sr
            tone = 0.2 * np.sin(2 * np.pi * (220 + 50 * np.sin(t / 3)) * t)
            beat = (np.sin(2 * np.pi * 2 * t) > 0.95) * rng.normal(0, 0.3, t.shape)
            samples = np.stack([tone + beat, 0.8 * tone + beat]).astype(np.float32)
            aframe = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            aframe.sample_rate = sr
            aframe.pts = t_audio
            aframe.time_base = Fraction(1, sr)
            t_audio += audio_per_frame
            for packet in aus.encode(aframe):
                out.mux(packet)
        for stream in (vs, aus):
            for packet in stream.encode(None):
                out.mux(packet)
    os.replace(tmp, path)


def decode_only(path: Path, decoder: str) -> tuple[float, int]:
    """Seconds to decode every frame at native resolution to RGB arrays (decord batches, or PyAV frame by frame)."""
    start = time.perf_counter()
    count = 0
    if decoder == "decord":
        import decord

        reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
        n = len(reader)
        for lo in range(0, n, 32):
            count += reader.get_batch(list(range(lo, min(n, lo + 32)))).asnumpy().shape[0]
    else:
        import av

        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                frame.to_ndarray(format="rgb24")
                count += 1
    return time.perf_counter() - start, count


def bench_media(cache: Path, seconds: float) -> tuple[Path, Path]:
    """The benchmark's 720p routine and its commentary file, generated once into `cache`."""
    cache.mkdir(parents=True, exist_ok=True)
    video = cache / f"routine_{int(seconds)}s_720p.mp4"
    if not video.is_file():
        print(f"generating {video} (one-off; takes a while) ...", flush=True)
        t0 = time.perf_counter()
        make_video(video, seconds)
        print(f"  generated in {time.perf_counter() - t0:.1f} s", flush=True)
    commentary = video.with_suffix(".txt")
    commentary.write_text(" ".join(COMMENTARY) + "\n")
    return video, commentary


def run_baseline(video: Path, decoder: str, threads: int) -> tuple[float, int]:
    """Run a decode-only baseline in a child process (decord's native decode alone peaks near 4 GB RSS; the peak
    reported below must be the extractor's own)."""
    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"from extract_bench import decode_only; from pathlib import Path; "
            f"print(json.dumps(decode_only(Path({str(video)!r}), {decoder!r})))")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    seconds, frames = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, frames


def throughput(cache: Path, routines: int, seconds: float) -> None:
    """Routines per minute of the `extract` command in 1 process, 2 workers and 2 torchrun processes."""
    import shutil
    import tempfile

    folder = cache / f"throughput_{int(seconds)}s_360p"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(routines):
        video = folder / f"routine_{i:03d}.mp4"
        if not video.is_file():
            print(f"generating {video} ...", flush=True)
            make_video(video, seconds, width=640, height=360)
        video.with_suffix(".txt").write_text(" ".join(COMMENTARY[i % 3:]) + "\n")
    videos = [str(folder / f"routine_{i:03d}.mp4") for i in range(routines)]
    cli = [sys.executable, "-m", "limssr_core", "extract", *videos, "--no-progress"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
                "limssr_core", "extract", *videos, "--no-progress"]
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    print(f"{routines} routines of {seconds:g} s (640x360, 25 fps), all four modalities, model loading included; "
          f"{os.cpu_count()} CPUs")
    for label, command in (("1 process", cli), ("--workers 2", cli + ["--workers", "2"]),
                           ("torchrun, 2 processes", torchrun)):
        out = Path(tempfile.mkdtemp(prefix="limssr_throughput_"))
        start = time.perf_counter()
        subprocess.run(command + ["--out", str(out / "ds")], check=True, env=env, capture_output=True)
        elapsed = time.perf_counter() - start
        extracted = json.loads((out / "ds" / "extract_report.json").read_text())["counts"]["extracted"]
        shutil.rmtree(out)
        print(f"  {label:<22} {elapsed:7.1f} s   {extracted / elapsed * 60:6.2f} routines/min   ({extracted} extracted)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (torch, OpenCV, decoders)")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--cache", default="/tmp/limssr_bench")
    parser.add_argument("--throughput", type=int, default=0, help="N routines: 1 vs 2 processes (see above)")
    parser.add_argument("--throughput-seconds", type=float, default=30.0)
    args = parser.parse_args()
    if args.throughput:
        throughput(Path(args.cache), args.throughput, args.throughput_seconds)
        return 0

    video, commentary = bench_media(Path(args.cache), args.seconds)

    from limssr_core.features import ExtractionConfig, extract_sample
    from limssr_core.features.registry import preload_models, set_cpu_threads

    set_cpu_threads(args.threads)
    config = ExtractionConfig(num_threads=args.threads)
    t0 = time.perf_counter()
    preload_models(config)
    load_s = time.perf_counter() - t0

    baselines = {dec: run_baseline(video, dec, args.threads) for dec in ("pyav", "decord")}
    n_frames = baselines["pyav"][1]
    stages: dict[str, float] = {}
    last = [time.perf_counter(), None]

    def on_progress(stage: str, fraction: float) -> None:
        now = time.perf_counter()
        if last[1] is not None:
            stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
        last[0], last[1] = now, stage

    t0 = time.perf_counter()
    result = extract_sample(video, commentary_path=commentary, config=config, progress_callback=on_progress)
    extract_s = time.perf_counter() - t0
    on_progress("end", 1.0)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2

    decode_s = min(seconds for seconds, _ in baselines.values())
    print(f"video: {video.name}  {n_frames} frames  threads={args.threads}")
    print(f"model load + warm-up (once per process, not timed below): {load_s:.1f} s")
    for dec, (seconds, _) in baselines.items():
        print(f"decode-only, {dec:<6} (all frames, native res RGB): {seconds:.1f} s")
    print(f"extraction (all four modalities):             {extract_s:.1f} s   (target <= 45 s)")
    print(f"ratio extraction / fastest decode-only:       {extract_s / decode_s:.2f}x  (target <= 3x)")
    print(f"peak RSS of the extracting process: {peak_gb:.2f} GB   (target <= 2.5 GB)")
    print("stage times: " + ", ".join(f"{k} {v:.1f}s" for k, v in stages.items()))
    for name, status in result.status.items():
        shape = result.features[name].shape if name in result.features else None
        print(f"  {name:<11} present={status.present!s:<5} {shape}  {status.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
