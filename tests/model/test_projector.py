"""BatchNorm under per-sample masks: too few observing samples -> running statistics, not their own; feature
standardisation and principal components with training-split statistics."""

import pytest
import torch

from limssr_core.model.projector import MIN_OBSERVERS, ModalityProjector, principal_components


def test_a_lone_observer_keeps_its_mean_and_leaves_the_running_statistics_alone():
    torch.manual_seed(0)
    projector = ModalityProjector(6, 16, dropout=0.0).train()
    segments = torch.randn(9, 6) + 3.0  # one sample's 9 segments, far from zero mean
    running = projector.net[1].running_mean.clone()
    out = projector(segments, observers=1)
    assert out.mean(dim=0).abs().max() > 0.05  # its mean is not removed
    assert torch.equal(projector.net[1].running_mean, running)  # and it did not move the statistics
    plain = projector.net(segments)  # what training-mode BatchNorm would have done
    assert plain.mean(dim=0).abs().max() < 1e-5


def test_enough_observers_use_batch_statistics():
    torch.manual_seed(0)
    projector = ModalityProjector(6, 16, dropout=0.0).train()
    out = projector(torch.randn(40, 6) + 3.0, observers=MIN_OBSERVERS)
    assert out.mean(dim=0).abs().max() < 1e-5  # batch-normalised over the observers' segments


def test_a_small_batch_lowers_the_threshold():
    torch.manual_seed(0)
    projector = ModalityProjector(6, 16, dropout=0.0).train()
    out = projector(torch.randn(12, 6) + 3.0, observers=3, batch_size=3)  # every sample of a last, small batch
    assert out.mean(dim=0).abs().max() < 1e-5


def test_segment_statistics_are_per_dimension_over_every_segment():
    import numpy as np

    from limssr_core.model.projector import segment_statistics

    rng = np.random.default_rng(0)
    arrays = [rng.normal(5.0, 3.0, size=(n, 4)) for n in (3, 7, 11)]
    arrays[1][:, 2] = 2.0
    for array in arrays:
        array[:, 2] = 2.0  # a dimension that never varies
    mean, scale = segment_statistics(arrays, 4)
    stacked = np.concatenate(arrays)
    np.testing.assert_allclose(mean, stacked.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(scale[[0, 1, 3]], stacked.std(axis=0)[[0, 1, 3]], rtol=1e-4)
    assert scale[2] == 1.0  # only shifted, never divided by ~0
    mean, scale = segment_statistics([], 4)
    assert (mean == 0).all() and (scale == 1).all()


def test_a_standardising_projector_sees_standardised_features():
    import numpy as np

    torch.manual_seed(0)
    projector = ModalityProjector(3, 8, dropout=0.0, standardise=True).eval()
    raw = torch.tensor([[100.0, 0.001, -7.0], [300.0, 0.003, -5.0]])
    plain = ModalityProjector(3, 8, dropout=0.0).eval()
    plain.load_state_dict({k: v for k, v in projector.state_dict().items() if not k.startswith("feature_")})
    projector.set_feature_statistics(np.array([200.0, 0.002, -6.0]), np.array([100.0, 0.001, 1.0]))
    expected = plain(torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]))
    torch.testing.assert_close(projector(raw), expected)
    assert {"feature_mean", "feature_scale"} <= set(projector.state_dict())  # saved with the weights
    assert "feature_mean" not in plain.state_dict()  # format-1/2 checkpoints keep their exact weights


def test_principal_components_are_sklearns_and_capped_by_the_segments():
    import numpy as np

    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=(n, 6)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1, 0.01]) + 2.0 for n in (4, 9)]
    mean, basis = principal_components(arrays, 3)
    stacked = np.concatenate(arrays)
    np.testing.assert_allclose(mean, stacked.mean(axis=0), rtol=1e-5)
    assert basis.shape == (3, 6)
    np.testing.assert_allclose(basis @ basis.T, np.eye(3), atol=1e-5)  # orthonormal rows
    assert np.argmax(np.abs(basis[0])) == 0  # the widest direction first
    _, few = principal_components([arrays[0][:2]], 5)
    assert few.shape == (2, 6)  # two segments span at most two directions


def test_a_projector_with_components_sees_the_projected_coordinates():
    import numpy as np

    torch.manual_seed(0)
    projector = ModalityProjector(5, 8, dropout=0.0, components=2).eval()
    assert projector.net[0].in_features == 2
    plain = ModalityProjector(2, 8, dropout=0.0).eval()
    plain.load_state_dict({k: v for k, v in projector.state_dict().items() if not k.startswith("component_")})
    mean = np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float32)
    basis = np.array([[1.0, 0, 0, 0, 0]], dtype=np.float32)  # one direction found: the second row stays zero
    projector.set_feature_components(mean, basis)
    raw = torch.tensor([[3.0, 9.0, 9.0, 9.0, 9.0], [0.0, 9.0, 9.0, 9.0, 9.0]])
    torch.testing.assert_close(projector(raw), plain(torch.tensor([[2.0, 0.0], [-1.0, 0.0]])))
    assert {"component_mean", "component_basis"} <= set(projector.state_dict())  # saved with the weights
    narrow = ModalityProjector(2, 8, dropout=0.0, components=2)  # no wider than k: its features enter whole
    assert narrow.components == 0 and "component_basis" not in narrow.state_dict()
    with pytest.raises(ValueError, match="without principal components"):
        narrow.set_feature_components(mean[:2], basis[:, :2])


def test_components_are_fitted_on_standardised_segments_where_the_projector_standardises():
    import numpy as np

    projector = ModalityProjector(3, 8, dropout=0.0, standardise=True, components=2)
    projector.set_feature_statistics(np.array([10.0, 0.0, -1.0]), np.array([2.0, 1.0, 0.5]))
    segments = np.array([[12.0, 1.0, 0.0], [8.0, -1.0, -2.0]])
    np.testing.assert_allclose(projector.standardised(segments), [[1.0, 1.0, 2.0], [-1.0, -1.0, -2.0]])
    plain = ModalityProjector(3, 8, dropout=0.0, components=2)
    np.testing.assert_array_equal(plain.standardised(segments), segments)  # no standardisation: as they are
