"""`synth-features`: a feature dataset with a planted, learnable signal (tests and demos)."""

from __future__ import annotations

import argparse

from limssr_core.errors import LimssrError

NAME = "synth-features"
HELP = "write a synthetic feature dataset with a planted signal"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder to write the dataset to")
    parser.add_argument("--modalities", default="video:32,audio:16,text:8",
                        help="name:dim pairs (default: %(default)s)")
    parser.add_argument("--n", type=int, default=300, help="number of samples (default: %(default)s)")
    parser.add_argument("--length", default="12:24", help="segments per sample, MIN:MAX (default: %(default)s)")
    parser.add_argument("--missing-rate", type=float, default=0.0,
                        help="per-sample probability that a modality's file is absent (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="synthetic")


def run(args: argparse.Namespace) -> int:
    from limssr_core.data.synth import SynthOptions, parse_modalities, write_synthetic_dataset

    low, _, high = args.length.partition(":")
    if not (low.isdigit() and (high or low).isdigit()):
        raise LimssrError(f"--length expects MIN:MAX, got {args.length!r}")
    options = SynthOptions(modalities=parse_modalities(args.modalities), n_samples=args.n, min_length=int(low),
                           max_length=int(high or low), missing_rate=args.missing_rate, seed=args.seed, name=args.name)
    if options.max_length < options.min_length or options.min_length < 1:
        raise LimssrError(f"--length: need 1 <= MIN <= MAX, got {args.length!r}")
    spec = write_synthetic_dataset(args.out, options)
    print(f"wrote {options.n_samples} samples with modalities {list(spec.modalities)} to {args.out}")
    return 0
