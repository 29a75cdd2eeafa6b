import numpy as np
import pytest
import torch

from limssr_core.data.collate import collate
from limssr_core.model.limssr import LimssrModel
from tests.conftest import random_samples


@pytest.fixture
def model(tiny_config, make_backbone):
    torch.manual_seed(0)
    return LimssrModel(tiny_config, make_backbone())


def test_output_carries_every_weight_with_the_right_shapes(model, tiny_config):
    samples = random_samples(tiny_config, 4)
    masks = [(True, True, True), (True, False, False), (False, True, True), (False, False, True)]
    out = model(collate(samples, tiny_config.modalities, masks))
    assert out.y.shape == out.y_main.shape == out.y_aux.shape == (4,)
    assert torch.all((out.y > 0) & (out.y < 1))
    assert out.modality_gate.shape == out.confidence.shape == (4, 3)
    torch.testing.assert_close(out.modality_gate.sum(-1), torch.ones(4))
    torch.testing.assert_close(out.role_weights.sum(), torch.tensor(1.0))
    assert out.fusion_states.shape == (4, 4, 64)
    observed = torch.tensor(masks)
    assert torch.all(out.confidence[observed] == 1.0)
    assert torch.all((out.confidence[~observed] > 0) & (out.confidence[~observed] < 1))
    assert abs(float(out.path_weight.detach()) - 0.7) < 1e-6
    torch.testing.assert_close(out.y, out.path_weight * out.y_main + (1 - out.path_weight) * out.y_aux)
    assert set(out.spans[1]) == {"video", "audio", "text"}
    assert out.loss is not None and torch.isfinite(out.loss)


def test_withheld_modality_has_no_influence_on_any_output_bit(model, tiny_config):
    model.eval()
    samples = random_samples(tiny_config, 3, seed=1)
    masks = [(True, False, True), (False, True, True), (True, True, False)]
    batch = collate(samples, tiny_config.modalities, masks)
    with torch.no_grad():
        reference = model(batch)
        for j, name in enumerate(tiny_config.modality_names):
            changed = batch.features[name].clone()
            withheld = torch.tensor([not m[j] for m in masks])
            changed[withheld] = torch.randn_like(changed[withheld]) * 100
            batch_changed = collate(samples, tiny_config.modalities, masks)
            batch_changed.features[name] = changed
            out = model(batch_changed)
            for field in ("y", "y_main", "y_aux", "modality_gate", "confidence", "fusion_states"):
                assert torch.equal(getattr(out, field), getattr(reference, field)), (name, field)


def test_withheld_modality_receives_no_gradient(model, tiny_config):
    model.train()
    samples = random_samples(tiny_config, 4, seed=2)
    masks = [(True, False, True), (True, False, True), (True, True, False), (True, False, True)]
    batch = collate(samples, tiny_config.modalities, masks)
    for x in batch.features.values():
        x.requires_grad_(True)
    model(batch).loss.backward()
    for j, name in enumerate(tiny_config.modality_names):
        grad = batch.features[name].grad
        withheld = torch.tensor([not m[j] for m in masks])
        assert grad is None or torch.count_nonzero(grad[withheld]) == 0, name
    observed_grad = batch.features["video"].grad
    assert observed_grad is not None and torch.count_nonzero(observed_grad) > 0


def test_projector_of_a_modality_withheld_everywhere_gets_no_gradient(model, tiny_config):
    model.train()
    samples = random_samples(tiny_config, 4, seed=3)
    batch = collate(samples, tiny_config.modalities, [(True, True, False)] * 4)
    model(batch).loss.backward()
    for parameter in model.projectors["text"].parameters():
        assert parameter.grad is None or torch.count_nonzero(parameter.grad) == 0
    assert any(p.grad is not None and torch.count_nonzero(p.grad) > 0 for p in model.projectors["video"].parameters())


def test_mixed_mask_batch_equals_samples_run_one_at_a_time(model, tiny_config):
    model.eval()
    samples = random_samples(tiny_config, 5, seed=4)
    masks = [(True, True, True), (True, False, False), (False, True, True), (False, False, True), (True, False, True)]
    with torch.no_grad():
        together = model(collate(samples, tiny_config.modalities, masks))
        for i, sample in enumerate(samples):
            alone = model(collate([sample], tiny_config.modalities, [masks[i]]))
            for field in ("y", "y_main", "y_aux", "modality_gate", "confidence"):
                torch.testing.assert_close(getattr(alone, field)[0], getattr(together, field)[i],
                                           atol=1e-5, rtol=1e-5)


