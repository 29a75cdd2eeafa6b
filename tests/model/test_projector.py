"""BatchNorm under per-sample masks: too few observing samples -> running statistics, not their own."""

import torch

from limssr_core.model.projector import MIN_OBSERVERS, ModalityProjector


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
