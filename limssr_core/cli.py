"""`python -m limssr_core <command>`: synth-features, convert, train, evaluate, predict (and media commands).

Every user-facing problem is a LimssrError, printed as `error: ...` with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from limssr_core.errors import LimssrError


def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="generic feature dataset folder (DATA.md section 1)")
    p.add_argument("--out", required=True, help="run folder; becomes the checkpoint of the best epoch")
    p.add_argument("--backbone", default="smollm2-135m",
                   help="smollm2-135m (embedded), tiny-random (tests), a local folder or a Hub id[@revision]")
    p.add_argument("--preset", help="benchmark preset, e.g. fs1000-tes, fisv-pcs, rg-ball (sets T, epochs, dropout)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--warmup-epochs", type=int)
    p.add_argument("--dropout", type=float, help="projector and head dropout")
    p.add_argument("--length", help="segments per modality block T, for all ('32') or per modality "
                   "('video=32,commentary=12'); default: preset or 32")
    p.add_argument("--fusion-tokens", type=int, default=4)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--fusion-reg", choices=("margin", "triplet"), default="margin")
    p.add_argument("--seed", type=int)
    p.add_argument("--train-missing", help="dataset (default) | fixed:RATE | per-batch")
    p.add_argument("--select-on", choices=("val", "test"), help="model selection split (test only to reproduce "
                   "the published code)")
    p.add_argument("--select-metric", choices=("average", "full"))
    p.add_argument("--val-fraction", type=float, help="fraction of train carved as validation when there is no "
                   "split=val")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--compile", action="store_true", help="torch.compile the LLM body")
    p.add_argument("--precision", choices=("auto", "no", "bf16"), help="autocast for training and validation: "
                   "auto (default) = bf16 on GPU, fp32 on CPU; bf16 on a CPU with AMX trains faster")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    p.add_argument("--no-progress", action="store_true")


def _add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--split", choices=("train", "val", "test", "all"), default="test")
    p.add_argument("--json", help="write the summary JSON here")
    p.add_argument("--predictions", help="write per-sample predictions CSV here")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--no-progress", action="store_true")


def _add_predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--sample", required=True, nargs="+",
                   help="a folder of <modality>.npy files, or files given as MODALITY=PATH or named <modality>.npy")
    p.add_argument("--withhold", nargs="*", default=[], help="present modalities to leave out")
    p.add_argument("--json", help="also write the result here")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise LimssrError("--device cuda was asked for but no CUDA GPU is available")
    return name


def run_train(args: argparse.Namespace) -> int:
    from limssr_core.training.run import TrainOptions, train_from_options

    options = TrainOptions(**{k: v for k, v in vars(args).items() if k in TrainOptions.__dataclass_fields__})
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.resume:
        if not args.overwrite:
            raise LimssrError(f"{out} already holds a run; pass --resume to continue it or --overwrite to replace it")
        shutil.rmtree(out)
    train_from_options(options)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from limssr_core.model.checkpoint import check_compatible, load_checkpoint, read_config
    from limssr_core.data.dataset import load_dataset
    from limssr_core.data.generic import load_spec
    from limssr_core.evaluation.evaluate import evaluate_model, write_predictions_csv
    from limssr_core.evaluation.metrics import markdown_table

    check_compatible(read_config(args.checkpoint), load_spec(args.data), source=str(args.data))
    splits = ("train", "val", "test") if args.split == "all" else (args.split,)
    dataset = load_dataset(args.data, splits=splits, progress=not args.no_progress)
    if len(dataset.samples) < 2:
        raise LimssrError(f"{args.data}: split {args.split!r} has {len(dataset.samples)} labelled sample(s); "
                          "need at least 2")
    model = load_checkpoint(args.checkpoint, device=_device(args.device))
    summary, rows = evaluate_model(model, dataset.samples, batch_size=args.batch_size, progress=not args.no_progress)
    print(markdown_table(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    if args.predictions:
        write_predictions_csv(rows, args.predictions)
    return 0


def sample_files(paths: list[str], modalities: list[str]) -> dict[str, Path]:
    files = {}
    for item in paths:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).stem, item
        if name not in modalities:
            raise LimssrError(f"{item}: cannot tell which modality this is; name it MODALITY=PATH with one of "
                              f"{modalities}")
        files[name] = Path(path)
    return files


def run_predict(args: argparse.Namespace) -> int:
    from limssr_core.data.dataset import sample_from_files, sample_from_folder
    from limssr_core.inference.scorer import Scorer

    scorer = Scorer(args.checkpoint, device=_device(args.device))
    dims = {m.name: m.dim for m in scorer.config.modalities}
    if len(args.sample) == 1 and Path(args.sample[0]).is_dir():
        sample = sample_from_folder(args.sample[0], dims)
    else:
        sample = sample_from_files(sample_files(args.sample, list(dims)), dims)
    unknown = sorted(set(args.withhold) - set(dims))
    if unknown:
        raise LimssrError(f"--withhold {unknown}: not modalities of this checkpoint ({sorted(dims)})")
    result = scorer.score(sample.features, withhold=args.withhold).to_json()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from limssr_core.data.convert import add_convert_arguments, run_convert
    from limssr_core.data.synth import add_synth_features_arguments, run_synth_features
    from limssr_core.demo import add_demo_arguments, run_demo

    parser = argparse.ArgumentParser(prog="python -m limssr_core", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    table = [
        ("synth-features", "write a synthetic feature dataset with a planted signal", add_synth_features_arguments,
         run_synth_features),
        ("convert", "convert FS1000 / Fis-V / RG feature releases to the generic format", add_convert_arguments,
         run_convert),
        ("train", "train a LIMSSR model on a feature dataset", _add_train_arguments, run_train),
        ("evaluate", "evaluate a checkpoint under every modality subset", _add_evaluate_arguments, run_evaluate),
        ("predict", "score one sample and show every MDA weight", _add_predict_arguments, run_predict),
        ("demo", "synthetic features -> train -> evaluate -> predict, in a few minutes", add_demo_arguments,
         run_demo),
    ]
    table += _media_commands()
    for name, help_text, add_arguments, run in table:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        add_arguments(sub)
        sub.set_defaults(run=run)
    return parser


def _media_commands() -> list[tuple]:
    """Commands that turn media into features (limssr_core.features, limssr_core.synth)."""
    from limssr_core.features.dataset_builder import add_extract_arguments, run_extract
    from limssr_core.synth import add_synth_routines_arguments, run_synth_routines
    from limssr_core.synth.diagnose import add_synth_diagnose_arguments, run_synth_diagnose

    return [
        ("synth-routines", "generate synthetic routine videos with music, commentary and scores",
         add_synth_routines_arguments, run_synth_routines),
        ("extract", "extract features from routine videos into a dataset", add_extract_arguments, run_extract),
        ("synth-diagnose", "which components of the synthetic score a checkpoint follows and which it misses",
         add_synth_diagnose_arguments, run_synth_diagnose),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except LimssrError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
