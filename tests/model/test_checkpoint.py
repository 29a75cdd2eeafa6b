import json

import pytest
import torch

from limssr_core.model.checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    check_compatible,
    load_checkpoint,
    read_card,
    save_checkpoint,
)
from limssr_core.data.collate import collate
from limssr_core.data.generic import DatasetSpec, ModalityInfo
from limssr_core.errors import CheckpointMismatchError, LimssrError
from limssr_core.model.limssr import LimssrModel
from tests.conftest import random_samples


@pytest.fixture
def saved(tmp_path, tiny_config, make_backbone):
    torch.manual_seed(0)
    model = LimssrModel(tiny_config, make_backbone())
    with torch.no_grad():  # move every head away from its initialisation so a reload is really tested
        for name, parameter in model.named_parameters():
            if parameter.requires_grad:
                parameter.add_(0.05 * torch.randn_like(parameter))
    model.eval()
    folder = save_checkpoint(model, tmp_path / "ckpt", model_card="# card\n")
    return model, folder


def test_reload_gives_identical_outputs(saved, tiny_config):
    model, folder = saved
    reloaded = load_checkpoint(folder)
    samples = random_samples(tiny_config, 3)
    masks = [(True, True, True), (False, True, False), (True, False, True)]
    with torch.no_grad():
        a = model(collate(samples, tiny_config.modalities, masks), compute_loss=False)
        b = reloaded(collate(samples, tiny_config.modalities, masks), compute_loss=False)
    torch.testing.assert_close(a.y, b.y, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(a.modality_gate, b.modality_gate, atol=1e-6, rtol=1e-6)


def test_checkpoint_describes_itself_and_is_small(saved):
    _, folder = saved
    raw = json.loads((folder / CONFIG_NAME).read_text())
    assert raw["backbone"] == "tiny-random" and raw["backbone_identity"]["fingerprint"]
    assert [(m["name"], m["dim"], m["extractor"], m["length"]) for m in raw["modalities"]][0] == \
        ("video", 12, "synthetic@1", 6)
    assert raw["score_name"] == "TES" and raw["score_range"] == [0.0, 130.0]
    assert "torch" in raw["library_versions"] and raw["prompt_template"]
    assert (folder / "adapter" / "adapter_config.json").is_file()
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total < 2_000_000
    assert read_card(folder) == "# card\n" and (folder / "README.md").read_text().startswith("---\n")
    adapter = json.loads((folder / "adapter" / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] is None  # tiny-random has no Hub base model; never a local path
    assert not (folder / "adapter" / "README.md").exists()


def test_a_different_backbone_is_refused(saved):
    _, folder = saved
    raw = json.loads((folder / CONFIG_NAME).read_text())
    raw["backbone_identity"]["fingerprint"] = "0000000000000000"
    (folder / CONFIG_NAME).write_text(json.dumps(raw))
    with pytest.raises(CheckpointMismatchError, match="fingerprint"):
        load_checkpoint(folder)


def test_incomplete_or_foreign_folders_are_refused(saved, tmp_path):
    _, folder = saved
    with pytest.raises(LimssrError, match="not a LIMSSR checkpoint"):
        load_checkpoint(tmp_path)
    (folder / WEIGHTS_NAME).unlink()
    with pytest.raises(LimssrError, match="incomplete checkpoint"):
        load_checkpoint(folder)


def test_weights_of_another_model_are_refused(saved):
    _, folder = saved
    raw = json.loads((folder / CONFIG_NAME).read_text())
    raw["modalities"][0]["dim"] = 99
    (folder / CONFIG_NAME).write_text(json.dumps(raw))
    with pytest.raises(CheckpointMismatchError, match="projectors.video"):
        load_checkpoint(folder)


def test_data_must_match_modalities_dims_and_extractors(tiny_config):
    def spec(**modalities):
        return DatasetSpec("d", "TES", (0, 130), {k: ModalityInfo(*v) for k, v in modalities.items()})

    check_compatible(tiny_config, spec(video=(12, "synthetic@1"), text=(4, "synthetic@1")))
    with pytest.raises(CheckpointMismatchError, match="lidar"):
        check_compatible(tiny_config, spec(lidar=(3, "x")))
    with pytest.raises(CheckpointMismatchError, match="dim 13, the checkpoint expects 12"):
        check_compatible(tiny_config, spec(video=(13, "synthetic@1")))
    with pytest.raises(CheckpointMismatchError, match="'effnet-lite0@1'.*'synthetic@1'"):
        check_compatible(tiny_config, spec(video=(12, "effnet-lite0@1")))


def test_half_precision_checkpoint_is_smaller_and_scores_alike(saved, tiny_config, tmp_path, make_backbone):
    model, folder = saved
    half = save_checkpoint(model, tmp_path / "half", half=True)
    import dataclasses

    from limssr_core.model.limssr import LimssrModel

    standardising = LimssrModel(dataclasses.replace(tiny_config, standardise_features=True), make_backbone())
    statistics_ckpt = save_checkpoint(standardising, tmp_path / "half_std", half=True)
    size = lambda f: sum(p.stat().st_size for p in f.rglob("*.safetensors"))  # noqa: E731
    assert size(half) < 0.6 * size(folder)
    reloaded = load_checkpoint(half)
    assert reloaded.special_embeddings.weight.dtype == torch.float32
    samples = random_samples(tiny_config, 3)
    with torch.no_grad():
        a = model(collate(samples, tiny_config.modalities), compute_loss=False).y
        b = reloaded(collate(samples, tiny_config.modalities), compute_loss=False).y
    torch.testing.assert_close(a, b, atol=2e-3, rtol=0)
    from safetensors.torch import load_file

    stored = load_file(statistics_ckpt / "limssr_weights.safetensors")
    statistics = [k for k in stored if k.endswith(".feature_mean")]
    assert statistics and all(stored[k].dtype == torch.float32 for k in statistics)  # never rounded to float16


def test_a_format_2_checkpoint_loads_without_standardisation(saved, tiny_config):
    _, folder = saved
    raw = json.loads((folder / CONFIG_NAME).read_text())
    raw["format_version"] = 2
    raw.pop("standardise_features", None)
    (folder / CONFIG_NAME).write_text(json.dumps(raw))
    from safetensors.torch import load_file, save_file

    weights = load_file(folder / "limssr_weights.safetensors")
    save_file({k: v for k, v in weights.items() if ".feature_" not in k}, folder / "limssr_weights.safetensors")
    model = load_checkpoint(folder)
    assert not model.config.standardise_features
    assert not hasattr(model.projectors[tiny_config.modalities[0].name], "feature_mean")


def test_a_checkpoint_from_a_newer_format_is_refused_with_what_to_do(saved):
    _, folder = saved
    raw = json.loads((folder / CONFIG_NAME).read_text())
    assert raw["format_version"] == 5
    raw["format_version"] = 99
    (folder / CONFIG_NAME).write_text(json.dumps(raw))
    with pytest.raises(LimssrError, match="format 99.*upgrade LIMSSR Studio"):
        load_checkpoint(folder)
