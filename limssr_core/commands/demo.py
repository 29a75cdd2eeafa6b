"""`demo`: the whole core on synthetic features in a few minutes on a CPU.

synth-features -> train (embedded SmolLM2 backbone, fixed:0.3 training-time missingness) -> evaluation under every
modality subset -> one prediction with all its MDA weights.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from limssr_core.config import EMBEDDED_BACKBONE

NAME = "demo"
HELP = "synthetic features -> train -> evaluate -> predict, in a few minutes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="working folder (default: %(default)s)")
    parser.add_argument("--backbone", default=EMBEDDED_BACKBONE, help="(default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n", type=int, default=200, help="synthetic samples")


def run(args: argparse.Namespace) -> int:
    from limssr_core.data.dataset import load_dataset
    from limssr_core.data.synth import SynthOptions, write_synthetic_dataset
    from limssr_core.inference.scorer import Scorer
    from limssr_core.training.run import build_config, train

    out = Path(args.out)
    data, run_dir = out / "data", out / "run"
    shutil.rmtree(out, ignore_errors=True)
    print(f"1/3 writing {args.n} synthetic samples (video, audio, text features) to {data}")
    write_synthetic_dataset(data, SynthOptions(modalities={"video": 32, "audio": 16, "text": 8}, n_samples=args.n))
    print(f"2/3 training on {args.backbone} with fixed:0.3 training-time missingness")
    dataset = load_dataset(data, progress=False)
    config = build_config(dataset, model={"backbone": args.backbone}, length=12,
                          training={"epochs": args.epochs, "train_missing": "fixed:0.3", "warmup_epochs": 1})
    train(config, dataset, run_dir)
    sample = dataset.split("test")[0]
    scorer = Scorer(run_dir)
    prediction = scorer.score({k: v for k, v in sample.features.items() if k != "audio"})
    print(f"3/3 one test sample scored without its audio (true score "
          f"{scorer.config.denormalise(sample.target):.1f}):")
    print(json.dumps(prediction.to_json(), indent=2))
    print(f"\ncheckpoint, metrics.csv and its card (README.md) are in {run_dir}")
    return 0
