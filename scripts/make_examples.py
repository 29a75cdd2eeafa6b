"""The app's bundled examples (assets/examples/): three synthetic routines and what to expect of each.

    .venv/bin/python scripts/make_examples.py            # render the routines (if absent) and record predictions
    .venv/bin/python scripts/make_examples.py --record   # only re-record the predictions (after a checkpoint rebuild)

The routines come from `synth-routines`' generator (seed 2026, 20-25 s, 320x240): the best-scoring and the
worst-scoring of the first candidates (the worst ends an element in a fall) and the one closest to their middle.
`examples.json` records, per example, its video and commentary files, its true score by the documented formula
(docs/synthetic_routines.md) and the bundled checkpoint's prediction as the app computes it (whole-routine windows,
interval, percentile), with the checkpoint's fingerprint so a test can tell whether the record is current.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from limssr_core.model.checkpoint import checkpoint_fingerprint  # noqa: E402
from limssr_core.synth.generate import render_routine  # noqa: E402
from limssr_core.synth.routines import plan_routine  # noqa: E402

EXAMPLES = ROOT / "assets" / "examples"
RECORD = EXAMPLES / "examples.json"
CHECKPOINT = ROOT / "assets" / "demo_checkpoint"
SEED, CANDIDATES, SIZE = 2026, 24, (320, 240)
NAMES = ("strong", "middling", "with_a_fall")


def choose_plans() -> dict[str, object]:
    plans = [plan_routine(SEED, i, min_seconds=20.0, max_seconds=25.0) for i in range(CANDIDATES)]
    strong = max(plans, key=lambda p: p.score)
    fallen = min((p for p in plans if p.n_falls > 0), key=lambda p: p.score)
    middle = (strong.score + fallen.score) / 2
    middling = min((p for p in plans if p not in (strong, fallen)), key=lambda p: abs(p.score - middle))
    return dict(zip(NAMES, (strong, middling, fallen)))


def render(plans: dict) -> None:
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, plan in plans.items():
            if (EXAMPLES / f"{name}.mp4").is_file():
                continue
            render_routine(plan, tmp, SIZE)
            shutil.move(Path(tmp) / f"{plan.sample_id}.mp4", EXAMPLES / f"{name}.mp4")
            shutil.move(Path(tmp) / f"{plan.sample_id}.txt", EXAMPLES / f"{name}.txt")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def record(plans: dict) -> list[dict]:
    """Score each example with the bundled checkpoint exactly as `score` and the app do."""
    from limssr_core.inference.competition import score_routines

    with tempfile.TemporaryDirectory() as tmp:
        rows = {r.sample_id: r for r in score_routines([EXAMPLES / f"{n}.mp4" for n in plans], CHECKPOINT,
                                                       Path(tmp) / "scores.csv", commentary_dir=EXAMPLES,
                                                       progress=False)}
    entries = []
    for name, plan in plans.items():
        row = rows[name]
        if row.score is None:
            raise SystemExit(f"example {name} could not be scored: {row.error}")
        entries.append({"name": name, "video": f"{name}.mp4", "commentary": f"{name}.txt",
                        "seconds": round(plan.duration_s, 2), "falls": plan.n_falls, "true_score": round(plan.score, 2),
                        "predicted_score": round(row.score, 2), "interval": [_round(row.interval_low), _round(row.interval_high)],
                        "percentile": _round(row.percentile), "present": row.present})
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="only re-record the predictions")
    args = parser.parse_args()
    plans = choose_plans()
    if not args.record:
        render(plans)
    entries = record(plans)
    RECORD.write_text(json.dumps({"checkpoint": "assets/demo_checkpoint",
                                  "checkpoint_fingerprint": checkpoint_fingerprint(CHECKPOINT),
                                  "examples": entries}, indent=1) + "\n")
    for entry in entries:
        print(f"{entry['name']}: true {entry['true_score']:.1f}, predicted {entry['predicted_score']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
