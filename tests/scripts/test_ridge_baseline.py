"""scripts/ridge_baseline.py: a linear yardstick on segment-pooled features."""

import importlib.util
from pathlib import Path

import pytest

from limssr_core.data.synth import SynthOptions, write_synthetic_dataset
from limssr_core.errors import LimssrError

spec = importlib.util.spec_from_file_location(
    "ridge_baseline", Path(__file__).resolve().parents[2] / "scripts" / "ridge_baseline.py")
ridge_baseline = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ridge_baseline)


def test_the_planted_signal_is_found_and_printed(tmp_path, capsys):
    root = tmp_path / "data"
    write_synthetic_dataset(root, SynthOptions(modalities={"video": 12, "audio": 8}, n_samples=200, min_length=4,
                                               max_length=10, missing_rate=0.0, seed=5))
    assert ridge_baseline.main(["--data", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("all modalities: ") and lines[2].startswith("video alone: ")
    assert float(lines[1].split(": ")[1]) > 0.5  # the planted signal is linear in the segment means


def test_too_few_complete_samples_is_a_clear_error(synth_dataset):
    with pytest.raises(LimssrError, match="need at least 5 samples"):
        ridge_baseline.main(["--data", str(synth_dataset), "--eval", "no-such-split"])
