"""What the GPU speed work rests on, checked on CPU: no graph breaks in the body, one compilation per length bucket,
right padding that changes no output, and host-to-device copies that leave CPU tensors alone."""

import dataclasses

import numpy as np
import pytest
import torch

from limssr_core.data.collate import collate, host_to_device
from limssr_core.model.limssr import LimssrModel, repeated_blocks
from tests.conftest import random_samples


@pytest.fixture
def model(tiny_config, make_backbone):
    torch.manual_seed(0)
    return LimssrModel(tiny_config, make_backbone()).eval()


MASKS = [(True, True, True), (True, False, True), (False, True, False), (True, True, False)]


def test_right_padding_to_a_length_bucket_changes_no_output(model, tiny_config):
    samples = random_samples(tiny_config, 4, seed=3)
    batch = collate(samples, tiny_config.modalities, MASKS)
    with torch.no_grad():
        plain = model(batch)
        alone = [model(collate([s], tiny_config.modalities, [m])) for s, m in zip(samples, MASKS)]
        model.sequence_multiple = 64
        embeds, attention_mask, _ = model.build_inputs(batch)
        padded = model(batch)
    assert embeds.shape[1] % 64 == 0 and not bool(attention_mask.all())  # really padded
    for field in ("y", "y_main", "y_aux", "modality_gate", "fusion_states"):
        torch.testing.assert_close(getattr(padded, field), getattr(plain, field), atol=1e-5, rtol=1e-5)
        # each sample alone (no padding at all) equals the same sample in the padded batch
        torch.testing.assert_close(torch.cat([getattr(out, field) for out in alone]), getattr(padded, field),
                                   atol=1e-5, rtol=1e-5)


def test_the_body_compiles_without_graph_breaks(model, tiny_config):
    embeds, _, _ = model.build_inputs(collate(random_samples(tiny_config, 2), tiny_config.modalities))
    explanation = torch._dynamo.explain(model.backbone)(inputs_embeds=embeds, use_cache=False)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


def test_the_body_compiles_without_graph_breaks_in_training_mode_too(model, tiny_config):
    """LoRA's dropout (model/dropout.py) draws its CPU masks with `random_`, which Dynamo cannot trace: under
    compilation it is torch's own dropout."""
    embeds, _, _ = model.build_inputs(collate(random_samples(tiny_config, 2), tiny_config.modalities))
    model.train()
    explanation = torch._dynamo.explain(model.backbone)(inputs_embeds=embeds, use_cache=False)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


def test_regional_compilation_compiles_once_per_length_bucket(model, tiny_config):
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    blocks = repeated_blocks(model.backbone)
    assert len(blocks) == 2 and len({type(block) for block in blocks}) == 1
    model.compile_backbone(backend="eager", sequence_multiple=64)
    samples = random_samples(tiny_config, 4, seed=4, lengths=(2, 9))
    lengths = set()
    with torch.no_grad():
        for masks in (MASKS, [(True, True, True)] * 4, [(False, False, True)] * 4, MASKS[::-1]):
            batch = collate(samples, tiny_config.modalities, masks)
            lengths.add(model.build_inputs(batch)[0].shape[1])
            model(batch)
    assert len(lengths) == 1 and lengths.pop() % 64 == 0  # four mask patterns, one bucket
    assert counters["stats"]["unique_graphs"] == 1  # one decoder block graph, reused by every layer and batch
    model.sequence_multiple = 1  # without buckets, three more lengths and two batch sizes
    unpadded = set()
    with torch.no_grad():
        for masks in (MASKS, [(True, True, True)] * 4, [(False, False, True)] * 4):
            batch = collate(samples, tiny_config.modalities, masks)
            unpadded.add(model.build_inputs(batch)[0].shape[1])
            model(batch)
    # automatic dynamic shapes: the first new length compiles one graph generic in the length, which serves every
    # later length, so shapes never pile up to the recompilation limit (beyond which PyTorch silently runs eager)
    assert len(unpadded) >= 2 and counters["stats"]["unique_graphs"] == 2
    with torch.no_grad():
        for size in (3, 2):  # likewise the batch size: one more graph for all of them
            model(collate(samples[:size], tiny_config.modalities, MASKS[:size]))
    assert counters["stats"]["unique_graphs"] == 3
    with torch.no_grad():  # batch size 1 is always a graph of its own (PyTorch specialises sizes 0 and 1)
        model(collate(samples[:1], tiny_config.modalities, MASKS[:1]))
    assert counters["stats"]["unique_graphs"] == 4
    torch._dynamo.reset()


def test_a_body_that_is_not_causal_is_refused(tiny_config, make_backbone):
    from limssr_core.errors import LimssrError

    backbone = make_backbone()
    backbone.body.layers[0].self_attn.is_causal = False  # as an encoder's attention says
    with pytest.raises(LimssrError, match="not causal"):
        LimssrModel(tiny_config, backbone)


def test_occluded_copies_of_a_padded_sequence_match_the_full_pass(model, tiny_config):
    """The timeline's cached suffix passes stay exact when batches are padded to a length bucket."""
    model.sequence_multiple = 16
    sample = random_samples(tiny_config, 1, seed=6, lengths=(5, 6))[0]
    sample.occluded = {"video": np.array([False, False, True, True, False, False])[: len(sample.features["video"])]}
    batch = collate([sample], tiny_config.modalities)
    with torch.no_grad():
        prefix = model.prefix_state(collate([dataclasses.replace(sample, occluded={})], tiny_config.modalities))
        start = model.occlusion_starts(batch)[0]
        cached = model.forward_occluded(batch, prefix, start)
        full = model(batch)
    torch.testing.assert_close(cached.y, full.y, atol=1e-5, rtol=1e-5)


def test_host_to_device_on_cpu_is_the_tensor_itself():
    tensor = torch.arange(6)
    assert host_to_device(tensor, "cpu") is tensor
