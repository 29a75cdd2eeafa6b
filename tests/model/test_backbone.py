import pytest
import torch

from limssr_core.model.backbone import TINY_RANDOM_SHAPE, check_identity, load_backbone, resolve_lora_targets
from limssr_core.errors import CheckpointMismatchError, LimssrError


def test_lora_targets_are_resolved_per_architecture():
    from transformers import GPT2Config, GPT2Model, LlamaConfig, LlamaModel

    llama = LlamaModel(LlamaConfig(vocab_size=32, **TINY_RANDOM_SHAPE))
    assert resolve_lora_targets(llama) == ["q_proj", "k_proj", "v_proj", "o_proj"]
    gpt2 = GPT2Model(GPT2Config(vocab_size=32, n_embd=32, n_layer=1, n_head=2))
    assert resolve_lora_targets(gpt2) == ["c_attn", "c_proj"]
    assert resolve_lora_targets(llama, ["q_proj", "v_proj"]) == ["q_proj", "v_proj"]
    with pytest.raises(LimssrError, match="not found in the backbone"):
        resolve_lora_targets(llama, ["query_key_value"])


def test_tiny_random_is_deterministic_and_headless():
    a, b = load_backbone("tiny-random"), load_backbone("tiny-random")
    assert a.identity["fingerprint"] == b.identity["fingerprint"]
    assert not hasattr(a.body, "lm_head")
    assert all(not p.requires_grad for p in a.body.parameters())


def test_a_local_folder_backbone_loads_and_records_its_source(tmp_path):
    tiny = load_backbone("tiny-random")
    tiny.body.save_pretrained(tmp_path / "local")
    tiny.tokenizer.save_pretrained(tmp_path / "local")
    local = load_backbone(str(tmp_path / "local"))
    assert local.identity["source"] == "local:local"
    assert local.identity["fingerprint"] == tiny.identity["fingerprint"]
    with torch.no_grad():
        x = torch.randn(1, 3, 64)
        torch.testing.assert_close(local.body(inputs_embeds=x).last_hidden_state,
                                   tiny.body(inputs_embeds=x).last_hidden_state)


def test_unknown_or_unreachable_backbones_are_clear_errors():
    with pytest.raises(LimssrError, match="unknown backbone 'gpt-17'"):
        load_backbone("gpt-17")
    with pytest.raises(LimssrError, match="could not load backbone 'nobody/no-such-model'"):
        load_backbone("nobody/no-such-model")


def test_identity_check_names_what_differs():
    expected = {"name": "smollm2-135m", "hidden_size": 576, "fingerprint": "abc"}
    check_identity(expected, dict(expected))
    with pytest.raises(CheckpointMismatchError, match="hidden_size=576.*has hidden_size=896"):
        check_identity(expected, {"name": "qwen", "hidden_size": 896, "fingerprint": "abc"})
