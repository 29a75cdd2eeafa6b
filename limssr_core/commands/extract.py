"""`extract`: routine videos -> a feature dataset (resumable; one bad file never stops the batch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from limssr_core.commands.common import EXIT_OK, EXIT_SOME_FAILED
from limssr_core.errors import LimssrError

NAME = "extract"
HELP = "extract features from routine videos into a dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from limssr_core.features.registry import DEFAULT_MODALITIES, FLOW_METHODS, KNOWN_MODALITIES, ExtractionConfig

    d = ExtractionConfig()
    parser.add_argument("inputs", nargs="+", help="video files or folders searched for them")
    parser.add_argument("--out", required=True, help="dataset folder to write (resumable)")
    parser.add_argument("--labels", help="CSV sample_id,score[,split]; without it scores are left empty")
    parser.add_argument("--commentary", help="folder with <stem>.txt / <stem>.srt commentary files")
    parser.add_argument("--audio", help="folder with separate audio files <stem>.<ext> (replace the video's track)")
    parser.add_argument("--modalities", default=",".join(DEFAULT_MODALITIES),
                        help=f"comma-separated subset of {','.join(KNOWN_MODALITIES)} (default: %(default)s)")
    parser.add_argument("--transcribe", action="store_true",
                        help="transcribe commentary with Whisper tiny.en when none is given (optional packages)")
    parser.add_argument("--score-name", default="score", help="name of the score (e.g. TES)")
    parser.add_argument("--score-range", help="the score's scale LO:HI, e.g. 0:130 (default: the labels' span)")
    parser.add_argument("--segment-frames", type=int, default=d.segment_frames)
    parser.add_argument("--max-segments", type=int, default=d.max_segments, help="0 = no cap")
    parser.add_argument("--segment-policy", choices=("pool", "crop"), default=d.segment_policy)
    parser.add_argument("--max-duration", type=float, default=d.max_duration_s, help="seconds; longer files fail")
    parser.add_argument("--frames-per-segment", type=int, default=d.frames_per_segment)
    parser.add_argument("--flow", choices=FLOW_METHODS, default=d.flow_method)
    parser.add_argument("--silence-rms", type=float, default=d.silence_rms)
    parser.add_argument("--decoder", choices=("auto", "decord", "pyav"), default=d.decoder)
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch/OpenCV/decoding (default: $LIMSSR_THREADS, else the cores "
                             "this process may use)")
    parser.add_argument("--device", default=d.device)
    parser.add_argument("--force", action="store_true", help="re-extract samples already done")
    parser.add_argument("--no-progress", action="store_true")


def parse_score_range(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        lo, hi = (float(v) for v in text.split(":"))
    except ValueError:
        raise LimssrError(f"--score-range expects LO:HI like 0:130, got {text!r}") from None
    if not hi > lo:
        raise LimssrError(f"--score-range needs HI > LO, got {text!r}")
    return lo, hi


def run(args: argparse.Namespace) -> int:
    from limssr_core.features.dataset_builder import REPORT, extract_dataset
    from limssr_core.features.registry import ExtractionConfig

    modalities = tuple(m.strip() for m in args.modalities.split(",") if m.strip())
    config = ExtractionConfig(
        segment_frames=args.segment_frames, max_segments=args.max_segments or None,
        segment_policy=args.segment_policy, max_duration_s=args.max_duration,
        frames_per_segment=args.frames_per_segment, flow_method=args.flow, silence_rms=args.silence_rms,
        decoder=args.decoder, num_threads=args.threads, device=args.device)
    report = extract_dataset(args.inputs, args.out, labels_csv=args.labels, commentary_dir=args.commentary,
                             audio_dir=args.audio, config=config, modalities=modalities, transcribe=args.transcribe,
                             force=args.force, progress=not args.no_progress, score_name=args.score_name,
                             score_range=parse_score_range(args.score_range))
    counts = report["counts"]
    print(f"extracted {counts['extracted']}, already done {counts['skipped_already_done']}, "
          f"failed {counts['failed']} -> {Path(args.out) / REPORT}")
    for failure in report["failures"]:
        hint = " (raise it with --max-duration)" if failure.get("limit") == "max_duration_s" else ""
        print(f"  FAILED {failure['source']}: {failure['error']}{hint}")
    return EXIT_SOME_FAILED if report["failures"] else EXIT_OK
