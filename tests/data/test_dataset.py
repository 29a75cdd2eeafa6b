import numpy as np
import pytest

from limssr_core.data.dataset import load_dataset, sample_from_folder
from limssr_core.data.generic import LabelRow, feature_path, read_labels, write_labels
from limssr_core.data.synth import SynthOptions, generate_features
from limssr_core.errors import DataError


def test_absent_files_become_missing_modalities_not_zeros(synth_dataset):
    dataset = load_dataset(synth_dataset, progress=False)
    assert len(dataset.samples) == 40
    availability = dataset.availability()
    assert all(0 < n < 40 for n in availability.values())
    for sample in dataset.samples:
        for name in dataset.modality_names:
            assert (name in sample.features) == feature_path(synth_dataset, name, sample.sample_id).exists()
        assert 0.0 <= sample.target <= 1.0


def first_file(root, modality="video"):
    return sorted((root / "features" / modality).glob("*.npy"))[0]


@pytest.mark.parametrize("bad, message", [
    (lambda: np.zeros((5, 7), np.float32), "expected [T, 12]"),
    (lambda: np.zeros((5, 12), np.float64), "dtype is float64"),
    (lambda: np.full((5, 12), np.nan, np.float32), "NaN/Inf"),
    (lambda: np.zeros((0, 12), np.float32), "no segments"),
])
def test_bad_feature_file_is_an_error_naming_it(synth_dataset, bad, message):
    path = first_file(synth_dataset)
    np.save(path, bad())
    with pytest.raises(DataError) as err:
        load_dataset(synth_dataset, progress=False)
    assert path.name in str(err.value) and message in str(err.value)


def test_truncated_feature_file_is_an_error_naming_it(synth_dataset):
    path = first_file(synth_dataset)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match=path.name):
        load_dataset(synth_dataset, progress=False)


def test_sample_without_any_feature_file_is_an_error(synth_dataset):
    rows = read_labels(synth_dataset)
    write_labels(synth_dataset, rows + [LabelRow("ghost", 10.0, "train")])
    with pytest.raises(DataError, match="ghost"):
        load_dataset(synth_dataset, progress=False)


def test_score_outside_range_is_an_error_naming_the_sample(synth_dataset):
    rows = read_labels(synth_dataset)
    rows[0].score = 1000.0
    write_labels(synth_dataset, rows)
    with pytest.raises(DataError, match=rf"{rows[0].sample_id}.*outside"):
        load_dataset(synth_dataset, progress=False)


def test_bad_labels_are_errors_naming_the_field(synth_dataset):
    path = synth_dataset / "labels.csv"
    text = path.read_text().splitlines()
    path.write_text("\n".join([text[0], text[1].replace(",train", ",holdout").replace(",val", ",holdout")
                               .replace(",test", ",holdout")] + text[2:]) + "\n")
    with pytest.raises(DataError, match="line 2: split 'holdout'"):
        read_labels(synth_dataset)
    path.write_text("id,value\n")
    with pytest.raises(DataError, match="missing column"):
        read_labels(synth_dataset)


def test_missing_dataset_json_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="dataset.json: not found"):
        load_dataset(tmp_path, progress=False)


def test_sample_folder_for_prediction(tmp_path):
    np.save(tmp_path / "video.npy", np.ones((3, 12), np.float32))
    sample = sample_from_folder(tmp_path, {"video": 12, "audio": 8})
    assert set(sample.features) == {"video"}
    np.save(tmp_path / "lidar.npy", np.ones((3, 2), np.float32))
    with pytest.raises(DataError, match="lidar.npy"):
        sample_from_folder(tmp_path, {"video": 12, "audio": 8})


def test_synthetic_signal_is_deterministic_and_every_modality_is_informative():
    options = SynthOptions(modalities={"a": 6, "b": 5}, n_samples=400, seed=7)
    spec, samples = generate_features(options)
    _, again = generate_features(options)
    assert [s[1] for s in samples] == [s[1] for s in again]
    assert np.array_equal(samples[0][3]["a"], again[0][3]["a"])
    assert {s[2] for s in samples} == {"train", "val", "test"}
    scores = np.array([s[1] for s in samples])
    assert 0 <= scores.min() and scores.max() <= 100
    for name in ("a", "b"):  # a linear probe on the time-mean recovers the score from one modality
        x = np.stack([s[3][name].mean(axis=0) for s in samples])
        x = np.c_[x, np.ones(len(x))]
        fit = x @ np.linalg.lstsq(x, scores, rcond=None)[0]
        assert np.corrcoef(fit, scores)[0, 1] > 0.5
