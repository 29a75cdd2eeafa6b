"""`calibrate`: write split-conformal intervals into an existing checkpoint, without retraining."""

from __future__ import annotations

import argparse

from limssr_core.commands.common import add_device_argument

NAME = "calibrate"
HELP = "calibrate a checkpoint's prediction intervals on labelled samples it did not train on"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="a local checkpoint folder (its config is rewritten)")
    parser.add_argument("--data", required=True, help="feature dataset with labels")
    parser.add_argument("--split", default="val", choices=("train", "val", "test"),
                        help="samples the checkpoint never trained on (default: %(default)s)")
    add_device_argument(parser)
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from limssr_core.data.dataset import load_dataset
    from limssr_core.data.generic import load_spec
    from limssr_core.errors import LimssrError
    from limssr_core.inference.calibration import DEFAULT_LEVEL, min_calibration_samples
    from limssr_core.model.checkpoint import check_compatible, load_checkpoint, read_config, update_config
    from limssr_core.model.hub import CONFIG_NAME, SELECTION_DIR
    from limssr_core.runtime import resolve_device
    from limssr_core.training.run import calibrate

    folder = Path(args.checkpoint)
    if not folder.is_dir():
        raise LimssrError(f"{folder}: calibrate rewrites a local checkpoint folder; download a Hub checkpoint first")
    config = read_config(folder)
    check_compatible(config, load_spec(args.data), source=str(args.data))
    if config.training.folds > 1 and args.split in ("train", "val"):  # K-1 of the members trained on those samples
        raise LimssrError(f"{folder} is a {config.training.folds}-fold ensemble calibrated on its out-of-fold "
                          f"predictions; its members trained on the {args.split} split, so its errors there would "
                          "make the intervals too narrow: calibrate on --split test or on new labelled data")
    if (folder / SELECTION_DIR / CONFIG_NAME).is_file() and args.split in ("train", "val"):
        raise LimssrError(f"{folder} is a refitted run: its model trained on the train and val splits, so its errors "
                          "there would make the intervals too narrow: calibrate on --split test or on new labelled "
                          "data")
    dataset = load_dataset(args.data, progress=not args.no_progress)
    samples = dataset.split(args.split)
    if len(samples) < 2:
        raise LimssrError(f"{args.data}: split {args.split!r} has {len(samples)} labelled sample(s)")
    model = load_checkpoint(folder, device=resolve_device(args.device))
    train = dataset.split("train")
    calibration = calibrate(model, samples, args.split, train)
    if not train:  # keep the percentiles the checkpoint already has
        calibration.label_quantiles = (model.config.calibration or {}).get("label_quantiles", [])
    model.config.calibration = calibration.to_json()
    update_config(folder, model.config)
    need = min_calibration_samples(DEFAULT_LEVEL)
    print(f"calibrated {folder} on {len(samples)} {args.split} samples: {DEFAULT_LEVEL:.0%} intervals for "
          f"{sum(len(v) >= need for v in calibration.errors.values())} of {len(calibration.errors)} modality subsets")
    return 0
