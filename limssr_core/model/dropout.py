"""Dropout whose random mask is cheap on a CPU: the LoRA branches' dropout (`add_lora` installs it in peft's place).

Why hand-written: on a CPU torch draws a dropout mask one Mersenne-Twister number per element (4-5 ms for one
[8, 173, 576] fp32 activation on two cores, bench/lora_bench.py), and the embedded backbone's LoRA runs 120
dropouts per training forward (q, k, v and o of 30 layers), about a fifth of a CPU training step. Here one 64-bit
word (two 32-bit draws) makes four 16-bit uniforms, so the generator runs half as often and its words need no
conversion to floats: an element is kept when its 16-bit uniform falls below K = round((1 - p) * 65536), and kept
values are scaled by 65536 / K (in fp32, whatever the input's dtype), so the expected output is the input and the
keep rate differs from 1 - p by at most 1 / 131072. No library offers a faster CPU dropout with these semantics.
On other devices (a GPU's Philox dropout is fast) and inside `torch.compile` (which fuses torch's dropout into its
kernels) this is plain `nn.Dropout`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

UNIFORMS = 1 << 16  # each 16-bit slice of a random word is one uniform draw from 0 .. 65535


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, device: torch.device | str = "cpu"
              ) -> tuple[torch.Tensor, float]:
    """(keep mask [shape] of bools, each True with probability ~ 1 - p and independent; the scale 1 / keep rate)."""
    count = math.prod(shape)
    kept_values = round((1.0 - p) * UNIFORMS)
    if kept_values >= UNIFORMS:  # p below 1 / 131072: keep everything (the int16 threshold would wrap to 0)
        return torch.ones(shape, dtype=torch.bool, device=device), 1.0
    words = torch.empty((count + 3) // 4, dtype=torch.int64, device=device)
    words.random_(-(1 << 63), None)  # every bit uniform (without `from` the sign bit would always be 0)
    uniforms = words.view(torch.int16)[:count].view(shape)  # [shape] in -32768 .. 32767
    return uniforms < kept_values - UNIFORMS // 2, UNIFORMS / max(1, kept_values)


class FastDropout(nn.Dropout):
    """`nn.Dropout` with the mask of `keep_mask` on a CPU (see the module docstring); the same module elsewhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.device.type != "cpu" or torch.compiler.is_compiling():
            return super().forward(x)  # a compiled graph fuses torch's own dropout (and cannot trace `random_`)
        if self.p >= 1.0:
            return x * 0.0  # as torch's dropout: zeros, with zero gradients
        keep, scale = keep_mask(x.shape, self.p, x.device)
        # [shape]: kept values scaled (by the fp32 scale: a bf16 one would shrink the output by ~0.2 %), dropped ones
        # zero; backward multiplies by the saved bool mask and the scale
        return x.mul(keep).mul_(scale)


def use_fast_dropout(model: nn.Module, fast: bool = True) -> int:
    """Make every dropout inside peft's LoRA layers (their `lora_dropout` dicts) a `FastDropout` (`fast=False`: a
    plain `nn.Dropout`) of the same rate; returns how many there are. Other dropouts (the body's, the heads') are left
    as they are."""
    kind = FastDropout if fast else nn.Dropout
    count = 0
    for module in model.modules():
        dropouts = getattr(module, "lora_dropout", None)
        if not isinstance(dropouts, nn.ModuleDict):
            continue
        for name, dropout in dropouts.items():
            if not isinstance(dropout, nn.Dropout):  # peft's nn.Identity where the rate is 0
                continue
            if type(dropout) is not kind:
                replacement = kind(dropout.p)
                replacement.train(dropout.training)
                dropouts[name] = replacement
            count += 1
    return count
