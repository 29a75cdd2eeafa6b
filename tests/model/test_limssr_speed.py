"""What the GPU speed work rests on, checked on CPU: no graph breaks in the body, one compilation per length bucket,
right padding that changes no output, and host-to-device copies that leave CPU tensors alone."""

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
    model.sequence_multiple = 1  # without buckets: one compilation per distinct length
    unpadded = set()
    with torch.no_grad():
        for masks in (MASKS, [(True, True, True)] * 4, [(False, False, True)] * 4):
            batch = collate(samples, tiny_config.modalities, masks)
            unpadded.add(model.build_inputs(batch)[0].shape[1])
            model(batch)
    assert len(unpadded) >= 2 and counters["stats"]["unique_graphs"] == 1 + len(unpadded)
    torch._dynamo.reset()


def test_host_to_device_on_cpu_is_the_tensor_itself():
    tensor = torch.arange(6)
    assert host_to_device(tensor, "cpu") is tensor
