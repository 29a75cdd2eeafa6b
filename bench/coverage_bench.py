"""Does a checkpoint's 90% interval cover 90% of held-out scores? Calibrate on half of a labelled split, measure on
the other half, per modality subset; `--write` then stores that calibration in the checkpoint (no retraining).

    .venv/bin/python bench/coverage_bench.py --data build/small_data/features                  # the bundled checkpoint
    .venv/bin/python bench/coverage_bench.py --data build/small_data/features --write --out bench/results/x.json

`--data` is a feature dataset the checkpoint was not trained on in its `--split` (the bundled checkpoint: the demo
build's 180 test routines, which `scripts/small_data_study.py --only data` renders and extracts with the embedded
extractors). Its samples are split by sorted sample id, alternately, into a calibration half and a coverage half;
percentiles come from the dataset's `train` rows. Prints, per subset, the coverage of the 90% interval on the
coverage half and its mean width, and a JSON line.

`--stored` measures instead the calibration the checkpoint already carries (e.g. the bundled checkpoint's, made on
its validation routines at build time) on the whole split: one evaluation, nothing recalibrated or written.

    .venv/bin/python bench/coverage_bench.py --data build/demo/features --stored   # the bundled checkpoint's own
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limssr_core.data.dataset import load_dataset  # noqa: E402
from limssr_core.evaluation.evaluate import evaluate_model  # noqa: E402
from limssr_core.inference.calibration import DEFAULT_LEVEL, Calibration, calibration_from_rows  # noqa: E402
from limssr_core.model.checkpoint import check_compatible, load_checkpoint, update_config  # noqa: E402


def coverage_table(calibration, rows: list[dict], score_range, level: float = DEFAULT_LEVEL) -> dict:
    """Per subset: n, coverage of the level interval and its mean width on evaluation rows (score units)."""
    hits, widths = defaultdict(list), defaultdict(list)
    for row in rows:
        interval = calibration.interval(row["prediction"], row["subset"].split("+"), score_range, level)
        if interval.low is None:
            continue
        hits[row["subset"]].append(interval.low <= row["target"] <= interval.high)
        widths[row["subset"]].append(interval.high - interval.low)
    return {key: {"n": len(hits[key]), "coverage": round(float(np.mean(hits[key])), 3),
                  "mean_width": round(float(np.mean(widths[key])), 2)} for key in hits}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="assets/demo_checkpoint")
    parser.add_argument("--data", required=True, help="feature dataset with labels")
    parser.add_argument("--split", default="test", help="the labelled split the checkpoint never trained on")
    parser.add_argument("--write", action="store_true", help="store the calibration half's calibration in the "
                                                            "checkpoint (its config is rewritten; weights untouched)")
    parser.add_argument("--stored", action="store_true", help="measure the checkpoint's own stored calibration on "
                                                             "the whole split instead of calibrating on half of it")
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    args = parser.parse_args()
    if args.stored and args.write:
        parser.error("--stored measures the stored calibration; --write would replace it")

    model = load_checkpoint(args.checkpoint)
    dataset = load_dataset(args.data, progress=False)
    check_compatible(model.config, dataset.spec, source=args.data)
    samples = sorted(dataset.split(args.split), key=lambda s: s.sample_id)
    if len(samples) < 20:
        raise SystemExit(f"{args.data}: split {args.split!r} has {len(samples)} samples; at least 20 are needed")
    started = time.perf_counter()
    if args.stored:
        calibration = Calibration.from_json(model.config.calibration)
        if calibration is None:
            raise SystemExit(f"{args.checkpoint} carries no calibration; run without --stored")
        calibration_half, coverage_half = [], samples
        train_labels = []
    else:
        calibration_half, coverage_half = samples[0::2], samples[1::2]
        _, calibration_rows = evaluate_model(model, calibration_half, progress=False)
        train_labels = [model.config.denormalise(s.target) for s in dataset.split("train") if s.target is not None]
        calibration = calibration_from_rows(calibration_rows, f"{args.split} (half of it, by sample id)",
                                            train_labels)
    _, coverage_rows = evaluate_model(model, coverage_half, progress=False)
    table = coverage_table(calibration, coverage_rows, model.config.score_range)
    all_hits = [v["coverage"] * v["n"] for v in table.values()]
    overall = round(sum(all_hits) / max(1, sum(v["n"] for v in table.values())), 3)
    full = "+".join(model.config.modality_names)
    figures = {"machine": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d"),
               "checkpoint": args.checkpoint, "data": args.data, "level": DEFAULT_LEVEL,
               "calibration": calibration.split if args.stored else "half of the split",
               "n_calibration": len(calibration_half), "n_coverage": len(coverage_half),
               "n_train_labels": len(train_labels), "coverage_full_set": table.get(full, {}).get("coverage"),
               "coverage_all_subsets": overall, "seconds": round(time.perf_counter() - started, 1),
               "per_subset": table}
    source = f"the stored calibration ({calibration.split})" if args.stored else f"{len(calibration_half)} samples"
    print(f"{DEFAULT_LEVEL:.0%} intervals: calibrated on {source}, measured on {len(coverage_half)}")
    print(f"{'subset':<32} {'n':>4} {'coverage':>9} {'mean width':>11}")
    for key, row in sorted(table.items(), key=lambda kv: (-len(kv[0].split('+')), kv[0])):
        print(f"{key:<32} {row['n']:>4} {row['coverage']:>9.3f} {row['mean_width']:>11.2f}")
    print(f"all subsets: coverage {overall:.3f}")
    print("JSON " + json.dumps(figures))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(figures, indent=1) + "\n")
    if args.write:
        model.config.calibration = calibration.to_json()
        update_config(args.checkpoint, model.config)
        print(f"wrote the calibration into {args.checkpoint}/limssr_config.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
