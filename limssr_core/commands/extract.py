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
    parser.add_argument("--workers", type=int, default=1,
                        help="extract in N processes of this machine, the cores shared between them (default 1; "
                             "under torchrun or accelerate launch each launched process takes a share instead)")
    parser.add_argument("--finalize", action="store_true",
                        help="extract nothing: merge dataset.json, labels.csv and extract_report.json from the "
                             "per-sample status files (after processes that were stopped or launched by hand)")
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
    from limssr_core.features.dataset_builder import REPORT, extract_videos, finalize_dataset, plan_extraction
    from limssr_core.features.parallel import (
        distributed_launch,
        extract_in_workers,
        extract_share,
        main_launched_process,
    )
    from limssr_core.features.registry import ExtractionConfig

    if args.workers < 1:
        raise LimssrError(f"--workers must be at least 1, got {args.workers}")
    modalities = tuple(m.strip() for m in args.modalities.split(",") if m.strip())
    config = ExtractionConfig(
        segment_frames=args.segment_frames, max_segments=args.max_segments or None,
        segment_policy=args.segment_policy, max_duration_s=args.max_duration,
        frames_per_segment=args.frames_per_segment, flow_method=args.flow, silence_rms=args.silence_rms,
        decoder=args.decoder, num_threads=args.threads, device=args.device)
    job = plan_extraction(args.inputs, args.out, config=config, modalities=modalities, commentary_dir=args.commentary,
                          audio_dir=args.audio, transcribe=args.transcribe, force=args.force)
    progress = not args.no_progress
    if args.finalize:
        if not main_launched_process():
            return EXIT_OK  # a launched --finalize merges once, in the main process
    elif distributed_launch():
        if not extract_share(job, progress=progress):
            return EXIT_OK  # the main process merges and reports
    elif args.workers > 1:
        extract_in_workers(job, args.workers, progress=progress)
    else:
        extract_videos(job, progress=progress)
    report = finalize_dataset(job, labels_csv=args.labels, score_name=args.score_name,
                              score_range=parse_score_range(args.score_range))
    counts = report["counts"]
    print(f"extracted {counts['extracted']}, already done {counts['skipped_already_done']}, "
          f"failed {counts['failed']} -> {Path(args.out) / REPORT}")
    for failure in report["failures"]:
        hint = " (raise it with --max-duration)" if failure.get("limit") == "max_duration_s" else ""
        print(f"  FAILED {failure['source']}: {failure['error']}{hint}")
    if report["pending"]:
        print(f"  {len(report['pending'])} video(s) not extracted yet (run the same command without --finalize): "
              f"{', '.join(report['pending'][:5])}{' ...' if len(report['pending']) > 5 else ''}")
    return EXIT_SOME_FAILED if report["failures"] or report["pending"] else EXIT_OK
