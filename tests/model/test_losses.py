import pytest
import torch
import torch.nn.functional as F

from limssr_core.model.losses import fusion_margin_loss, fusion_triplet_loss, limssr_loss


def mean_pairwise_cosine(states: torch.Tensor) -> float:
    unit = F.normalize(states, dim=-1)
    cos = unit @ unit.transpose(1, 2)
    k = states.shape[1]
    off_diagonal = ~torch.eye(k, dtype=torch.bool)
    return float(cos[:, off_diagonal].mean())


@pytest.mark.parametrize("loss_fn", [fusion_margin_loss, fusion_triplet_loss])
def test_fusion_regulariser_decreases_token_similarity(loss_fn):
    torch.manual_seed(0)
    shared = torch.randn(1, 1, 32)
    states = (shared + 0.1 * torch.randn(8, 4, 32)).requires_grad_(True)  # collapsed: tokens nearly identical
    before = mean_pairwise_cosine(states.detach())
    optimizer = torch.optim.Adam([states], lr=0.05)
    first = float(loss_fn(states).detach())
    for _ in range(100):
        optimizer.zero_grad()
        loss = loss_fn(states)
        loss.backward()
        optimizer.step()
    after = mean_pairwise_cosine(states.detach())
    assert before > 0.9
    assert after < before - 0.3
    assert float(loss_fn(states).detach()) < first


def test_margin_loss_is_zero_for_orthogonal_tokens():
    states = torch.eye(4).unsqueeze(0).repeat(2, 1, 1)
    assert float(fusion_margin_loss(states, margin=1.0)) == 0.0


def test_total_loss_weights(tiny_config):
    y, y_main, y_aux = torch.tensor([0.5, 0.2]), torch.tensor([0.4, 0.1]), torch.tensor([0.6, 0.3])
    target = torch.tensor([0.3, 0.2])
    states = torch.eye(4).unsqueeze(0).repeat(2, 1, 1)
    parts = limssr_loss(y, y_main, y_aux, target, states, tiny_config)
    expected = 10 * ((0.2**2 + 0) / 2) + 1 * ((0.2**2 + 0.2**2) / 2) + 0
    assert float(parts["loss"]) == pytest.approx(expected, rel=1e-5)
