"""Round-trip tests: small files in the published release formats -> generic dataset -> same arrays and scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from limssr_core.commands import main
from limssr_core.data.convert import convert_benchmark
from limssr_core.data.generic import feature_path, load_features, load_spec, read_labels
from limssr_core.errors import DataError

RNG = np.random.default_rng(0)
PAMFN_SUFFIXES = {"video": "rgb_VST", "flow": "flow_I3D", "audio": "audio_AST"}
DIMS = {"video": 8, "flow": 6, "audio": 4}


def _save_dict(path: Path, table: dict) -> None:
    np.save(path, table, allow_pickle=True)


def _random(t: int, d: int, dtype=np.float64) -> np.ndarray:
    return RNG.standard_normal((t, d)).astype(dtype)


def _labels(root: Path) -> dict[str, tuple[float, str]]:
    return {row.sample_id: (row.score, row.split) for row in read_labels(root)}


# --------------------------------------------------------------------------------------------- RG


def _write_rg(src: Path, skip: dict[str, set[str]] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Ball_001..003 (train: 001, 002; test: 003) plus a Hoop sample that must be filtered out."""
    skip = skip or {}
    names = ["Ball_001", "Ball_002", "Ball_003"]
    arrays = {m: {n: _random(5 + i, DIMS[m]) for i, n in enumerate(names) if n not in skip.get(m, set())}
              for m in DIMS}
    for modality, suffix in PAMFN_SUFFIXES.items():
        _save_dict(src / f"Ball_{suffix}.npy", arrays[modality])
    header = "Video_Name Difficulty_Score Execution_Score Total_Score Penalty Video_length\n"
    (src / "train.txt").write_text(header + "Ball_001 10.50 8.30 18.80 0.00 92\n"
                                   "Hoop_001 9.00 7.00 16.00 0.00 90\n"
                                   "Ball_002 11.00 9.00 20.00 0.00 95\n")
    (src / "test.txt").write_text(header + "Ball_003 8.00 6.50 14.50 0.00 88\n")
    return arrays


