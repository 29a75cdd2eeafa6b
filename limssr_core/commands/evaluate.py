"""`evaluate`: a checkpoint on a labelled split under every modality subset (the paper's protocol)."""

from __future__ import annotations

import argparse

from limssr_core.commands.common import add_device_argument, write_json
from limssr_core.errors import LimssrError

NAME = "evaluate"
HELP = "evaluate a checkpoint under every modality subset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder or Hub id owner/name[@revision]")
    parser.add_argument("--data", required=True, help="feature dataset folder")
    parser.add_argument("--split", choices=("train", "val", "test", "all"), default="test")
    parser.add_argument("--json", help="write the summary JSON here")
    parser.add_argument("--predictions", help="write per-sample predictions CSV here")
    parser.add_argument("--baseline", action="store_true",
                        help="also score the checkpoint's built-in ridge baseline on the same split, side by side")
    parser.add_argument("--batch-size", type=int, default=16)
    add_device_argument(parser)
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from limssr_core.data.dataset import load_dataset
    from limssr_core.data.generic import load_spec
    from limssr_core.evaluation.baseline import RidgeBaseline
    from limssr_core.evaluation.evaluate import evaluate_model, evaluate_predictor, write_predictions_csv
    from limssr_core.evaluation.metrics import comparison_table, markdown_table
    from limssr_core.model.checkpoint import check_compatible, load_checkpoint, read_config
    from limssr_core.model.hub import resolve_checkpoint_folder
    from limssr_core.runtime import resolve_device

    device = resolve_device(args.device)
    folder = resolve_checkpoint_folder(args.checkpoint)  # a folder or a Hub id
    check_compatible(read_config(folder), load_spec(args.data), source=str(args.data))
    splits = ("train", "val", "test") if args.split == "all" else (args.split,)
    dataset = load_dataset(args.data, splits=splits, progress=not args.no_progress)
    if len(dataset.samples) < 2:
        raise LimssrError(f"{args.data}: split {args.split!r} has {len(dataset.samples)} labelled sample(s); "
                          "need at least 2")
    model = load_checkpoint(folder, device=device)
    summary, rows = evaluate_model(model, dataset.samples, batch_size=args.batch_size, progress=not args.no_progress)
    if args.baseline:
        baseline = RidgeBaseline.load(folder)
        baseline_summary, _ = evaluate_predictor(baseline.predict, dataset.samples, model.config.modality_names,
                                                 model.config, progress=False)
        print(comparison_table(summary, baseline_summary))
        summary = summary | {"baseline": baseline_summary}
    else:
        print(markdown_table(summary))
    if args.json:
        write_json(summary, args.json)
    if args.predictions:
        write_predictions_csv(rows, args.predictions)
    return 0
