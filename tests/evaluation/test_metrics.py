"""Metrics of the evaluation protocol, checked against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from limssr_core.evaluation.metrics import (
    all_modality_subsets,
    fisher_z_mean,
    markdown_table,
    mse_in_units,
    spearman,
    summarise,
)


def test_spearman_basic_and_undefined_cases() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks: pred (1,2,3), target (1,3,2): d = (0,-1,1), rho = 1 - 6*2/(3*8) = 0.5
    assert spearman([0.1, 0.2, 0.3], [5.0, 9.0, 7.0]) == pytest.approx(0.5)
    assert math.isnan(spearman([1.0], [2.0]))
    assert math.isnan(spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="length"):
        spearman([1, 2, 3], [1, 2])


def test_mse_in_units_scales_by_range_squared() -> None:
    pred, target = [0.5, 0.2], [0.4, 0.4]
    # normalised squared errors 0.01 and 0.04 -> mean 0.025; range 130 -> 0.025 * 16900 = 422.5
    assert mse_in_units(pred, target, 130) == pytest.approx(422.5)
    assert mse_in_units(pred, target, (10.0, 35.0)) == pytest.approx(0.025 * 625)
    with pytest.raises(ValueError):
        mse_in_units(pred, target, (5.0, 5.0))


def test_fisher_z_mean_hand_computed() -> None:
    expected = math.tanh((math.atanh(0.5) + math.atanh(0.9)) / 2)
    assert fisher_z_mean([0.5, 0.9]) == pytest.approx(expected)
    assert fisher_z_mean([0.5, float("nan"), 0.9]) == pytest.approx(expected)
    assert fisher_z_mean([1.0]) == pytest.approx(0.999999)  # clipped, not inf
    assert math.isnan(fisher_z_mean([float("nan")]))


def test_all_modality_subsets_order() -> None:
    subsets = all_modality_subsets(["video", "audio", "flow"])
    assert subsets == [
        ("video",), ("audio",), ("flow",),
        ("video", "audio"), ("video", "flow"), ("audio", "flow"),
        ("video", "audio", "flow"),
    ]
    assert len(all_modality_subsets(["a", "b", "c", "d"])) == 15
    with pytest.raises(ValueError):
        all_modality_subsets(["a", "a"])


def _results() -> list[dict]:
    values = {
        ("video",): (0.6, 20.0), ("audio",): (0.3, 40.0), ("flow",): (0.5, 25.0),
        ("audio", "video"): (0.7, 15.0), ("video", "flow"): (0.75, 14.0), ("audio", "flow"): (0.55, 22.0),
        ("flow", "video", "audio"): (0.95, 5.0),  # the full set, given in another order
    }
    return [{"modalities": list(k), "spearman": r, "mse": m, "n": 100} for k, (r, m) in values.items()]


def test_summarise_excludes_full_set_from_average() -> None:
    summary = summarise(_results(), ["video", "audio", "flow"])
    rhos = [0.6, 0.3, 0.5, 0.7, 0.75, 0.55]
    expected_rho = math.tanh(sum(math.atanh(r) for r in rhos) / 6)
    expected_mse = (20.0 + 40.0 + 25.0 + 15.0 + 14.0 + 22.0) / 6
    assert summary["average_incomplete"]["spearman"] == pytest.approx(expected_rho)
    assert summary["average_incomplete"]["mse"] == pytest.approx(expected_mse)
    assert summary["full"] == {"spearman": 0.95, "mse": 5.0, "constant": False}
    assert [s["modalities"] for s in summary["subsets"]] == [list(s) for s in all_modality_subsets(
        ["video", "audio", "flow"])]
    assert summary["subsets"][3] == {"modalities": ["video", "audio"], "spearman": 0.7, "mse": 15.0, "n": 100,
                                     "constant": False}

    table = markdown_table(summary)
    assert table.count("\n") == 2 + 7 + 2
    assert "| video + audio + flow | 100 | 0.950 | 5.00 |" in table
    assert f"{expected_rho:.3f}" in table and f"{expected_mse:.2f}" in table


def test_summarise_requires_full_set_and_known_modalities() -> None:
    results = [r for r in _results() if len(r["modalities"]) < 3]
    with pytest.raises(ValueError, match="full modality set"):
        summarise(results, ["video", "audio", "flow"])
    with pytest.raises(ValueError, match="not a non-empty subset"):
        summarise(_results() + [{"modalities": ["text"], "spearman": 0.1, "mse": 1.0, "n": 1}],
                  ["video", "audio", "flow"])


def test_metrics_do_not_import_torch() -> None:
    import limssr_core.evaluation.metrics as metrics

    assert "torch" not in vars(metrics)
    assert np.isfinite(spearman(np.arange(5.0), np.arange(5.0) ** 2))


def test_a_collapsed_subset_counts_as_zero_and_is_marked_constant():
    from limssr_core.evaluation.evaluate import selection_score
    from limssr_core.evaluation.metrics import is_constant, markdown_table, summarise

    assert is_constant([0.4, 0.4, 0.4]) and not is_constant([0.4]) and not is_constant([0.1, 0.2])
    results = [{"modalities": ["a"], "spearman": float("nan"), "mse": 1.0, "n": 5, "constant": True},
               {"modalities": ["b"], "spearman": 0.8, "mse": 1.0, "n": 5},
               {"modalities": ["a", "b"], "spearman": 0.8, "mse": 1.0, "n": 5}]
    summary = summarise(results, ["a", "b"])
    assert summary["subsets"][0]["constant"] and not summary["subsets"][1]["constant"]
    # the constant subset is rho = 0 in the average, not skipped (which would give 0.8)
    assert summary["average_incomplete"]["spearman"] == pytest.approx(np.tanh(np.arctanh(0.8) / 2))
    collapsed = summarise([dict(r, spearman=float("nan"), constant=True) for r in results], ["a", "b"])
    assert selection_score(collapsed, "average") == 0.0 < selection_score(summary, "average")
    assert selection_score(collapsed, "full") == 0.0
    table = markdown_table(summary)
    assert "| a | 5 | constant |" in table


def test_float_noise_around_one_value_is_constant_and_every_table_says_so():
    from limssr_core.evaluation.metrics import comparison_table, is_constant, rho_text, summarise

    noise = 0.5 + np.array([0.0, 3e-7, -2e-7, 5e-7])  # a collapsed head's float32 jitter: rho would rank noise
    assert is_constant(noise) and not is_constant(0.5 + np.array([0.0, 1e-4, 2e-4, 3e-4]))
    assert is_constant([40.0, 40.00005], tolerance=1e-4) and not is_constant([40.0, 40.00005])
    model = summarise([{"modalities": ["a"], "spearman": 0.2, "mse": 1.0, "n": 4, "constant": True},
                       {"modalities": ["a", "b"], "spearman": 0.9, "mse": 1.0, "n": 4, "constant": True},
                       {"modalities": ["b"], "spearman": 0.5, "mse": 1.0, "n": 4}], ["a", "b"])
    baseline = summarise([{"modalities": m, "spearman": 0.4, "mse": 2.0, "n": 4} for m in (["a"], ["b"], ["a", "b"])],
                         ["a", "b"])
    table = comparison_table(model, baseline)
    assert "| a | 4 | constant | 0.400 |" in table and "| **Full set** | | constant | 0.400 |" in table
    assert rho_text(model["full"]) == "constant" and rho_text(baseline["full"]) == "0.400"
