"""`score`: unlabelled routine videos -> one ranked table (extract + predict; resumable; bad files don't stop it)."""

from __future__ import annotations

import argparse

from limssr_core.commands.common import EXIT_OK, EXIT_SOME_FAILED, add_device_argument

NAME = "score"
HELP = "score unlabelled routine videos (a whole start list) into a ranked CSV"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help="video files or folders searched for them")
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder or Hub id owner/name[@revision]")
    parser.add_argument("--out", required=True, help="the ranked table (CSV); a rerun resumes it")
    parser.add_argument("--commentary", help="folder with <stem>.txt / <stem>.srt commentary files")
    parser.add_argument("--max-duration", type=float, help="seconds; longer videos get an error row")
    parser.add_argument("--reports", help="also write one self-contained HTML report per routine (with its "
                                          "timeline) into this folder as <sample_id>.html")
    add_device_argument(parser)
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from limssr_core.inference.competition import ranked, score_routines
    from limssr_core.runtime import resolve_device

    rows = score_routines(args.inputs, args.checkpoint, args.out, commentary_dir=args.commentary,
                          device=resolve_device(args.device), max_duration_s=args.max_duration,
                          reports_dir=args.reports, progress=not args.no_progress)
    failed = [r for r in rows if r.score is None]
    print(f"scored {len(rows) - len(failed)} of {len(rows)} routines -> {args.out}")
    for rank, row in ranked(rows)[:10]:
        if rank is not None:
            print(f"  {rank:>3}. {row.sample_id}: {row.score:.2f}")
    for row in failed:
        print(f"  NOT SCORED {row.source}: {row.error}")
    return EXIT_SOME_FAILED if failed else EXIT_OK
