"""synth-diagnose: which score components the predictions follow, on plans with a known formula."""

import math

import pytest

from limssr_core.errors import LimssrError
from limssr_core.synth.diagnose import factor_report
from limssr_core.synth.routines import WEIGHTS, plan_routine, score_components


@pytest.fixture(scope="module")
def plans():
    return [plan_routine(0, i) for i in range(60)]


def test_a_model_blind_to_timing_misses_exactly_timing(plans):
    # predictions = the formula without its timing term: the error is 22 * T (routines near the clip aside)
    blind = {p.sample_id: p.score - WEIGHTS["timing"] * score_components(p)["timing"] for p in plans}
    report = factor_report(blind, plans)
    rows = {r.component: r for r in report.rows}
    assert report.n == 60
    assert rows["timing"].missed > 0.95
    assert rows["timing"].follows < rows["timing"].share - 0.2
    for name in ("difficulty", "smoothness", "performance", "falls"):
        assert rows[name].follows > 0.2 and abs(rows[name].missed) < 0.3
    assert "| timing |" in report.to_markdown()


def test_a_perfect_model_has_no_error_to_explain(plans):
    report = factor_report({p.sample_id: p.score for p in plans}, plans)
    assert report.spearman == pytest.approx(1.0)
    assert all(math.isnan(r.missed) for r in report.rows)
    assert all(r.follows == pytest.approx(r.share) for r in report.rows)


def test_too_few_matched_routines_is_a_clear_error(plans):
    with pytest.raises(LimssrError, match="at least 3"):
        factor_report({"routine_0000": 50.0, "not_a_routine": 1.0}, plans)