def test_only_new_rows_lora_and_heads_are_trainable(model):
    embedding = model.backbone.get_input_embeddings()
    assert not embedding.weight.requires_grad
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    backbone_trainable = {name for name in trainable if name.startswith("backbone.")}
    assert backbone_trainable and all("lora_" in name for name in backbone_trainable)
    assert "special_embeddings.weight" in trainable
    assert model.special_embeddings.weight.shape[0] == 3 * 3 + 4
    assert not any("lm_head" in name for name, _ in model.named_parameters())
    lora_modules = {name.split(".")[-4] for name in backbone_trainable}
    assert lora_modules == {"q_proj", "k_proj", "v_proj", "o_proj"}


def test_prompt_ids_and_layouts_are_built_once_per_pattern(model, tiny_config):
    samples = random_samples(tiny_config, 6, seed=5, lengths=(9, 10))
    masks = [(True, True, True)] * 3 + [(True, False, True)] * 3
    model.eval()
    with torch.no_grad():
        model(collate(samples, tiny_config.modalities, masks))
        model(collate(samples, tiny_config.modalities, masks))
    assert len(model._prompt_cache) == 2
    assert len(model._layout_cache) == 2


def test_shorter_sequences_are_not_padded_with_fake_segments(model, tiny_config):
    samples = random_samples(tiny_config, 1, seed=6, lengths=(2, 3))
    batch = collate(samples, tiny_config.modalities, [(True, True, True)])
    out = model(batch, compute_loss=False)
    start, end = out.spans[0]["video"]
    assert end - start == 2 == int(batch.lengths[0, 0])


def test_collate_crops_randomly_in_training_and_centrally_in_evaluation(tiny_config):
    from limssr_core.data.collate import crop_window

    assert crop_window(10, 4, None) == slice(3, 7)
    starts = {crop_window(10, 4, np.random.default_rng(s)).start for s in range(40)}
    assert starts <= set(range(7)) and len(starts) > 3
    assert crop_window(3, 4, None) == slice(0, 3)


def test_the_model_never_writes_into_the_config_it_is_given(tiny_config, make_backbone):
    before = tiny_config.to_json()
    model = LimssrModel(tiny_config, make_backbone())
    assert tiny_config.to_json() == before and tiny_config.lora_targets is None
    assert model.config is not tiny_config
    assert model.config.lora_targets == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert model.config.backbone_identity["fingerprint"]


def test_heads_run_in_fp32_under_bf16_autocast(model, tiny_config):
    samples = random_samples(tiny_config, 4)
    batch = collate(samples, tiny_config.modalities, [(True, True, True)] * 4)
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(batch, compute_loss=False)
    assert out.y.dtype == out.y_main.dtype == out.y_aux.dtype == out.modality_gate.dtype == torch.float32
    with torch.no_grad():
        plain = model(batch, compute_loss=False)
    assert len(set(out.y.tolist())) == 4  # no ties from rounding
    torch.testing.assert_close(out.y, plain.y, atol=0.05, rtol=0)  # same scores up to the body's bf16 error


def test_prompt_style_paper_frames_the_sequence_with_the_papers_prompt(tiny_config, make_backbone):
    import dataclasses

    model = LimssrModel(dataclasses.replace(tiny_config, prompt_style="paper"), make_backbone())
    assert model.prompt_text((True, False, True)).startswith("Given the available video, text features")
    layout, _ = model.layout((True, False, True), (3, 0, 2))
    prompt_ids = model.tokenizer(model.prompt_text((True, False, True)), add_special_tokens=False)["input_ids"]
    assert list(layout.token_ids[:len(prompt_ids)]) == prompt_ids


def test_occluded_segments_become_the_modalitys_learned_missing_token(model, tiny_config):
    samples = random_samples(tiny_config, 2, lengths=(6, 7))
    batch = collate(samples, tiny_config.modalities, [(True, True, True)] * 2)
    occluded = torch.zeros(2, 6, dtype=torch.bool)
    occluded[0, 1:3] = True  # sample 0, video segments 1 and 2
    batch.occluded = {"video": occluded}
    model.eval()
    with torch.no_grad():
        embeds, _, layouts = model.build_inputs(batch)
        plain, _, _ = model.build_inputs(collate(samples, tiny_config.modalities, [(True, True, True)] * 2))
    start = layouts[0].blocks["video"][0]
    missing = model.special_embeddings.weight[model.vocab.missing_id("video") - model.vocab.base_rows]
    for step in (1, 2):
        torch.testing.assert_close(embeds[0, start + step], missing)  # the learned token, never zeros
    torch.testing.assert_close(embeds[0, start], plain[0, start])  # the rest is untouched
    torch.testing.assert_close(embeds[1], plain[1])


