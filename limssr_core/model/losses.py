"""Training losses: L = 10 MSE(y, t) + 1 MSE(y_main, y_aux) + 1 L_reg (the paper's Sec. 3.4; docs/method.md).

L_reg keeps the K fusion tokens from collapsing onto each other. Two forms:
- `triplet` (the default): the published code's, exactly: batch-hard triplet loss over every fusion token of the
  batch, cosine distance, margin 1, the token index as the label. It is the default because it is the form the
  published results were obtained with; the paper's Eq. 17, taken literally, cannot tell collapsed tokens from
  orthogonal ones, so it is not implemented as written.
- `cosine-hinge` (ours; `margin` in checkpoints written before it was renamed): per sample, the mean over token
  pairs of relu(cos - (1 - margin)); with margin 1 any positive cosine similarity between two tokens is penalised.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

FUSION_REGULARISERS = ("triplet", "cosine-hinge")


def fusion_cosine_hinge_loss(fusion_states: Tensor, margin: float = 1.0) -> Tensor:
    """Ours: mean over a sample's token pairs of relu(cos - (1 - margin)). fusion_states: [B, K, D] -> []."""
    k = fusion_states.shape[1]
    if k < 2:
        return fusion_states.new_zeros(())
    unit = F.normalize(fusion_states.float(), dim=-1)
    cosine = unit @ unit.transpose(1, 2)  # [B, K, K]
    pairs = torch.triu_indices(k, k, offset=1, device=cosine.device)
    return F.relu(cosine[:, pairs[0], pairs[1]] - (1.0 - margin)).mean()


def fusion_triplet_loss(fusion_states: Tensor, margin: float = 1.0) -> Tensor:
    """The published code's form: batch-hard triplet loss, cosine distance, token index as label. [B, K, D] -> []."""
    b, k, _ = fusion_states.shape
    if k < 2:
        return fusion_states.new_zeros(())
    points = F.normalize(fusion_states.float(), dim=-1).reshape(b * k, -1)  # [B*K, D]
    labels = torch.arange(k, device=points.device).repeat(b)  # [B*K]: token index
    distance = 1.0 - points @ points.T  # [B*K, B*K] cosine distance
    same = labels[:, None] == labels[None, :]
    hardest_positive = distance.masked_fill(~same, float("-inf")).max(dim=1).values  # farthest same-index token
    hardest_negative = distance.masked_fill(same, float("inf")).min(dim=1).values  # nearest other-index token
    return F.relu(hardest_positive - hardest_negative + margin).mean()


def limssr_loss(y: Tensor, y_main: Tensor, y_aux: Tensor, target: Tensor, fusion_states: Tensor, config) -> dict:
    score = F.mse_loss(y.float(), target.float())
    consistency = F.mse_loss(y_main.float(), y_aux.float())
    if config.fusion_reg == "triplet":
        reg = fusion_triplet_loss(fusion_states, config.fusion_reg_margin)
    else:
        reg = fusion_cosine_hinge_loss(fusion_states, config.fusion_reg_margin)
    total = (config.score_loss_weight * score + config.consistency_loss_weight * consistency
             + config.fusion_reg_weight * reg)
    return {"loss": total, "score": score.detach(), "consistency": consistency.detach(), "fusion_reg": reg.detach()}
