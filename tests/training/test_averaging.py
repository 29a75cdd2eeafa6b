import pytest
import torch

from limssr_core.data.dataset import load_dataset
from limssr_core.errors import LimssrError
from limssr_core.training.averaging import (
    MIN_SELECTION_SAMPLES,
    WeightAverage,
    first_averaged_epoch,
    resolve_keep,
)
from limssr_core.training.run import build_config
from limssr_core.training.trainer import Trainer, resumable_state


def test_auto_keeps_the_best_epoch_only_with_a_large_validation_split():
    assert resolve_keep("auto", MIN_SELECTION_SAMPLES) == "best-epoch"
    assert resolve_keep("auto", MIN_SELECTION_SAMPLES - 1) == "average"
    assert resolve_keep("best-epoch", 4) == "best-epoch" and resolve_keep("average", 500) == "average"
    with pytest.raises(LimssrError, match="--keep-weights must be one of"):
        resolve_keep("last", 10)
    assert first_averaged_epoch(30) == 15 and first_averaged_epoch(1) == 0


def test_weight_average_is_the_arithmetic_mean_and_survives_a_round_trip():
    states = [{"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)},
              {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(4)},
              {"w": torch.tensor([5.0, 1.0]), "n": torch.tensor(5)}]
    average = WeightAverage()
    average.update(states[0])
    average = WeightAverage.from_state(average.to_state())  # resumed between two epochs
    for state in states[1:]:
        average.update(state)
    out = average.averaged({"w": torch.zeros(2, dtype=torch.bfloat16), "n": torch.tensor(0)})
    assert out["w"].dtype == torch.bfloat16 and torch.allclose(out["w"].float(), torch.tensor([3.0, 3.0]))
    assert int(out["n"]) == 5  # integer buffers take the latest value
    assert states[0]["w"].tolist() == [1.0, 2.0]  # the inputs are not modified
    with pytest.raises(LimssrError, match="no epoch"):
        WeightAverage().averaged({})


def averaging_trainer(data, out, backbone, **training):
    dataset = load_dataset(data, progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 4, "batch_size": 8, "warmup_epochs": 1, "keep_weights": "average"}
                          | training)
    return Trainer(config, dataset, out, backbone=backbone, progress=False, device="cpu")


def test_average_keeps_the_mean_of_the_second_half_and_validates_once(synth_dataset, tmp_path, make_backbone,
                                                                      monkeypatch):
    from limssr_core.model.checkpoint import load_checkpoint
    from limssr_core.training import trainer as trainer_module

    calls = []
    original_evaluate = trainer_module.evaluate_predictor
    monkeypatch.setattr(trainer_module, "evaluate_predictor",
                        lambda *a, **k: calls.append(1) or original_evaluate(*a, **k))
    epoch_end = []
    original_epoch = Trainer.train_epoch

    def recording_epoch(self):
        losses = original_epoch(self)
        epoch_end.append(resumable_state(self.unwrapped))
        return losses

    monkeypatch.setattr(Trainer, "train_epoch", recording_epoch)
    run = tmp_path / "run"
    result = averaging_trainer(synth_dataset, run, make_backbone()).fit()
    assert len(calls) == 1  # validated once, at the end, not every epoch
    assert [row["selection"] != row["selection"] for row in result.history] == [True] * 4  # NaN: not validated
    saved = resumable_state(load_checkpoint(run, backbone=make_backbone()))
    lora = [k for k in saved if "lora_A" in k]
    assert lora
    for key in lora + [k for k in saved if k.startswith("heads.") or k.startswith("projectors.")][:5]:
        expected = (epoch_end[2][key] + epoch_end[3][key]) / 2  # epochs 3 and 4 of 4
        torch.testing.assert_close(saved[key], expected.to(saved[key].dtype), rtol=1e-5, atol=1e-6)
        if key in lora:
            assert not torch.allclose(saved[key], epoch_end[3][key])  # not simply the last epoch's weights
    assert "the mean of the weights at the end of epochs 3-4" in (run / "README.md").read_text()
    assert "epochs 3-4" in result.kept and "spearman" in result.best_summary["full"]


def test_an_interrupted_averaging_run_resumes_to_the_same_weights(synth_dataset, tmp_path, make_backbone,
                                                                  monkeypatch):
    from limssr_core.model.checkpoint import load_checkpoint

    whole = tmp_path / "whole"
    averaging_trainer(synth_dataset, whole, make_backbone()).fit()
    run = tmp_path / "run"
    original = Trainer.train_epoch

    def interrupt_last_epoch(self):
        if self.epoch == 3:  # epoch 3 is already in the average
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Trainer, "train_epoch", interrupt_last_epoch)
    with pytest.raises(KeyboardInterrupt):
        averaging_trainer(synth_dataset, run, make_backbone()).fit()
    monkeypatch.setattr(Trainer, "train_epoch", original)
    resumed = averaging_trainer(synth_dataset, run, make_backbone())
    resumed.fit(resume=True)
    assert resumed.average.count == 2
    expected = resumable_state(load_checkpoint(whole, backbone=make_backbone()))
    got = resumable_state(load_checkpoint(run, backbone=make_backbone()))
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-6)
