"""Training losses (METHOD.md section 2.5): L = 10 MSE(y, t) + 1 MSE(y_main, y_aux) + 1 L_reg."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def fusion_margin_loss(fusion_states: Tensor, margin: float = 1.0) -> Tensor:
    """Paper form: penalise cosine similarity between a sample's fusion tokens above 1 - margin.

    fusion_states: [B, K, D]. With margin 1 any positive similarity between two tokens is penalised.
    """
    k = fusion_states.shape[1]
    if k < 2:
        return fusion_states.new_zeros(())
    unit = F.normalize(fusion_states.float(), dim=-1)
    cosine = unit @ unit.transpose(1, 2)  # [B, K, K]
    pairs = torch.triu_indices(k, k, offset=1, device=cosine.device)
    return F.relu(cosine[:, pairs[0], pairs[1]] - (1.0 - margin)).mean()


def fusion_triplet_loss(fusion_states: Tensor, margin: float = 1.0) -> Tensor:
    """Published-code form: batch-hard triplet loss over all fusion tokens with the token index as the label."""
    b, k, _ = fusion_states.shape
    if k < 2:
        return fusion_states.new_zeros(())
    points = F.normalize(fusion_states.float(), dim=-1).reshape(b * k, -1)
    labels = torch.arange(k, device=points.device).repeat(b)
    distance = torch.cdist(points, points)
    same = labels[:, None] == labels[None, :]
    hardest_positive = (distance * same).max(dim=1).values
    hardest_negative = distance.masked_fill(same, float("inf")).min(dim=1).values
    return F.relu(hardest_positive - hardest_negative + margin).mean()


def limssr_loss(y: Tensor, y_main: Tensor, y_aux: Tensor, target: Tensor, fusion_states: Tensor, config) -> dict:
    score = F.mse_loss(y.float(), target.float())
    consistency = F.mse_loss(y_main.float(), y_aux.float())
    if config.fusion_reg == "triplet":
        reg = fusion_triplet_loss(fusion_states, config.fusion_reg_margin)
    else:
        reg = fusion_margin_loss(fusion_states, config.fusion_reg_margin)
    total = (config.score_loss_weight * score + config.consistency_loss_weight * consistency
             + config.fusion_reg_weight * reg)
    return {"loss": total, "score": score.detach(), "consistency": consistency.detach(), "fusion_reg": reg.detach()}
