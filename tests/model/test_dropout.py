import math

import pytest
import torch
from torch import nn

from limssr_core.model.dropout import FastDropout, keep_mask, use_fast_dropout


@pytest.mark.parametrize("p", [0.1, 0.35, 0.5])
def test_keep_mask_keeps_one_minus_p_independently_and_scales_to_the_mean(p):
    torch.manual_seed(0)
    keep, scale = keep_mask((400, 500), p)
    assert keep.dtype == torch.bool and keep.shape == (400, 500)
    rate = float(keep.float().mean())
    assert abs(rate - (1 - p)) < 4 * math.sqrt(p * (1 - p) / keep.numel())  # within 4 standard errors
    assert abs(scale * (1 - p) - 1) < 1e-4  # 1 / the exact keep rate of the 16-bit threshold
    # neighbours (the four 16-bit slices of one random word) are independent: their joint keep rate is the product
    pairs = keep.reshape(-1, 4)
    for a, b in ((0, 1), (1, 2), (2, 3), (0, 3)):
        joint = float((pairs[:, a] & pairs[:, b]).float().mean())
        assert abs(joint - (1 - p) ** 2) < 0.01
    torch.manual_seed(0)
    assert torch.equal(keep_mask((400, 500), p)[0], keep)  # the torch seed decides the mask


def test_a_rate_below_the_16_bit_resolution_keeps_everything():
    keep, scale = keep_mask((1000,), 1e-6)
    assert bool(keep.all()) and scale == 1.0


def test_a_bf16_input_gets_the_fp32_path_rounded_to_bf16():
    """Under `lora_inputs_uncast` LoRA dropout sees bf16 inputs where it used to see peft's fp32 copy: the numbers the
    adapter's bf16 matmul receives must not change (the scale is applied in fp32, the product rounded once)."""
    x = torch.randn(64, 300).to(torch.bfloat16)
    dropout = FastDropout(0.1).train()
    torch.manual_seed(3)
    low = dropout(x)
    torch.manual_seed(3)
    high = dropout(x.float())
    assert low.dtype == torch.bfloat16
    assert torch.equal(low, high.to(torch.bfloat16))


def test_fast_dropout_is_unbiased_with_mask_gradients_and_off_in_eval():
    torch.manual_seed(1)
    dropout = FastDropout(0.25).train()
    x = torch.ones(200, 300, requires_grad=True)
    y = dropout(x)
    values = y.detach()
    kept = values != 0
    assert abs(float(values.mean()) - 1) < 0.02  # kept values are scaled by about 1 / 0.75
    torch.testing.assert_close(values[kept], torch.full_like(values[kept], float(values[kept][0])))
    assert abs(float(values[kept][0]) - 1 / 0.75) < 1e-3
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())  # d y / d x is the mask times the scale
    assert dropout(torch.ones(2, 3, dtype=torch.bfloat16)).dtype == torch.bfloat16
    dropout.eval()
    z = torch.randn(5, 7)
    assert torch.equal(dropout(z), z)
    assert torch.equal(FastDropout(0.0).train()(z), z)
    z.requires_grad_(True)
    zeros = FastDropout(1.0).train()(z)
    assert torch.equal(zeros, torch.zeros_like(z))
    zeros.sum().backward()
    assert torch.equal(z.grad, torch.zeros_like(z))  # zero gradients, as torch's dropout at p = 1


def test_lora_dropouts_are_swapped_both_ways_keeping_rate_and_mode(make_backbone):
    from limssr_core.model.backbone import add_lora

    body = add_lora(make_backbone().body, 4, 8, 0.2, ["q_proj", "v_proj"])  # add_lora installs FastDropout
    lora = [m for n, m in body.named_modules() if n.endswith("lora_dropout.default")]
    assert lora and all(type(m) is FastDropout and m.p == 0.2 for m in lora)
    body.eval()
    assert use_fast_dropout(body, fast=False) == len(lora)
    plain = [m for n, m in body.named_modules() if n.endswith("lora_dropout.default")]
    assert all(type(m) is nn.Dropout and m.p == 0.2 and not m.training for m in plain)
    others = [m for m in body.modules() if isinstance(m, nn.Dropout) and m not in plain]
    assert all(type(m) is nn.Dropout for m in others)  # the body's own dropouts are never touched
    assert use_fast_dropout(add_lora(make_backbone().body, 4, 8, 0.0, ["q_proj"])) == 0  # rate 0: peft's Identity
