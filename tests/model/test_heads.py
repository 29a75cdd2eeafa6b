"""The MDA path-2 modality gate as the paper specifies it (Eq. 13, App. B, the published code)."""

import torch
from torch import nn

from limssr_core.config import LimssrConfig
from limssr_core.model.heads import CrossModalRecoveryPath


def test_the_paper_gate_structure_and_parameter_count():
    d, m = 1024, 3
    path = CrossModalRecoveryPath(d, m, heads=4, dropout=0.0, confidence_init=0.6)
    gate = path.modality_gate
    assert [type(layer) for layer in gate] == [nn.Linear, nn.GELU, nn.Linear]
    assert (gate[0].in_features, gate[0].out_features, gate[2].out_features) == (m * d, d, m)
    assert sum(p.numel() for p in gate.parameters()) == m * d * d + d + d * m + m == 3_149_827  # 3.15 M


def test_the_gate_reads_the_pooled_vectors_before_attention():
    torch.manual_seed(0)
    path = CrossModalRecoveryPath(16, 3, heads=4, dropout=0.0, confidence_init=0.6).eval()
    pooled, mask = torch.randn(2, 3, 16), torch.ones(2, 3)
    _, gate, _ = path(pooled, mask)
    with torch.no_grad():  # change the attention completely: a pre-attention gate does not move
        for parameter in path.attention.parameters():
            parameter.add_(torch.randn_like(parameter))
    y_after, gate_after, _ = path(pooled, mask)
    torch.testing.assert_close(gate, gate_after)
    assert torch.allclose(gate.sum(dim=-1), torch.ones(2))


def test_format_1_checkpoints_keep_the_gate_they_were_trained_with():
    legacy = LimssrConfig.from_json({"modalities": [{"name": "video", "dim": 3}]})
    assert legacy.format_version == 1 and legacy.modality_gate == "linear-post-attention"
    path = CrossModalRecoveryPath(8, 2, heads=2, dropout=0.0, confidence_init=0.6, gate_form=legacy.modality_gate)
    assert isinstance(path.modality_gate, nn.Linear) and path.modality_gate.in_features == 16
    current = LimssrConfig.from_json({"modalities": [{"name": "video", "dim": 3}], "format_version": 2})
    assert current.modality_gate == "paper"


def test_the_gate_reads_each_modality_after_its_layernorm():
    torch.manual_seed(0)
    path = CrossModalRecoveryPath(16, 3, heads=4, dropout=0.0, confidence_init=0.6).eval()
    pooled, mask = torch.randn(2, 3, 16), torch.ones(2, 3)
    _, gate, _ = path(pooled, mask)
    rescaled = pooled.clone()
    rescaled[:, 1] = 7.0 * rescaled[:, 1] + 3.0  # a per-modality LayerNorm removes this; a raw-vector gate would not
    _, gate_rescaled, _ = path(rescaled, mask)
    torch.testing.assert_close(gate, gate_rescaled, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(gate, path(torch.randn_like(pooled), mask)[1], atol=1e-3)  # it does read its input
