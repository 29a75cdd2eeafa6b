"""`python -m limssr_core synth-routines --out DIR --n N --seed S`: a folder of synthetic routines.

Output (docs/synthetic_routines.md):

    DIR/routine_0000.mp4     H.264 + AAC, 25 fps, SIZE, MIN..MAX seconds
    DIR/routine_0000.txt     commentary (one sentence per line), found by `extract` beside the video
    DIR/labels.csv           sample_id,score,split   (the `extract --labels` format; score in SCORE_RANGE)
    DIR/routines.json        every routine's plan, latent factors and score components

so that `synth-routines --out raw` then `extract raw --out data --labels raw/labels.csv` gives a trainable dataset.
"""

from __future__ import annotations

import csv
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from limssr_core.errors import LimssrError
from limssr_core.synth.commentary import write_commentary
from limssr_core.synth.encode import write_mp4
from limssr_core.synth.music import synthesize_audio
from limssr_core.synth.render import FigureRenderer
from limssr_core.synth.routines import SCORE_RANGE, RoutinePlan, assign_splits, plan_routine

MIN_SECONDS_LIMIT = 2.0
MAX_SECONDS_LIMIT = 600.0
OUR_FILES = ("labels.csv", "routines.json")


def _check_options(n: int, min_seconds: float, max_seconds: float, size: tuple[int, int]) -> None:
    if n < 1:
        raise LimssrError(f"--n must be at least 1, got {n}")
    if not MIN_SECONDS_LIMIT <= min_seconds <= max_seconds <= MAX_SECONDS_LIMIT:
        raise LimssrError(f"need {MIN_SECONDS_LIMIT} <= --min-seconds <= --max-seconds <= {MAX_SECONDS_LIMIT}, "
                          f"got {min_seconds} and {max_seconds}")
    w, h = size
    if w < 64 or h < 48 or w % 2 or h % 2 or w > 1920 or h > 1080:
        raise LimssrError(f"--size must be even WIDTHxHEIGHT between 64x48 and 1920x1080, got {w}x{h}")


def _prepare_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty folder unless `overwrite`; then only files this command writes are removed."""
    if out.exists() and not out.is_dir():
        raise LimssrError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise LimssrError(f"--out {out} is not empty; pass --overwrite to replace the routines in it")
        for p in out.iterdir():
            ours = p.name in OUR_FILES or (p.name.startswith("routine_") and p.suffix in (".mp4", ".txt"))
            if ours and p.is_file():
                p.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LimssrError(f"cannot create --out {out}: {err}") from err


def render_routine(plan: RoutinePlan, out_dir: str | Path, size: tuple[int, int]) -> Path:
    """Write `<sample_id>.mp4` and `<sample_id>.txt` for one plan; returns the video path."""
    out_dir = Path(out_dir)
    video = out_dir / f"{plan.sample_id}.mp4"
    audio = synthesize_audio(plan)
    frames = FigureRenderer(plan, size).frames()
    write_mp4(video, frames, audio, fps=plan.fps, sample_rate=plan.sample_rate, size=size)
    (out_dir / f"{plan.sample_id}.txt").write_text(write_commentary(plan), encoding="utf-8")
    return video


def write_labels_csv(path: str | Path, plans: list[RoutinePlan]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["sample_id", "score", "split"])
        for p in plans:
            writer.writerow([p.sample_id, f"{p.score:.2f}", p.split])


def generate_routines(out_dir: str | Path, n: int, seed: int, *, min_seconds: float = 20.0,
                      max_seconds: float = 40.0, size: tuple[int, int] = (320, 240), progress: bool = True,
                      overwrite: bool = False, workers: int = 1) -> list[RoutinePlan]:
    """Plan, render and label n routines into out_dir (deterministic per seed); returns the plans.

    `workers` > 1 renders routines in that many processes (same output: each routine depends on its plan only).
    """
    _check_options(n, min_seconds, max_seconds, size)
    out = Path(out_dir)
    _prepare_out_dir(out, overwrite)
    plans = [plan_routine(seed, i, min_seconds=min_seconds, max_seconds=max_seconds) for i in range(n)]
    for plan, split in zip(plans, assign_splits(n, seed)):
        plan.split = split
    if workers < 1:
        raise LimssrError(f"--workers must be at least 1, got {workers}")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="synth-routines", unit="routine")
    if workers == 1:
        for plan in plans:
            render_routine(plan, out, size)
            if bar is not None:
                bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(render_routine, plans, [out] * n, [size] * n):
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    write_labels_csv(out / "labels.csv", plans)
    meta = {"seed": seed, "n": n, "size": list(size), "min_seconds": min_seconds, "max_seconds": max_seconds,
            "score_range": list(SCORE_RANGE), "routines": [p.to_json() for p in plans]}
    tmp = out / "routines.json.partial"
    tmp.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / "routines.json")
    return plans


def read_plans(path: str | Path) -> list[RoutinePlan]:
    """The plans stored in a routines.json (or in the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "routines.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LimssrError(f"cannot read {path}: {err}") from err
    return [RoutinePlan.from_json(r) for r in data["routines"]]
