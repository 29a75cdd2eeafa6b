import csv
import math
import time

import pytest
import torch

from limssr_core.data.dataset import load_dataset
from limssr_core.data.synth import SynthOptions, write_synthetic_dataset
from limssr_core.errors import DataError
from limssr_core.training.run import build_config, train
from limssr_core.training.trainer import Trainer


def config_for(dataset, length=8, preset=None, standardise=False, **training):
    """A tiny-random config: training settings as TrainingConfig fields (defaults: 2 epochs, batch 8)."""
    return build_config(dataset, model={"backbone": "tiny-random", "standardise_features": standardise},
                        preset=preset, length=length,
                        training={"epochs": 2, "batch_size": 8, "warmup_epochs": 1} | training)


def make_trainer(data, out, backbone, standardise=False, **training):
    dataset = load_dataset(data, progress=False)
    return Trainer(config_for(dataset, standardise=standardise, **training), dataset, out, backbone=backbone,
                   progress=False, device="cpu")


def test_training_learns_the_planted_signal_under_fixed_missingness(tmp_path, make_backbone):
    """Spearman >= 0.8 with all modalities and clearly above chance for each single modality, fixed:0.3."""
    data = tmp_path / "synth"
    write_synthetic_dataset(data, SynthOptions(modalities={"video": 32, "audio": 16, "text": 8}, n_samples=300,
                                               min_length=12, max_length=24, seed=0))
    started = time.time()
    dataset = load_dataset(data, progress=False)
    result = train(config_for(dataset, length=16, epochs=6, train_missing="fixed:0.3"), dataset, tmp_path / "run",
                   backbone=make_backbone(), progress=False)
    print(f"trained and evaluated in {time.time() - started:.1f} s")
    test = {tuple(s["modalities"]): s["spearman"] for s in result.test_summary["subsets"]}
    assert result.test_summary["full"]["spearman"] >= 0.8
    for name in ("video", "audio", "text"):
        assert test[(name,)] >= 0.4, (name, test[(name,)])
    card = (tmp_path / "run" / "README.md").read_text()
    assert card.count("Evaluation on the test split") == 1 and "model-index" in card
    # the test predictions beside the run: every test sample under every subset, the same figures as the summary
    from scipy.stats import spearmanr

    with open(tmp_path / "run" / "test_predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    n_test = len(dataset.split("test"))
    assert len(rows) == sum(s["n"] for s in result.test_summary["subsets"]) and \
        len({r["sample_id"] for r in rows}) == n_test
    full = [r for r in rows if r["subset"].count("+") == 2]
    rho = spearmanr([float(r["target"]) for r in full], [float(r["prediction"]) for r in full])[0]
    assert rho == pytest.approx(result.test_summary["full"]["spearman"], abs=1e-3)


def test_interrupted_run_resumes_without_losing_finished_epochs(synth_dataset, tmp_path, make_backbone,
                                                                monkeypatch):
    run = tmp_path / "run"
    trainer = make_trainer(synth_dataset, run, make_backbone(), epochs=4)
    original = Trainer.train_epoch

    def interrupt_third_epoch(self):
        if self.epoch == 2:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(Trainer, "train_epoch", interrupt_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    with open(run / "metrics.csv") as handle:
        before = list(csv.DictReader(handle))
    assert [row["epoch"] for row in before] == ["1", "2"]

    monkeypatch.setattr(Trainer, "train_epoch", original)
    resumed = make_trainer(synth_dataset, run, make_backbone(), epochs=4)
    result = resumed.fit(resume=True)
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4]
    assert result.history[0]["train_loss"] == pytest.approx(float(before[0]["train_loss"]), rel=1e-4)
    assert resumed.scheduler.scheduler.last_epoch == sum(row["steps"] for row in result.history)


def test_validation_is_carved_from_train_unless_test_selection_is_asked_for(synth_dataset, tmp_path,
                                                                            make_backbone):
    labels = synth_dataset / "labels.csv"
    labels.write_text(labels.read_text().replace(",val\n", ",train\n"))
    trainer = make_trainer(synth_dataset, tmp_path / "a", make_backbone())
    assert "carved from train" in trainer.splits.select_name
    train_ids = {s.sample_id for s in trainer.splits.train}
    assert train_ids.isdisjoint(s.sample_id for s in trainer.splits.select)
    assert all(s.split == "train" for s in trainer.splits.select)
    reproduction = make_trainer(synth_dataset, tmp_path / "b", make_backbone(), select_on="test")
    assert all(s.split == "test" for s in reproduction.splits.select)


def test_a_modality_never_observed_in_training_is_an_error(tmp_path, make_backbone):
    data = tmp_path / "d"
    write_synthetic_dataset(data, SynthOptions(modalities={"video": 4, "audio": 3}, n_samples=30, seed=1))
    for path in (data / "features" / "audio").glob("*.npy"):
        path.unlink()
    (data / "features" / "audio").rmdir()
    with pytest.raises(DataError, match="never observed"):
        make_trainer(data, tmp_path / "run", make_backbone())


def test_unknown_preset_is_a_clear_error(synth_dataset, tmp_path):
    from limssr_core.errors import LimssrError

    dataset = load_dataset(synth_dataset, progress=False)
    with pytest.raises(LimssrError, match="unknown preset 'fs1000-xyz'"):
        build_config(dataset, preset="fs1000-xyz")
    config = build_config(dataset, preset="rg-ball")
    assert config.modalities[0].length == 68 and config.training.epochs == 80
    assert config.projector_dropout == config.head_dropout == 0.35
    explicit = build_config(dataset, preset="rg-ball", training={"epochs": 3}, model={"head_dropout": 0.0})
    assert explicit.training.epochs == 3 and explicit.head_dropout == 0.0 and explicit.projector_dropout == 0.35
    config = build_config(dataset, length="text=3")
    assert [m.length for m in config.modalities] == [32, 32, 3]
    with pytest.raises(LimssrError, match="lidar=3"):
        build_config(dataset, length="lidar=3")
    with pytest.raises(LimssrError, match="unknown TrainingConfig setting"):
        build_config(dataset, training={"epoch": 3})


def test_bf16_on_cpu_trains_and_validates_under_bf16_autocast(synth_dataset, tmp_path, make_backbone, monkeypatch):
    import torch

    from limssr_core.training import trainer as trainer_module

    seen = []
    original = trainer_module.evaluate_predictor

    def recording_evaluate(*args, **kwargs):
        seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return original(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "evaluate_predictor", recording_evaluate)
    trainer = make_trainer(synth_dataset, tmp_path / "run", make_backbone(), epochs=1, mixed_precision="bf16")
    assert trainer.config.training.mixed_precision == "bf16"
    weights = dict(trainer.unwrapped.backbone.named_parameters())
    assert all(p.dtype == torch.bfloat16 for n, p in weights.items() if "lora_" not in n)  # frozen body in bf16
    assert all(p.dtype == torch.float32 for n, p in weights.items() if "lora_" in n)  # adapters in fp32
    assert all(p.dtype == torch.float32 for p in trainer.unwrapped.projectors.parameters())
    result = trainer.fit()
    assert seen == [(True, torch.bfloat16)]
    assert result.history[0]["train_loss"] == result.history[0]["train_loss"]  # finite, not NaN
    plain = make_trainer(synth_dataset, tmp_path / "plain", make_backbone(), epochs=1)
    assert plain.accelerator.mixed_precision == "no"  # auto on a CPU without native bf16 (conftest)
    monkeypatch.setattr("limssr_core.runtime.cpu_has_native_bf16", lambda: True)
    native = make_trainer(synth_dataset, tmp_path / "native", make_backbone(), epochs=1)
    assert native.accelerator.mixed_precision == "bf16"  # auto on an AMX / AVX512-BF16 CPU


@pytest.mark.parametrize("setting, in_steps", [("auto", "eager"), ("sdpa", "sdpa"), ("eager", "eager")])
def test_training_steps_use_the_chosen_attention_and_validation_keeps_sdpa(synth_dataset, tmp_path, make_backbone,
                                                                          monkeypatch, setting, in_steps):
    from limssr_core.model.backbone import transformers_body

    trainer = make_trainer(synth_dataset, tmp_path / setting, make_backbone(), epochs=1, train_attention=setting)
    seen = {"steps": set(), "validation": set()}

    def attention() -> str:
        return transformers_body(trainer.unwrapped.backbone).config._attn_implementation

    for method, key in (("train_step", "steps"), ("validate", "validation")):
        original = getattr(trainer, method)
        monkeypatch.setattr(trainer, method, lambda *a, _o=original, _k=key: (seen[_k].add(attention()), _o(*a))[1])
    trainer.fit()
    assert seen == {"steps": {in_steps}, "validation": {"sdpa"}}  # auto on a CPU: eager steps (runtime.py)
    assert attention() == "sdpa"


def test_log_with_tensorboard_goes_through_accelerate_and_keeps_metrics_csv(synth_dataset, tmp_path, make_backbone,
                                                                            monkeypatch):
    from limssr_core.errors import LimssrError
    from limssr_core.training import launch as launch_module

    run = tmp_path / "run"
    make_trainer(synth_dataset, run, make_backbone(), epochs=1, log_with="tensorboard").fit()
    assert list(run.rglob("events.out.tfevents.*"))  # written by accelerate's TensorBoard tracker
    assert (run / "metrics.csv").is_file()
    monkeypatch.setattr(launch_module, "has_package", lambda name: False)
    with pytest.raises(LimssrError, match="pip install wandb"):
        launch_module.check_tracker("wandb")
    with pytest.raises(LimssrError, match="use none"):
        launch_module.check_tracker("neptune")


def test_presets_are_the_papers():
    from limssr_core.training.presets import PRESETS

    epochs = {name: p["epochs"] for name, p in PRESETS.items()}
    assert epochs == {"fs1000-tes": 160, "fs1000-pcs": 100, "fs1000-ss": 130, "fs1000-tr": 90, "fs1000-pe": 130,
                      "fs1000-co": 200, "fs1000-in": 290, "fisv-tes": 270, "fisv-pcs": 140, "rg-ball": 80,
                      "rg-clubs": 100, "rg-hoop": 100, "rg-ribbon": 270}
    assert {name.split("-")[0]: (p["length"], p["dropout"]) for name, p in PRESETS.items()} == {
        "fs1000": (95, 0.15), "fisv": (124, 0.15), "rg": (68, 0.35)}


def test_the_run_log_states_the_effective_missing_rate(synth_dataset, tmp_path, make_backbone, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="limssr_core.training.trainer"):
        make_trainer(synth_dataset, tmp_path / "run", make_backbone(), train_missing="fixed:0.3")
    assert "fixed:0.3" in caplog.text and "% of the training split's (sample, modality) pairs are withheld" in \
        caplog.text


def test_projectors_standardise_with_statistics_of_what_training_observes(synth_dataset, tmp_path, make_backbone):
    import numpy as np

    from limssr_core.model.checkpoint import load_checkpoint
    from limssr_core.model.projector import segment_statistics

    trainer = make_trainer(synth_dataset, tmp_path / "run", make_backbone(), standardise=True, epochs=1,
                           train_missing="fixed:0.5")
    for j, modality in enumerate(trainer.config.modalities):
        observed = [s.features[modality.name] for s in trainer.splits.train if trainer.policy.observed(s)[j]]
        on_disk = [s.features[modality.name] for s in trainer.splits.train if modality.name in s.features]
        assert len(observed) < len(on_disk)  # some withheld by fixed:0.5: they must not count
        mean, scale = segment_statistics(observed, modality.dim)
        projector = trainer.unwrapped.projectors[modality.name]
        np.testing.assert_allclose(projector.feature_mean.numpy(), mean, rtol=1e-6)
        np.testing.assert_allclose(projector.feature_scale.numpy(), scale, rtol=1e-6)
        assert not np.allclose(mean, segment_statistics(on_disk, modality.dim)[0])
    trainer.fit()
    saved = load_checkpoint(tmp_path / "run", backbone=make_backbone())
    name = trainer.config.modalities[0].name
    torch_mean = saved.projectors[name].feature_mean
    np.testing.assert_allclose(torch_mean.numpy(), trainer.unwrapped.projectors[name].feature_mean.numpy())
    assert saved.config.standardise_features


def test_compiled_training_pads_to_cpu_buckets_and_trains(synth_dataset, tmp_path, make_backbone):
    """`--compile`: the body compiled in place on the model's device (CPU here: 16-position buckets); a step runs
    and the checkpoint's parameter names are those of an uncompiled run."""
    compiled = make_trainer(synth_dataset, tmp_path / "compiled", make_backbone(), epochs=1, compile=True)
    assert compiled.unwrapped.sequence_multiple == 16
    parts = compiled.train_step(list(range(4)))
    assert parts.shape == (4,) and torch.isfinite(parts).all()  # loss, score, consistency, fusion_reg
    plain = make_trainer(synth_dataset, tmp_path / "plain", make_backbone(), epochs=1)
    assert plain.unwrapped.sequence_multiple == 1
    assert compiled.unwrapped.head_state_dict().keys() == plain.unwrapped.head_state_dict().keys()
    assert [n for n, _ in compiled.unwrapped.named_parameters()] == [n for n, _ in plain.unwrapped.named_parameters()]


def test_the_epoch_log_says_constant_for_a_collapsed_full_set(caplog):
    import logging
    from types import SimpleNamespace

    from limssr_core.training.trainer import Trainer

    host = SimpleNamespace(accelerator=SimpleNamespace(is_main_process=True), write_metrics=lambda: None, tracker=None)
    row = {"epoch": 3, "train_loss": 0.5, "val_full_spearman": math.nan, "val_average_spearman": 0.1,
           "selection": 0.1, "best": 0}
    collapsed = {"full": {"spearman": math.nan, "mse": 1.0, "constant": True}}
    fine = {"full": {"spearman": 0.7, "mse": 1.0, "constant": False}}
    with caplog.at_level(logging.INFO, logger="limssr_core.training.trainer"):
        Trainer.log(host, row, collapsed)
        Trainer.log(host, dict(row, val_full_spearman=0.7, best=1), fine)
        Trainer.log(host, dict(row, selection=math.nan))  # not validated this epoch
    assert [r.getMessage() for r in caplog.records] == [
        "epoch 3: loss 0.5000  val rho full constant avg-incomplete 0.100",
        "epoch 3: loss 0.5000  val rho full 0.700 avg-incomplete 0.100  (best, saved)",
        "epoch 3: loss 0.5000"]


@pytest.mark.parametrize("resumed_best", [None, (0, 0.9)])
def test_selection_validates_and_chooses_only_epochs_after_the_warmup(synth_dataset, tmp_path, make_backbone,
                                                                     monkeypatch, resumed_best):
    """Warm-up epochs are neither validated nor chosen, however a handful of validation samples would score them;
    nor is a warm-up epoch that a state saved by an earlier version holds as its best (resumed_best)."""
    trainer = make_trainer(synth_dataset, tmp_path / "run", make_backbone(), epochs=8, warmup_epochs=2)
    if resumed_best is not None:
        trainer.best_epoch, trainer.best_selection = resumed_best
    assert trainer.warmup_steps == 2 * trainer.steps_per_epoch  # two of eight epochs: within a quarter of the steps
    figures = iter([0.1, 0.3, 0.2, 0.25, 0.0, 0.05])  # epochs 3-8
    saved = []
    monkeypatch.setattr(trainer, "train_epoch", lambda: {"loss": 0.0, "score": 0.0, "consistency": 0.0,
                                                         "fusion_reg": 0.0, "steps": trainer.steps_per_epoch})
    monkeypatch.setattr(trainer, "validate", lambda: ({"full": {"spearman": 0.0},
                                                       "average_incomplete": {"spearman": 0.0}}, next(figures)))
    monkeypatch.setattr(trainer, "save_checkpoint", lambda summary: saved.append(trainer.epoch + 1))
    result = trainer.fit()
    assert result.best_epoch == 4 and result.best_selection == 0.3
    assert saved == [3, 4]
    assert [row["best"] for row in result.history] == [0, 0, 1, 1, 0, 0, 0, 0]
    assert [math.isnan(row["selection"]) for row in result.history] == [True, True] + [False] * 6


def test_wide_projectors_take_principal_components_of_what_training_observes(synth_dataset, tmp_path,
                                                                              make_backbone):
    import numpy as np

    from limssr_core.model.checkpoint import load_checkpoint
    from limssr_core.model.projector import principal_components

    dataset = load_dataset(synth_dataset, progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random", "feature_components": 6}, length=8,
                          training={"epochs": 1, "batch_size": 8, "warmup_epochs": 0, "train_missing": "fixed:0.5"})
    trainer = Trainer(config, dataset, tmp_path / "run", backbone=make_backbone(), progress=False, device="cpu")
    widths = {m.name: trainer.unwrapped.projectors[m.name].components for m in trainer.config.modalities}
    assert widths == {"video": 6, "audio": 6, "text": 0}  # dims 12, 8, 4: only the wider ones are reduced
    for j, modality in enumerate(trainer.config.modalities[:2]):
        observed = [s.features[modality.name] for s in trainer.splits.train if trainer.policy.observed(s)[j]]
        mean, basis = principal_components(observed, 6)
        projector = trainer.unwrapped.projectors[modality.name]
        np.testing.assert_allclose(projector.component_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.abs(projector.component_basis.numpy()), np.abs(basis), atol=1e-5)
    trainer.fit()
    saved = load_checkpoint(tmp_path / "run", backbone=make_backbone())
    assert saved.config.feature_components == 6
    np.testing.assert_array_equal(saved.projectors["video"].component_basis.numpy(),
                                  trainer.unwrapped.projectors["video"].component_basis.numpy())
