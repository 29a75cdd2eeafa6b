"""Scoring time of a refitted run as the pair (`--refit-keep both`, the default) against its refitted model alone.

    .venv/bin/python bench/refit_pair_latency.py RUN DATA [--samples 10] [--timeline 2] [--out FILE]

RUN is a refitted run folder (training/refit.py: the refitted model at the top, the first run in `selection/`);
DATA a dataset with a test split. Two copies of RUN are scored side by side in one process on the same routines'
features, in turn: the pair (the top config with training.refit_keep = both, so a run of format 4 or earlier is
measured as it would load today) and the refitted model alone (the copy without `selection/`). Each routine goes
through `Scorer.score`, the path of `predict`, `score` and the app (every scoring window of the whole routine);
`--timeline` routines also with the occlusion timeline. Prints seconds per routine for both and their ratio.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures_io import report_figures  # noqa: E402

from limssr_core.data.dataset import load_dataset  # noqa: E402
from limssr_core.inference.scorer import Scorer  # noqa: E402
from limssr_core.model.hub import CONFIG_NAME, SELECTION_DIR  # noqa: E402
from limssr_core.runtime import cpu_threads  # noqa: E402


def copies(run: Path, tmp: Path) -> tuple[Path, Path]:
    """(the pair, the refitted model alone) as checkpoint folders under tmp."""
    if not (run / SELECTION_DIR / CONFIG_NAME).is_file():
        raise SystemExit(f"{run}: not a refitted run (no {SELECTION_DIR}/{CONFIG_NAME})")
    pair, alone = tmp / "pair", tmp / "alone"
    shutil.copytree(run, pair)
    raw = json.loads((pair / CONFIG_NAME).read_text())
    raw["training"]["refit_keep"] = "both"
    raw["format_version"] = max(5, int(raw.get("format_version", 1)))
    (pair / CONFIG_NAME).write_text(json.dumps(raw, indent=2))
    shutil.copytree(run, alone, ignore=shutil.ignore_patterns(SELECTION_DIR))
    return pair, alone


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("data")
    parser.add_argument("--samples", type=int, default=10, help="test routines scored")
    parser.add_argument("--timeline", type=int, default=2, help="of those, routines also scored with the timeline")
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    args = parser.parse_args()
    samples = load_dataset(args.data, progress=False).split("test")[:args.samples]
    with tempfile.TemporaryDirectory() as tmp:
        pair_folder, alone_folder = copies(Path(args.run), Path(tmp))
        scorers = {"pair": Scorer(pair_folder), "alone": Scorer(alone_folder)}
        assert len(scorers["pair"].model.members) == 2
        seconds = {name: [] for name in scorers}
        timeline = {name: [] for name in scorers}
        for name, scorer in scorers.items():  # warm-up: first calls allocate
            scorer.score(dict(samples[0].features))
        for i, sample in enumerate(samples):
            for name, scorer in scorers.items():
                started = time.perf_counter()
                scorer.score(dict(sample.features))
                seconds[name].append(time.perf_counter() - started)
                if i < args.timeline:
                    started = time.perf_counter()
                    scorer.score(dict(sample.features), timeline=True)
                    timeline[name].append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {cpu_threads()} torch threads",
        "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "routines": len(samples),
        "score_s_median_pair": round(median["pair"], 3), "score_s_median_alone": round(median["alone"], 3),
        "score_ratio_pair_over_alone": round(median["pair"] / median["alone"], 2),
    }
    if args.timeline:
        figures |= {"timeline_s_median_pair": round(statistics.median(timeline["pair"]), 2),
                    "timeline_s_median_alone": round(statistics.median(timeline["alone"]), 2),
                    "timeline_ratio_pair_over_alone": round(statistics.median(timeline["pair"])
                                                            / statistics.median(timeline["alone"]), 2)}
    report_figures(figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
