"""The built-in ridge baseline: fitted under training masks, stored as arrays, scored with the protocol."""

import numpy as np
import pytest

from limssr_core.data.dataset import load_dataset
from limssr_core.data.synth import SynthOptions, write_synthetic_dataset
from limssr_core.errors import LimssrError
from limssr_core.evaluation.baseline import BASELINE_NAME, RidgeBaseline, fit_baseline


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("baseline") / "data"
    write_synthetic_dataset(root, SynthOptions(modalities={"video": 10, "audio": 6}, n_samples=240, min_length=4,
                                               max_length=10, missing_rate=0.2, seed=3))
    return load_dataset(root, progress=False)


def masks_of(samples, names):
    return [tuple(n in s.features for n in names) for s in samples]


def test_it_finds_the_planted_signal_and_uses_each_modality_alone(dataset):
    names, train, test = dataset.modality_names, dataset.split("train"), dataset.split("test")
    baseline = fit_baseline(train, masks_of(train, names), names, {"video": 10, "audio": 6})
    from scipy.stats import spearmanr

    full = baseline.predict(test, masks_of(test, names))
    assert spearmanr(full, [s.target for s in test])[0] > 0.5
    video_only = [s for s in test if "video" in s.features]
    alone = baseline.predict(video_only, [(True, False)] * len(video_only))
    assert spearmanr(alone, [s.target for s in video_only])[0] > 0.3
    design = baseline.design(video_only[:1], [(True, False)])
    assert design.shape == (1, 2 * 10 + 2 * 6 + 2) and np.all(design[0, 20:32] == 0)  # audio masked: zeros
    assert design[0, -2:].tolist() == [1.0, 0.0]  # and the mask indicators say so


def test_it_is_stored_as_arrays_and_reloads_exactly(dataset, tmp_path):
    names, train = dataset.modality_names, dataset.split("train")
    baseline = fit_baseline(train, masks_of(train, names), names, {"video": 10, "audio": 6})
    baseline.save(tmp_path)
    assert (tmp_path / BASELINE_NAME).read_bytes()[:8] != b"\x80\x04\x95"[:8]  # safetensors, not a pickle
    reloaded = RidgeBaseline.load(tmp_path)
    test = dataset.split("test")
    np.testing.assert_array_equal(baseline.predict(test, masks_of(test, names)),
                                  reloaded.predict(test, masks_of(test, names)))
    assert reloaded.alpha == baseline.alpha and reloaded.n_train == len(train)
    with pytest.raises(LimssrError, match="no built-in baseline"):
        RidgeBaseline.load(tmp_path / "elsewhere")


def test_the_training_masks_are_what_it_learns_from(dataset):
    names, train = dataset.modality_names, dataset.split("train")
    never_audio = [(m[0] or not m[1], False) for m in masks_of(train, names)]  # audio withheld for everyone
    baseline = fit_baseline(train, never_audio, names, {"video": 10, "audio": 6})
    audio_block = baseline.coef[20:32]
    assert np.allclose(audio_block, 0.0)  # a withheld modality is never read, so it gets no weight
