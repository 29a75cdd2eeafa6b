import pytest

from limssr_core.training.schedule import lr_lambda, warmup_steps


def test_warmup_is_some_epochs_but_at_most_a_quarter_of_the_steps():
    assert warmup_steps(5, 7, 210) == 35  # the N = 60 study: 7 steps per epoch, 30 epochs
    assert warmup_steps(5, 4, 40) == 10  # a short run: a quarter of its 40 steps
    assert warmup_steps(0, 4, 40) == 0


def test_linear_warmup_to_the_peak_then_cosine_to_the_floor():
    factor = lr_lambda(100, 10, 0.1)
    assert [factor(step) for step in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert factor(10) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.55)  # half-way down the cosine: the mean of peak and floor
    assert factor(100) == pytest.approx(0.1) and factor(150) == pytest.approx(0.1)
    assert lr_lambda(100, 0, 0.1)(0) == pytest.approx(1.0)  # no warm-up: the peak from the first step
