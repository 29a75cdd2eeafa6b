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


def test_eager_attention_for_training_steps_gives_the_sdpa_loss_and_gradients(tiny_config, make_backbone):
    from limssr_core.data.collate import collate
    from limssr_core.model.backbone import attention_implementation, transformers_body
    from limssr_core.model.limssr import LimssrModel
    from tests.conftest import random_samples

    torch.manual_seed(0)
    model = LimssrModel(tiny_config, make_backbone())
    model.eval()  # no dropout: both passes see the same computation; padding comes from the unequal lengths
    samples = random_samples(tiny_config, 4, seed=5)
    masks = [(True, True, True), (True, False, True), (False, True, False), (True, True, False)]
    batch = collate(samples, tiny_config.modalities, masks)
    config = transformers_body(model.backbone).config

    def loss_and_grads():
        model.zero_grad(set_to_none=True)
        out = model(batch, compute_loss=True)
        out.loss.backward()
        return out.loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    assert config._attn_implementation == "sdpa"
    sdpa_loss, sdpa_grads = loss_and_grads()
    with attention_implementation(model.backbone, "eager"):
        assert config._attn_implementation == "eager"
        eager_loss, eager_grads = loss_and_grads()
    assert config._attn_implementation == "sdpa"  # restored
    torch.testing.assert_close(eager_loss, sdpa_loss, rtol=1e-5, atol=1e-6)
    assert eager_grads.keys() == sdpa_grads.keys() and any("lora_" in n for n in eager_grads)
    for name, grad in eager_grads.items():
        torch.testing.assert_close(grad, sdpa_grads[name], rtol=1e-4, atol=1e-6, msg=name)
    with attention_implementation(model.backbone, None):  # None keeps what the body has
        assert config._attn_implementation == "sdpa"


def test_lora_inputs_uncast_under_bf16_autocast_give_the_same_loss(tiny_config, make_backbone):
    from limssr_core.data.collate import collate
    from limssr_core.model.backbone import lora_inputs_uncast
    from limssr_core.model.limssr import LimssrModel
    from tests.conftest import random_samples

    torch.manual_seed(0)
    backbone = make_backbone()
    backbone.body.to(torch.bfloat16)  # as the trainer keeps the frozen body under bf16 (the adapters stay fp32)
    model = LimssrModel(tiny_config, backbone)
    lora_a = next(p for n, p in model.named_parameters() if "lora_A" in n)
    lora_a.data.normal_()  # peft starts B at zero: give the branch an effect
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data.normal_(std=0.1)
    model.eval()
    samples = random_samples(tiny_config, 4, seed=5)
    batch = collate(samples, tiny_config.modalities, [(True, True, True), (True, False, True)] * 2)
    seen = []
    hooks = [m.register_forward_pre_hook(lambda module, args: seen.append(args[0].dtype))
             for n, m in model.named_modules() if n.endswith("lora_A.default")]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        cast = float(model(batch, compute_loss=True).loss)
        assert set(seen) == {torch.float32}  # peft casts each LoRA input to its adapter's dtype
        seen.clear()
        with lora_inputs_uncast(model.backbone, True):
            uncast = float(model(batch, compute_loss=True).loss)
        assert set(seen) == {torch.bfloat16}
        seen.clear()
        model(batch, compute_loss=True)
        assert set(seen) == {torch.float32}  # restored after the block
    for hook in hooks:
        hook.remove()
    assert uncast == cast  # autocast runs the adapter's matmul on the same bf16 numbers either way
    assert lora_a.dtype == torch.float32
