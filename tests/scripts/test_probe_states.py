"""scripts/probe_states.py: ridge probes on a checkpoint's internal states under one modality subset."""

import importlib.util
import sys
from pathlib import Path

import pytest

from limssr_core.data.dataset import load_dataset
from limssr_core.data.synth import SynthOptions, write_synthetic_dataset
from limssr_core.model.backbone import load_backbone
from limssr_core.model.checkpoint import save_checkpoint
from limssr_core.model.limssr import LimssrModel
from limssr_core.training.run import build_config

spec = importlib.util.spec_from_file_location(
    "probe_states", Path(__file__).resolve().parents[2] / "scripts" / "probe_states.py")
probe_states = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe_states)


@pytest.fixture
def untrained(tmp_path):
    data = tmp_path / "data"
    write_synthetic_dataset(data, SynthOptions(modalities={"video": 12, "audio": 8}, n_samples=120, min_length=4,
                                               max_length=10, missing_rate=0.0, seed=5))
    config = build_config(load_dataset(data, progress=False), model={"backbone": "tiny-random"}, length=8)
    save_checkpoint(LimssrModel(config, load_backbone("tiny-random")), tmp_path / "model")
    return tmp_path / "model", data


def test_each_stage_is_probed_and_the_planted_signal_is_found_in_the_input(untrained, monkeypatch, capsys):
    checkpoint, data = untrained
    monkeypatch.setattr(sys, "argv", ["probe_states.py", str(checkpoint), str(data), "--present", "video"])
    assert probe_states.main() == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][1:]
    assert [row[0].lstrip("| ") for row in rows] == ["pooled input", "block states", "fusion states", "model score"]
    assert int(rows[0][1]) == 2 * 12  # mean and std of the present modality's 12 dimensions
    assert float(rows[0][3].rstrip(" |")) > 0.5  # the synthetic score is linear in the segment means


def test_the_states_have_one_row_per_sample_and_only_present_blocks(untrained):
    checkpoint, data = untrained
    from limssr_core.model.checkpoint import load_checkpoint

    model = load_checkpoint(checkpoint)
    samples = load_dataset(data, progress=False).split("test")
    states = probe_states.stage_states(model, samples, (True, False))
    hidden = model.backbone.get_input_embeddings().weight.shape[1]
    assert {name: array.shape for name, array in states.items()} == {
        "pooled input": (len(samples), 24), "block states": (len(samples), hidden),
        "fusion states": (len(samples), hidden), "model score": (len(samples), 1)}
    assert model.read_out.__name__ == "read_out"  # the capture is undone


def test_an_unknown_modality_is_refused(untrained, monkeypatch):
    checkpoint, data = untrained
    monkeypatch.setattr(sys, "argv", ["probe_states.py", str(checkpoint), str(data), "--present", "smell"])
    with pytest.raises(SystemExit, match="not modalities of the checkpoint"):
        probe_states.main()
