import numpy as np

from limssr_core.evaluation.evaluate import evaluate_predictor, subset_masks
from limssr_core.evaluation.metrics import all_modality_subsets
from tests.conftest import random_samples


def pair_score(sample, mask) -> float:
    """A prediction that depends on the sample and its mask only (as the model's and the baseline's do)."""
    return (sample.target + 0.1 * sum(mask) + 0.01 * int(sample.sample_id[1:])) % 1.0


def test_every_subset_goes_to_the_predictor_together_once_per_distinct_pair_and_comes_back_in_place(tiny_config):
    samples = random_samples(tiny_config, 7, seed=5)
    del samples[0].features["audio"], samples[1].features["video"], samples[1].features["text"]
    names = tiny_config.modality_names
    calls, predicted = [], []

    def predict(kept, masks):
        calls.append(len(kept))
        predicted.extend((s.sample_id, m) for s, m in zip(kept, masks))
        return np.array([pair_score(s, m) for s, m in zip(kept, masks)])

    summary, rows = evaluate_predictor(predict, samples, names, tiny_config, progress=False, chunk=16)
    every = [(s.sample_id, m) for subset in all_modality_subsets(names)
             for s, m in zip(*subset_masks(samples, names, subset))]
    distinct = set(every)
    # sample 0 (no audio) has the same mask under "video" and "video+audio", sample 1 (audio only) under four subsets
    assert len(distinct) == len(every) - 3 - 3
    assert len(predicted) == len(set(predicted)) and set(predicted) == distinct  # each distinct pair once
    assert len(calls) == -(-len(distinct) // 16) and max(calls) == 16  # full batches, mixed subsets
    one_at_a_time, _ = evaluate_predictor(predict, samples, names, tiny_config, progress=False, chunk=1)
    assert summary == one_at_a_time
    for subset in all_modality_subsets(names):
        kept, masks = subset_masks(samples, names, subset)
        expected = [tiny_config.denormalise(pair_score(s, m)) for s, m in zip(kept, masks)]
        got = [row["prediction"] for row in rows if row["subset"] == "+".join(subset)]
        np.testing.assert_allclose(got, expected)


def test_a_collapsed_subset_gets_no_rho_even_through_float_noise(tiny_config):
    samples = random_samples(tiny_config, 8, seed=3)
    names = tiny_config.modality_names
    noise = np.random.default_rng(0).normal(0, 1e-8, 1000)

    def predict(kept, masks):  # video alone: one value up to float noise; everything else a real ranking
        return np.array([0.5 + noise[i] if m == (True, False, False) else pair_score(s, m)
                         for i, (s, m) in enumerate(zip(kept, masks))])

    summary, _ = evaluate_predictor(predict, samples, names, tiny_config, progress=False)
    by_subset = {tuple(s["modalities"]): s for s in summary["subsets"]}
    assert by_subset[("video",)]["constant"] and np.isnan(by_subset[("video",)]["spearman"])
    assert not by_subset[("audio",)]["constant"] and np.isfinite(by_subset[("audio",)]["spearman"])
