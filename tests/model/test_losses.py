import pytest
import torch
import torch.nn.functional as F

from limssr_core.model.losses import fusion_cosine_hinge_loss, fusion_triplet_loss, limssr_loss


def mean_pairwise_cosine(states: torch.Tensor) -> float:
    unit = F.normalize(states, dim=-1)
    cos = unit @ unit.transpose(1, 2)
    k = states.shape[1]
    off_diagonal = ~torch.eye(k, dtype=torch.bool)
    return float(cos[:, off_diagonal].mean())


@pytest.mark.parametrize("loss_fn", [fusion_cosine_hinge_loss, fusion_triplet_loss])
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


def test_cosine_hinge_is_zero_for_orthogonal_tokens():
    states = torch.eye(4).unsqueeze(0).repeat(2, 1, 1)
    assert float(fusion_cosine_hinge_loss(states, margin=1.0)) == 0.0


@pytest.mark.parametrize("loss_fn", [fusion_cosine_hinge_loss, fusion_triplet_loss])
def test_each_regulariser_separates_collapsed_from_spread_tokens(loss_fn):
    torch.manual_seed(0)
    collapsed = torch.randn(6, 1, 16).repeat(1, 4, 1)  # every sample's 4 tokens identical
    spread = torch.eye(16)[:4].unsqueeze(0).repeat(6, 1, 1) + 0.01 * torch.randn(6, 4, 16)  # one direction each
    assert float(loss_fn(collapsed)) > 0.5 > 0.05 > float(loss_fn(spread))


def test_the_triplet_form_uses_cosine_distance_with_margin_one():
    # token 0 and token 1 at 90 degrees in both samples: positives at distance 0, negatives at cosine distance 1
    states = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 3.0]]])
    assert float(fusion_triplet_loss(states, margin=1.0)) == pytest.approx(0.0, abs=1e-6)  # 0 - 1 + 1
    # Euclidean distance between the unit vectors would be sqrt(2) and give relu(0 - 1.414 + 1) = 0 too; at 60
    # degrees cosine distance is 0.5 (loss 0.5) where the Euclidean one is 1.0 (loss 0): the forms differ
    sixty = torch.tensor([[[1.0, 0.0], [0.5, 3 ** 0.5 / 2]]]).repeat(2, 1, 1)
    assert float(fusion_triplet_loss(sixty, margin=1.0)) == pytest.approx(0.5, abs=1e-5)


def test_total_loss_weights(tiny_config):
    y, y_main, y_aux = torch.tensor([0.5, 0.2]), torch.tensor([0.4, 0.1]), torch.tensor([0.6, 0.3])
    target = torch.tensor([0.3, 0.2])
    states = torch.eye(4).unsqueeze(0).repeat(2, 1, 1)
    parts = limssr_loss(y, y_main, y_aux, target, states, tiny_config)
    expected = 10 * ((0.2**2 + 0) / 2) + 1 * ((0.2**2 + 0.2**2) / 2) + 0
    assert float(parts["loss"]) == pytest.approx(expected, rel=1e-5)


def test_checkpoints_that_say_margin_get_the_cosine_hinge_they_were_trained_with():
    from limssr_core.config import LimssrConfig, ModalityConfig

    legacy = LimssrConfig.from_json({"modalities": [{"name": "video", "dim": 3}], "fusion_reg": "margin"})
    assert legacy.fusion_reg == "cosine-hinge"
    assert LimssrConfig(modalities=[ModalityConfig("video", 3)]).fusion_reg == "triplet"
