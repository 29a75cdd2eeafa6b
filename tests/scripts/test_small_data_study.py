"""scripts/small_data_study.py: the per-subset table of chosen runs, read from the study's results file."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "small_data_study", Path(__file__).resolve().parents[2] / "scripts" / "small_data_study.py")
small_data_study = importlib.util.module_from_spec(spec)
spec.loader.exec_module(small_data_study)

SUBSETS = (["video"], ["audio"], ["video", "audio"])


def summary(*rhos: float) -> dict:
    """A results.json test summary: one rho per subset (the last is the full set), then the two headline figures."""
    return {"subsets": [{"modalities": m, "spearman": r} for m, r in zip(SUBSETS, rhos)],
            "full": {"spearman": rhos[-1]}, "average_incomplete": {"spearman": sum(rhos[:-1]) / 2}}


def test_subset_table_shows_each_baseline_once_and_members_by_name():
    shared = summary(0.5, 0.4, 0.6)
    results = {
        "60/a": {"model": summary(0.1, 0.2, 0.3), "baseline": shared},
        "60/b": {"model": summary(0.7, 0.8, 0.9), "baseline": dict(shared)},  # same masks: an equal baseline
        "60/c": {"model": summary(0.0, 0.0, 0.0), "baseline": summary(0.2, 0.2, 0.2),
                 "members": {"pair": summary(0.3, 0.35, 0.45)}},
    }
    lines = small_data_study.subset_table(results, ["60/a", "60/b", "60/c:pair"]).splitlines()
    assert lines[0] == "| subset | 60/a | baseline of 60/a | 60/b | 60/c:pair | baseline of 60/c |"
    assert lines[2] == "| video | 0.100 | 0.500 | 0.700 | 0.300 | 0.200 |"
    assert lines[4] == "| video + audio | 0.300 | 0.600 | 0.900 | 0.450 | 0.200 |"
    assert lines[-1].split(" | ")[4] == "**0.450 / 0.325**"  # the member's figures, not the run's
