"""How long the default `train` takes on a coach-sized dataset: 30 samples, 30 epochs, the embedded backbone.

    .venv/bin/python bench/train_bench.py                       # issue #13 target: <= 5 minutes on 2 CPU cores
    .venv/bin/python bench/train_bench.py --samples 60 --epochs 30

The whole `train` is timed, as a user runs it: validation carved from the samples every epoch, then (`--refit auto`,
the default, with a carved split) the second run on every sample up to the chosen epoch, the built-in baseline,
calibration and the card. `--refit off` times the first run alone. The features are random (timing does not depend
on their values), with the dims of the embedded extractors and routines longer than the crop, so every training
sequence has the full T segments per block.
Prints its figures and a JSON line; `--out` also writes them to a file (bench/results/).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures_io import report_figures  # noqa: E402
from training_step import LENGTH, write_coach_dataset  # noqa: E402

from limssr_core.data.dataset import load_dataset  # noqa: E402
from limssr_core.runtime import cpu_threads, resolve_precision, resolve_train_attention  # noqa: E402
from limssr_core.training.run import build_config, train  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30, help="labelled samples (all split=train)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--precision", default="auto", help="the training's mixed_precision (auto: what `train` does)")
    parser.add_argument("--refit", default="auto", choices=("auto", "on", "off"), help="the training's refit (auto: "
                        "what `train` does; with a carved split it refits)")
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write_coach_dataset(data, args.samples)  # a coach's labelled routines: validation is carved
        dataset = load_dataset(data, progress=False)
        config = build_config(dataset, length=LENGTH, model={"backbone": args.backbone},
                              training={"epochs": args.epochs, "mixed_precision": args.precision,
                                        "refit": args.refit})
        started = time.perf_counter()
        result = train(config, dataset, Path(tmp) / "run", device="cpu", progress=False)
        seconds = time.perf_counter() - started
    epoch_seconds = [row["seconds"] for row in result.history]  # both runs' epochs when it refitted
    refitted = result.keep == "refit"
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {cpu_threads()} torch threads",
        "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "backbone": args.backbone,
        "samples": args.samples, "epochs": args.epochs, "precision": args.precision,
        "precision_in_effect": resolve_precision(args.precision, "cpu"),
        "train_attention_in_effect": resolve_train_attention(config.training.train_attention, "cpu"),
        "batch_size": config.training.batch_size, "train_minutes_total": round(seconds / 60, 2),
        "seconds_per_epoch_median": round(sorted(epoch_seconds)[len(epoch_seconds) // 2], 2),
        "refit": args.refit, "refit_epochs": result.best_epoch if refitted else 0,
        "first_run_minutes": round(sum(epoch_seconds[:args.epochs]) / 60, 2),  # its validated epochs
        "target_minutes": 5.0,
    }
    report_figures(figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
