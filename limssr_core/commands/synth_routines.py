"""`synth-routines`: synthetic routine videos with music, commentary and a documented score."""

from __future__ import annotations

import argparse
from pathlib import Path

from limssr_core.errors import LimssrError

NAME = "synth-routines"
HELP = "generate synthetic routine videos with music, commentary and scores"


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise LimssrError(f"--size expects WIDTHxHEIGHT like 320x240, got {text!r}") from None
    return w, h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder (videos, commentary, labels.csv)")
    parser.add_argument("--n", type=int, default=20, help="number of routines (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-seconds", type=float, default=20.0)
    parser.add_argument("--max-seconds", type=float, default=40.0)
    parser.add_argument("--size", default="320x240", help="video WIDTHxHEIGHT, even numbers (default 320x240)")
    parser.add_argument("--workers", type=int, default=1, help="render routines in this many processes")
    parser.add_argument("--overwrite", action="store_true", help="replace routines already in --out")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from limssr_core.synth import SCORE_RANGE, generate_routines

    plans = generate_routines(args.out, args.n, args.seed, min_seconds=args.min_seconds,
                              max_seconds=args.max_seconds, size=parse_size(args.size),
                              progress=not args.no_progress, overwrite=args.overwrite, workers=args.workers)
    scores = [p.score for p in plans]
    print(f"wrote {len(plans)} routines to {args.out} (scores {min(scores):.1f}..{max(scores):.1f}, "
          f"range {SCORE_RANGE[0]:g}..{SCORE_RANGE[1]:g}); labels: {Path(args.out) / 'labels.csv'}")
    return 0
