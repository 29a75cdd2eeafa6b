"""`python -m limssr_core demo`: the whole core on synthetic features in a few minutes on a CPU.

synth-features -> train (embedded SmolLM2 backbone, fixed:0.3 training-time missingness) -> evaluation under every
modality subset -> one prediction with all its MDA weights.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from limssr_core.data.synth import SynthOptions, write_synthetic_dataset


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="working folder (default: %(default)s)")
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n", type=int, default=200, help="synthetic samples")


def run_demo(args: argparse.Namespace) -> int:
    from limssr_core.data.dataset import load_dataset
    from limssr_core.inference.scorer import Scorer
    from limssr_core.training.run import TrainOptions, train_from_options

    out = Path(args.out)
    data, run = out / "data", out / "run"
    shutil.rmtree(out, ignore_errors=True)
    print(f"1/3 writing {args.n} synthetic samples (video, audio, text features) to {data}")
    write_synthetic_dataset(data, SynthOptions(modalities={"video": 32, "audio": 16, "text": 8}, n_samples=args.n))
    print(f"2/3 training on {args.backbone} with fixed:0.3 training-time missingness")
    train_from_options(TrainOptions(data=str(data), out=str(run), backbone=args.backbone, epochs=args.epochs,
                                    length=12, train_missing="fixed:0.3", warmup_epochs=1))
    sample = load_dataset(data, splits=("test",), progress=False).samples[0]
    scorer = Scorer(run)
    result = scorer.score({k: v for k, v in sample.features.items() if k != "audio"})
    print(f"3/3 one test sample scored without its audio (true score "
          f"{scorer.config.denormalise(sample.target):.1f}):")
    print(json.dumps(result.to_json(), indent=2))
    print(f"\ncheckpoint, metrics.csv and MODEL_CARD.md are in {run}")
    return 0
