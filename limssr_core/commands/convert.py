"""`convert`: a published benchmark feature release (FS1000, Fis-V, RG) -> the generic feature dataset."""

from __future__ import annotations

import argparse

NAME = "convert"
HELP = "convert FS1000 / Fis-V / RG feature releases to the generic format"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from limssr_core.data.convert import BENCHMARKS, SCORE_TYPES

    parser.add_argument("--benchmark", required=True, choices=BENCHMARKS, help="which benchmark release")
    parser.add_argument("--source", required=True, help="folder holding the release's feature and label files")
    parser.add_argument("--out", required=True, help="new (or empty) folder for the generic dataset")
    score_help = "; ".join(f"{b}: {', '.join(s)}" for b, s in SCORE_TYPES.items())
    parser.add_argument("--score", required=True, help=f"score type to convert ({score_help})")
    parser.add_argument("--train-labels", default=None, help="training label file name (default per benchmark)")
    parser.add_argument("--test-labels", default=None, help="test label file name (default per benchmark)")
    parser.add_argument("--video-dir", default="video", help="FS1000 video feature folder (default: video)")
    parser.add_argument("--audio-dir", default="audio", help="FS1000 audio feature folder (default: audio)")
    parser.add_argument("--flow-dir", default="flow", help="FS1000 flow feature folder (default: flow)")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="load the RG / Fis-V releases, which are Python pickles: loading a pickle can run "
                             "arbitrary code, so pass this only for files from a source you trust")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    from limssr_core.data.convert import convert_benchmark

    spec = convert_benchmark(args.benchmark, args.source, args.out, args.score, progress=not args.no_progress,
                             train_labels=args.train_labels, test_labels=args.test_labels, video_dir=args.video_dir,
                             audio_dir=args.audio_dir, flow_dir=args.flow_dir, allow_pickle=args.allow_pickle)
    modalities = ", ".join(f"{m} ({info.dim}-d)" for m, info in spec.modalities.items())
    print(f"wrote {spec.name} to {args.out}: score {spec.score_name} in [0, {spec.score_range[1]:g}]; {modalities}")
    return 0
