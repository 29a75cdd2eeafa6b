"""`synth-diagnose`: which components of the synthetic score a checkpoint follows, and which it misses."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from limssr_core.commands.common import add_device_argument, write_json

NAME = "synth-diagnose"
HELP = "which components of the synthetic score a checkpoint follows and which it misses"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True, help="the extracted dataset of the routines")
    parser.add_argument("--routines", required=True, help="the synth-routines folder (its routines.json)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    parser.add_argument("--modalities", help="comma-separated subset to score with (default: all of them)")
    add_device_argument(parser)
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from limssr_core.synth.diagnose import diagnose_checkpoint

    modalities = args.modalities.split(",") if args.modalities else None
    subset, report = diagnose_checkpoint(args.checkpoint, args.data, args.routines, split=args.split,
                                         modalities=modalities, device=args.device, progress=not args.no_progress)
    print(f"modalities: {' + '.join(subset)}; split: {args.split}")
    print(report.to_markdown())
    if args.json:
        write_json(asdict(report), args.json)
    return 0