def test_occluded_copies_run_from_their_first_occluded_position_on_the_unoccluded_cache(model, tiny_config):
    from limssr_core.data.collate import Sample

    (base,) = random_samples(tiny_config, 1, lengths=(6, 7))
    mask = (True, True, False)  # text missing: its placeholders come after the observed blocks
    copies = []
    for name, steps in (("video", [0]), ("video", [3, 4]), ("audio", [2]), ("audio", [4])):
        hidden = np.zeros(base.features[name].shape[0], dtype=bool)
        hidden[steps] = True
        copies.append(Sample("copy", base.features, occluded={name: hidden}))
    model.eval()
    with torch.no_grad():
        prefix = model.prefix_state(collate([base], tiny_config.modalities, [mask]))
        assert prefix is not None and len(prefix.keys_values) == model.backbone.config.num_hidden_layers
        batch = collate(copies, tiny_config.modalities, [mask] * len(copies))
        starts = model.occlusion_starts(batch)
        layout, _ = model.layout(mask, tuple(int(v) for v in batch.lengths[0]))
        assert starts == [layout.blocks["video"][0], layout.blocks["video"][0] + 3, layout.blocks["audio"][0] + 2,
                          layout.blocks["audio"][0] + 4]
        whole = model(batch, compute_loss=False)
        for i, start in enumerate(starts):
            one = collate([copies[i]], tiny_config.modalities, [mask])
            cached = model.forward_occluded(one, prefix, start)
            torch.testing.assert_close(cached.y, whole.y[i:i + 1], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(cached.fusion_states, whole.fusion_states[i:i + 1], atol=1e-5, rtol=1e-5)
        # a start later than the first occluded segment would reuse states that the occlusion changed
        wrong = model.forward_occluded(collate([copies[0]], tiny_config.modalities, [mask]), prefix, starts[2])
        assert not torch.allclose(wrong.y, whole.y[:1], atol=1e-5)



def test_a_lone_observer_leaves_its_projectors_batch_statistics_alone(model, tiny_config):
    """The model hands each projector its number of observing samples: one observer of `text` in a batch of 4 is
    normalised with running statistics (which stay as they were), while `video`, seen by all 4, updates them."""
    model.train()
    samples = random_samples(tiny_config, 4, seed=5, lengths=(3, 6))
    masks = [(True, False, True), (True, True, False), (True, True, False), (True, False, False)]
    before = {name: model.projectors[name].net[1].running_mean.clone() for name in ("video", "text")}
    model(collate(samples, tiny_config.modalities, masks))
    assert torch.equal(model.projectors["text"].net[1].running_mean, before["text"])
    assert not torch.equal(model.projectors["video"].net[1].running_mean, before["video"])


def test_no_path_from_the_features_to_the_score_bypasses_the_llm_body(model, tiny_config):
    """With the body's output replaced by a constant, new features change no output: the heads read only the body."""
    model.eval()
    samples = random_samples(tiny_config, 3, seed=6)
    masks = [(True, True, True), (True, False, True), (False, True, False)]
    batch = collate(samples, tiny_config.modalities, masks)
    changed = collate(samples, tiny_config.modalities, masks)
    for name in tiny_config.modality_names:
        changed.features[name] = torch.randn_like(changed.features[name]) * 10

    def constant_body(module, args, kwargs, output):
        output.last_hidden_state = torch.ones_like(output.last_hidden_state)
        return output

    handle = model.backbone.register_forward_hook(constant_body, with_kwargs=True)
    try:
        with torch.no_grad():
            reference, other = model(batch), model(changed)
    finally:
        handle.remove()
    for field in ("y", "y_main", "y_aux", "modality_gate", "fusion_states"):
        assert torch.equal(getattr(reference, field), getattr(other, field)), field
    with torch.no_grad():  # and the features do reach the score through the body
        assert not torch.equal(model(batch).y, model(changed).y)