def test_rg_round_trip(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    arrays = _write_rg(src, skip={"audio": {"Ball_002"}})
    spec = convert_benchmark("rg", src, out, "Ball", progress=False, allow_pickle=True)

    assert spec.score_name == "Ball" and spec.score_range == (0.0, 25.0)
    assert {m: i.dim for m, i in spec.modalities.items()} == DIMS
    assert spec.modalities["video"].extractor == "video-swin-b@pamfn"
    assert load_spec(out) == spec
    assert _labels(out) == {"Ball_001": (18.8, "train"), "Ball_002": (20.0, "train"), "Ball_003": (14.5, "test")}
    for modality, table in arrays.items():
        for name, array in table.items():
            loaded = load_features(feature_path(out, modality, name), DIMS[modality])
            assert loaded.dtype == np.float32
            np.testing.assert_array_equal(loaded, array.astype(np.float32))
    assert not feature_path(out, "audio", "Ball_002").exists()


# --------------------------------------------------------------------------------------------- Fis-V


def _write_fisv(src: Path, header: bool, first_line: str = "1 28.71 29.36 1") -> dict[str, dict[str, np.ndarray]]:
    arrays = {m: {str(i): _random(4, DIMS[m], np.float16 if m == "audio" else np.float64) for i in (1, 2, 3)}
              for m in DIMS}
    del arrays["flow"]["3"]
    for modality, suffix in PAMFN_SUFFIXES.items():
        _save_dict(src / f"FISV_{suffix}.npy", arrays[modality])
    (src / "train.txt").write_text(("id TES PCS deductions\n" if header else "") + f"{first_line}\n2 40.00 35.5 0\n")
    (src / "test.txt").write_text(("id TES PCS deductions\n" if header else "") + "3 12.25 20.00 2\n")
    return arrays


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("score, expected", [("TES", (28.71, 40.0, 12.25)), ("PCS", (29.36, 35.5, 20.0))])
def test_fisv_round_trip_with_and_without_header(tmp_path: Path, header: bool, score: str, expected) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    arrays = _write_fisv(src, header)
    spec = convert_benchmark("fisv", src, out, score.lower(), progress=False, allow_pickle=True)

    assert spec.score_name == score and spec.score_range == (0.0, {"TES": 45.0, "PCS": 40.0}[score])
    assert _labels(out) == {"1": (expected[0], "train"), "2": (expected[1], "train"), "3": (expected[2], "test")}
    for modality, table in arrays.items():
        for name, array in table.items():
            np.testing.assert_array_equal(np.load(feature_path(out, modality, name)), array.astype(np.float32))
    assert not feature_path(out, "flow", "3").exists()


def test_fisv_malformed_first_line_is_an_error_not_a_header(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _write_fisv(src, header=False, first_line="1 28.71 abc 1")
    with pytest.raises(DataError, match=r"train\.txt line 1.*PCS"):
        convert_benchmark("fisv", src, tmp_path / "out", "TES", progress=False, allow_pickle=True)
    assert not (tmp_path / "out").exists()


def test_malformed_label_line_names_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _write_fisv(src, header=True)
    (src / "test.txt").write_text("id TES PCS deductions\n3 12.25 20.00 2\n4 10.0\n")
    with pytest.raises(DataError, match=r"test\.txt line 3: expected 4 fields"):
        convert_benchmark("fisv", src, tmp_path / "out", "TES", progress=False, allow_pickle=True)


def test_nan_features_name_the_sample(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    arrays = _write_fisv(src, header=True)
    arrays["video"]["2"][1, 3] = np.nan
    _save_dict(src / "FISV_rgb_VST.npy", arrays["video"])
    with pytest.raises(DataError, match=r"FISV_rgb_VST\.npy sample '2'.*NaN"):
        convert_benchmark("fisv", src, tmp_path / "out", "PCS", progress=False, allow_pickle=True)
    assert not (tmp_path / "out").exists()


def test_score_out_of_range_names_the_sample(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _write_fisv(src, header=True, first_line="1 46.50 29.36 1")  # TES range is 45
    with pytest.raises(DataError, match=r"sample '1' is outside \[0, 45\]"):
        convert_benchmark("fisv", src, tmp_path / "out", "TES", progress=False, allow_pickle=True)


def test_missing_label_file_and_unknown_score_type(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _write_fisv(src, header=True)
    (src / "test.txt").unlink()
    with pytest.raises(DataError, match=r"test\.txt: label file not found"):
        convert_benchmark("fisv", src, tmp_path / "out", "TES", progress=False, allow_pickle=True)
    with pytest.raises(DataError, match="score type 'SS'"):
        convert_benchmark("fisv", src, tmp_path / "out", "SS", progress=False, allow_pickle=True)


# --------------------------------------------------------------------------------------------- FS1000


def _write_fs1000(src: Path) -> dict[str, dict[str, np.ndarray]]:
    names = ["2018_Olympic_001", "2019_GP_002", "2019_GP_003"]
    arrays = {
        "video": {n: RNG.standard_normal((6, 3, 768)).astype(np.float32) for n in names},
        "audio": {n: _random(6, 768) for n in names[:2]},  # the last sample has no audio
        "flow": {n: _random(6, 1024) for n in names},
    }
    for modality, table in arrays.items():
        (src / f"{modality}_feats").mkdir()
        for name, array in table.items():
            np.save(src / f"{modality}_feats" / f"{name}.npy", array)
    (src / "train_fs1000_new.txt").write_text("2018_Olympic_001 70.5 80.0 8.0 7.5 8.25 8.0 7.75 2.0\n"
                                              "2019_GP_002 40.0 35.0 7.0 6.5 7.0 7.25 7.0 1.0\n")
    (src / "val_fs1000_new.txt").write_text("2019_GP_003 55.0 60.0 7.5 7.0 7.5 7.5 7.5 1.6\n")
    return arrays


def test_fs1000_round_trip_pcs_divided_by_factor(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    arrays = _write_fs1000(src)
    folders = {"video_dir": "video_feats", "audio_dir": "audio_feats", "flow_dir": "flow_feats"}
    spec = convert_benchmark("fs1000", src, out, "PCS", progress=False, **folders)

    assert spec.score_range == (0.0, 60.0)
    assert {m: i.dim for m, i in spec.modalities.items()} == {"video": 768, "flow": 1024, "audio": 768}
    assert spec.modalities["video"].extractor == "timesformer@fs1000"
    labels = _labels(out)
    assert labels["2018_Olympic_001"] == (pytest.approx(40.0), "train")
    assert labels["2019_GP_002"] == (pytest.approx(35.0), "train")
    assert labels["2019_GP_003"] == (pytest.approx(37.5), "test")
    for name, array in arrays["video"].items():
        np.testing.assert_allclose(np.load(feature_path(out, "video", name)), array.mean(axis=1), rtol=1e-6, atol=1e-6)
    for modality in ("audio", "flow"):
        for name, array in arrays[modality].items():
            np.testing.assert_array_equal(np.load(feature_path(out, modality, name)), array.astype(np.float32))
    assert not feature_path(out, "audio", "2019_GP_003").exists()

    spec_ss = convert_benchmark("fs1000", src, tmp_path / "out_ss", "ss", progress=False, **folders)
    assert spec_ss.score_range == (0.0, 10.0)
    assert _labels(tmp_path / "out_ss")["2018_Olympic_001"] == (8.0, "train")


def test_fs1000_video_without_k_axis_is_a_rank_error(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _write_fs1000(src)
    np.save(src / "video_feats" / "2019_GP_002.npy", _random(6, 768))
    with pytest.raises(DataError, match=r"2019_GP_002\.npy: array has rank 2"):
        convert_benchmark("fs1000", src, tmp_path / "out", "TES", progress=False,
                          video_dir="video_feats", audio_dir="audio_feats", flow_dir="flow_feats")


# --------------------------------------------------------------------------------------------- CLI


def test_cli_wiring(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _write_rg(src)
    argv = ["convert", "--benchmark", "rg", "--source", str(src), "--out", str(tmp_path / "o"), "--score", "Ball",
            "--no-progress"]
    assert main(argv) == 2  # a pickled release is refused without the explicit flag
    assert "--allow-pickle" in capsys.readouterr().err and not (tmp_path / "o").exists()
    argv.append("--allow-pickle")
    assert main(argv) == 0
    assert main(argv) == 2  # a user error, like every command's: the output folder exists and is not empty
    assert "already exists" in capsys.readouterr().err
