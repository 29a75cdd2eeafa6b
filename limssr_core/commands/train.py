"""`train`: a LIMSSR model on a feature dataset. Model and training flags are generated from the config fields."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from limssr_core.commands.common import add_device_argument
from limssr_core.commands.config_flags import SHORTHANDS, add_config_flags, given
from limssr_core.config import LimssrConfig, TrainingConfig
from limssr_core.errors import LimssrError

NAME = "train"
HELP = "train a LIMSSR model on a feature dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from limssr_core.training.presets import PRESETS
    from limssr_core.training.run import settable_fields

    run = parser.add_argument_group("run")
    run.add_argument("--data", required=True, help="feature dataset folder (docs/data_format.md)")
    run.add_argument("--out", required=True, help="run folder; becomes the checkpoint of the kept weights (--keep-weights)")
    run.add_argument("--preset", choices=sorted(PRESETS), metavar="PRESET",
                     help="benchmark preset: sets T, epochs and dropout; explicit flags win. One of "
                          + ", ".join(sorted(PRESETS)))
    run.add_argument("--length", help="segments per modality block T, for all ('32') or per modality "
                     "('video=32,commentary=12'); default: the preset's or 32")
    add_device_argument(run)
    run.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    run.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    run.add_argument("--no-progress", action="store_true", help="hide progress bars")

    model = parser.add_argument_group("model (LimssrConfig)")
    parser.set_defaults(model_fields=add_config_flags(model, LimssrConfig, settable_fields(LimssrConfig)))
    model.add_argument("--dropout", type=float, default=argparse.SUPPRESS,
                       help="shorthand: sets " + " and ".join(SHORTHANDS["dropout"]))
    training = parser.add_argument_group("training (TrainingConfig)")
    parser.set_defaults(training_fields=add_config_flags(training, TrainingConfig, settable_fields(TrainingConfig)))


def run(args: argparse.Namespace) -> int:
    from limssr_core.data.dataset import load_dataset
    from limssr_core.runtime import resolve_device
    from limssr_core.training.run import build_config, train

    device = resolve_device(args.device)  # before anything slow: --device cuda without a GPU fails at once
    model = given(args, args.model_fields)
    for shorthand, fields in SHORTHANDS.items():
        if hasattr(args, shorthand):
            for name in fields:
                model.setdefault(name, getattr(args, shorthand))
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.resume:
        if not args.overwrite:
            raise LimssrError(f"{out} already holds a run; pass --resume to continue it or --overwrite to replace it")
        shutil.rmtree(out)
    dataset = load_dataset(args.data, progress=not args.no_progress)
    config = build_config(dataset, model=model, training=given(args, args.training_fields), preset=args.preset,
                          length=args.length)
    result = train(config, dataset, out, device=device, resume=args.resume, progress=not args.no_progress)
    if not result.main_process:  # a multi-process run reports once, from its main process
        return 0
    print(f"kept {result.kept}: {result.selection_split} selection rho {result.best_selection:.3f}; "
          f"checkpoint in {out}")
    if result.test_summary is not None:
        from limssr_core.evaluation.metrics import markdown_table

        print("test split:\n" + markdown_table(result.test_summary))
    return 0
