"""Fusion-token pooling and mask-aware dual-path aggregation (the paper's Sec. 3.3; docs/method.md)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def score_head(hidden_size: int, dropout: float) -> nn.Sequential:
    """Linear(D, D/2) - LayerNorm - GELU - Dropout - Linear(D/2, 1); the caller applies the sigmoid."""
    half = max(hidden_size // 2, 1)
    return nn.Sequential(nn.Linear(hidden_size, half), nn.LayerNorm(half), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(half, 1))


class FusionPooling(nn.Module):
    """K fusion-token states -> z_main with softmax-normalised learned role weights and LayerNorm."""

    def __init__(self, hidden_size: int, num_tokens: int):
        super().__init__()
        self.role_logits = nn.Parameter(torch.zeros(num_tokens))
        self.norm = nn.LayerNorm(hidden_size)

    def role_weights(self) -> Tensor:
        return self.role_logits.softmax(dim=0)

    def forward(self, fusion_states: Tensor) -> Tensor:
        # fusion_states: [B, K, D] -> z_main [B, D]
        return self.norm(torch.einsum("k,bkd->bd", self.role_weights(), fusion_states))


class UncertaintyCalibratedPath(nn.Module):
    """Path 1: c = [z_main, m]; z = z_main + sigmoid(Linear(c)) * MLP(c); y_main = sigmoid(head(z))."""

    def __init__(self, hidden_size: int, num_modalities: int, dropout: float):
        super().__init__()
        conditioned = hidden_size + num_modalities
        self.gate = nn.Linear(conditioned, hidden_size)
        self.residual = nn.Sequential(nn.Linear(conditioned, hidden_size), nn.GELU(), nn.Dropout(dropout),
                                      nn.Linear(hidden_size, hidden_size))
        self.head = score_head(hidden_size, dropout)

    def forward(self, z_main: Tensor, mask: Tensor) -> Tensor:
        # z_main: [B, D], mask: [B, M] -> y_main [B]
        conditioned = torch.cat([z_main, mask.to(z_main.dtype)], dim=-1)
        z = z_main + torch.sigmoid(self.gate(conditioned)) * self.residual(conditioned)
        return torch.sigmoid(self.head(z)).squeeze(-1)


class CrossModalRecoveryPath(nn.Module):
    """Path 2: per-modality pooled states -> LayerNorm -> self-attention over modalities -> gated, confidence-
    weighted sum -> y_aux. Confidence alpha_m = m_m + (1 - m_m) * sigmoid(lambda_m).

    The gate G (`gate_form`): `paper` (Eq. 13, App. B and the published code): Softmax(Linear(M*D -> D) - GELU -
    Linear(D -> M)) on the concatenated LayerNormed pooled vectors, before the attention; `linear-post-attention`:
    Softmax(Linear(M*D -> M)) on the attended vectors, what checkpoints of format 1 were trained with."""

    def __init__(self, hidden_size: int, num_modalities: int, heads: int, dropout: float, confidence_init: float,
                 gate_form: str = "paper"):
        super().__init__()
        if hidden_size % heads:
            heads = math.gcd(hidden_size, heads) or 1
        self.gate_form = gate_form
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_size) for _ in range(num_modalities))
        self.attention = nn.MultiheadAttention(hidden_size, heads, dropout=dropout, batch_first=True)
        flat = num_modalities * hidden_size
        if gate_form == "paper":
            self.modality_gate = nn.Sequential(nn.Linear(flat, hidden_size), nn.GELU(),
                                               nn.Linear(hidden_size, num_modalities))
        else:
            self.modality_gate = nn.Linear(flat, num_modalities)
        self.confidence_logits = nn.Parameter(torch.full((num_modalities,), float(confidence_init)))
        self.head = score_head(hidden_size, dropout)

    def forward(self, pooled: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # pooled: [B, M, D], mask: [B, M] -> y_aux [B], gate G [B, M], confidence alpha [B, M]
        normed = torch.stack([norm(pooled[:, i]) for i, norm in enumerate(self.norms)], dim=1)
        attended, _ = self.attention(normed, normed, normed, need_weights=False)  # [B, M, D]
        gate_input = normed if self.gate_form == "paper" else attended  # [B, M, D]
        gate = self.modality_gate(gate_input.flatten(1)).softmax(dim=-1)  # [B, M]
        observed = mask.to(attended.dtype)
        confidence = observed + (1 - observed) * torch.sigmoid(self.confidence_logits)  # [B, M]
        z_aux = torch.einsum("bm,bmd->bd", confidence * gate, attended)
        return torch.sigmoid(self.head(z_aux)).squeeze(-1), gate, confidence
