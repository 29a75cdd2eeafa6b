"""`train --refit`: choose the epoch on val, then train again on train + val up to it (training/refit.py); `auto`, the
default, refits when the validation split is carved out of the training rows."""

import csv
import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from limssr_core.config import TrainingConfig
from limssr_core.data.dataset import load_dataset
from limssr_core.errors import LimssrError
from limssr_core.model import checkpoint as checkpoint_module
from limssr_core.model.checkpoint import checkpoint_fingerprint, load_checkpoint
from limssr_core.model.ensemble import LimssrEnsemble
from limssr_core.model.hub import REFITS_DIR, SELECTION_DIR, is_checkpoint_file
from limssr_core.model.limssr import LimssrModel
from limssr_core.model.runner import normalised_predictions
from limssr_core.training.refit import refit_applies
from limssr_core.training.run import build_config, calibrate, train
from limssr_core.training import refit as refit_module
from limssr_core.training import run as run_module
from limssr_core.training import trainer as trainer_module
from limssr_core.training.splits import make_splits
from limssr_core.training.trainer import RefitPlan, Trainer


def test_refit_settings_are_checked():
    for settings in ({"folds": 2}, {"select_on": "test"}, {"keep_weights": "average"}, {"keep_weights": "auto"}):
        with pytest.raises(LimssrError, match="--refit on trains again"):
            TrainingConfig(refit="on", **settings)
        assert not TrainingConfig(**settings).refit_compatible  # `auto` then simply does not refit
    with pytest.raises(LimssrError, match="--refit must be one of auto, on, off"):
        TrainingConfig(refit="yes")
    assert TrainingConfig().refit == "auto" and TrainingConfig().refit_compatible
    # configs written before `auto` stored a bool
    assert TrainingConfig(refit=True).refit == "on" and TrainingConfig(refit=False).refit == "off"


def test_auto_refits_only_when_the_validation_split_is_carved(synth_dataset, tmp_path):
    with_val = load_dataset(synth_dataset, progress=False)
    assert with_val.split("val")
    rows = (synth_dataset / "labels.csv").read_text().splitlines()
    carved_root = tmp_path / "carved"
    carved_root.mkdir()
    for name in ("dataset.json", "features"):
        (carved_root / name).symlink_to(synth_dataset / name)
    (carved_root / "labels.csv").write_text("\n".join(row.replace(",val", ",train") for row in rows) + "\n")
    carved = load_dataset(carved_root, progress=False)
    labelled = with_val.split("train") + with_val.split("val")
    assert not carved.split("val") and len(carved.split("train")) == len(labelled)
    auto, on, off = TrainingConfig(), TrainingConfig(refit="on"), TrainingConfig(refit="off")
    assert refit_applies(auto, carved) and not refit_applies(auto, with_val)
    assert refit_applies(on, with_val) and refit_applies(on, carved)
    assert not refit_applies(off, carved)
    assert not refit_applies(TrainingConfig(folds=3), carved)  # an ensemble selects each member on its own fold
    assert not refit_applies(TrainingConfig(keep_weights="average"), carved)


def test_the_second_run_trains_on_train_and_val_and_stops_after_the_chosen_epoch(synth_dataset, tmp_path):
    dataset = load_dataset(synth_dataset, progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 4, "batch_size": 8, "warmup_epochs": 1, "refit": "on"})
    splits = make_splits(dataset, config)
    summary, selection = Trainer(config, dataset, tmp_path / "first", progress=False, device="cpu").validate()
    trainer = Trainer(config, dataset, tmp_path / "run", progress=False, device="cpu",
                      refit=RefitPlan(epochs=2, summary=summary, selection=selection))
    assert {s.sample_id for s in trainer.splits.train} == {s.sample_id for s in splits.train + splits.select}
    assert len(trainer.splits.train) == len(splits.train) + len(splits.select)
    result = trainer.fit()
    assert [row["epoch"] for row in result.history] == [1, 2]  # stopped after the chosen epoch
    assert result.best_epoch == 2 and result.keep == "refit"
    assert result.best_summary is summary and result.best_selection == selection  # the first run's figures
    assert all(row["val_full_spearman"] != row["val_full_spearman"] for row in result.history)  # never validated
    assert "second run" in result.kept and (tmp_path / "run" / "state" / "refit_state.pt").is_file()
    # the schedule is the one of all 4 epochs: after 2 of them the learning rate has not reached its floor
    assert result.history[-1]["lr"] > config.training.lr * config.training.min_lr_ratio * 1.01


@pytest.fixture(scope="module")
def refit_run(module_synth_dataset):
    root = module_synth_dataset.parent
    dataset = load_dataset(root / "data", progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 3, "batch_size": 8, "warmup_epochs": 1, "refit": "on",
                                    "train_missing": "fixed:0.3"})
    loads = []
    with pytest.MonkeyPatch.context() as patch:  # count the backbones the whole run loads (their weights: memory)
        for module in (checkpoint_module, refit_module, run_module, trainer_module):  # every caller
            original = module.load_backbone
            patch.setattr(module, "load_backbone", lambda *a, _load=original, **k: loads.append(a) or _load(*a, **k))
        result = train(config, dataset, root / "run", device="cpu", progress=False)
    return root / "run", dataset, result, len(loads)


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_a_refit_run_keeps_the_second_runs_weights_for_the_first_runs_epoch(refit_run):
    run, dataset, result, _ = refit_run
    first, second = _rows(run / SELECTION_DIR / "metrics.csv"), _rows(run / "metrics.csv")
    chosen = next(int(row["epoch"]) for row in first if row["best"] == "1" and
                  float(row["selection"]) == max(float(r["selection"]) for r in first))
    assert len(first) == 3 and len(second) == chosen == result.best_epoch
    weights, selection_weights = (load_file(folder / "limssr_weights.safetensors")
                                  for folder in (run, run / SELECTION_DIR))
    assert weights.keys() == selection_weights.keys()
    assert any(not torch.equal(weights[k], selection_weights[k]) for k in weights)  # trained again, not copied
    config = json.loads((run / "limssr_config.json").read_text())
    assert config["training"]["refit"] == "on"
    card = (run / "README.md").read_text()
    assert "second run on the training and validation samples" in card and "built-in baseline" in card
    labelled = len(dataset.split("train")) + len(dataset.split("val"))
    assert f"({labelled} training samples)" in card
    assert len(result.history) == 3 + chosen  # both runs' epochs: what the run cost
    assert result.test_summary is not None and (run / "test_predictions.csv").is_file()


def test_a_refit_run_scores_as_the_mean_of_the_refitted_model_and_the_first_run(refit_run, tmp_path):
    run, dataset, result, _ = refit_run
    pair = load_checkpoint(run)  # training.refit_keep = both, the default
    assert isinstance(pair, LimssrEnsemble) and len(pair.members) == 2
    shutil.copytree(run, tmp_path / "alone", ignore=shutil.ignore_patterns(SELECTION_DIR))  # the refitted model alone
    refitted, first = load_checkpoint(tmp_path / "alone"), load_checkpoint(run / SELECTION_DIR)
    assert isinstance(refitted, LimssrModel) and isinstance(first, LimssrModel)
    test = dataset.split("test")
    masks = [tuple(name in s.features for name in pair.config.modality_names) for s in test]
    mean = (normalised_predictions(refitted, test, masks) + normalised_predictions(first, test, masks)) / 2
    assert np.allclose(normalised_predictions(pair, test, masks), mean, atol=1e-6)
    assert "mean of it and the first run" in result.kept
    assert "mean of it and the first run" in (run / "README.md").read_text()
    # the test table is the pair's: its predictions file holds the mean of both members
    rows = {(r["sample_id"], r["subset"]): float(r["prediction"]) for r in _rows(run / "test_predictions.csv")}
    full = "+".join(pair.config.modality_names)
    complete = [(sample, value) for sample, value in zip(test, mean)
                if all(name in sample.features for name in pair.config.modality_names)]
    assert complete  # the check below is not vacuous
    for sample, value in complete:
        assert rows[(sample.sample_id, full)] == pytest.approx(pair.config.denormalise(float(value)), abs=1e-3)
    # the fingerprint covers both members' weights; the Hub download takes selection/'s checkpoint files only
    before = checkpoint_fingerprint(run)
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    weights = load_file(copy / SELECTION_DIR / "limssr_weights.safetensors")
    save_file({k: v + 1 for k, v in weights.items()}, copy / SELECTION_DIR / "limssr_weights.safetensors")
    assert checkpoint_fingerprint(copy) != before
    assert is_checkpoint_file(f"{SELECTION_DIR}/limssr_weights.safetensors")
    assert is_checkpoint_file(f"{SELECTION_DIR}/adapter/adapter_model.safetensors")
    assert not is_checkpoint_file(f"{SELECTION_DIR}/state/trainer_state.pt")


def test_refit_keep_refit_and_older_refitted_runs_load_the_refitted_model_alone(refit_run, tmp_path):
    run, *_ = refit_run
    for name, edit in (("refit", lambda raw: raw["training"].update(refit_keep="refit")),
                       ("format-4", lambda raw: (raw["training"].pop("refit_keep"), raw.update(format_version=4)))):
        copy = tmp_path / name
        shutil.copytree(run, copy)
        raw = json.loads((copy / "limssr_config.json").read_text())
        edit(raw)
        (copy / "limssr_config.json").write_text(json.dumps(raw))
        model = load_checkpoint(copy)
        assert isinstance(model, LimssrModel) and model.config.training.refit_keep == "refit"


def test_a_refit_run_loads_one_body_to_train_and_one_to_evaluate(refit_run):
    # both runs train on copies of one body; the refitted model and the first run's (judged for calibration) are
    # evaluated on copies of one fresh fp32 body
    assert refit_run[3] == 2


def test_a_refit_run_is_calibrated_on_the_first_runs_validation_errors(refit_run):
    run, dataset, _, _ = refit_run
    saved = load_checkpoint(run).config.calibration
    first = load_checkpoint(run / SELECTION_DIR)
    splits = make_splits(dataset, first.config)
    expected = calibrate(first, splits.select, "val", splits.train + splits.select).to_json()
    assert saved["split"] == "val" and saved["errors"] == expected["errors"]


def test_resuming_a_finished_refit_run_trains_nothing_and_saves_the_same_weights(refit_run, monkeypatch):
    run, dataset, result, _ = refit_run
    before = load_file(run / "limssr_weights.safetensors")
    states = {path: path.stat().st_mtime_ns for path in (run / "state" / "refit_state.pt",
                                                          run / SELECTION_DIR / "state" / "trainer_state.pt")}
    (run / "limssr_weights.safetensors").unlink()  # the refit's final save must write it again

    def no_training(self):
        raise AssertionError("a finished run trained again")

    monkeypatch.setattr(Trainer, "train_epoch", no_training)
    config = load_checkpoint(run / SELECTION_DIR).config
    again = train(config, dataset, run, device="cpu", progress=False, resume=True)
    after = load_file(run / "limssr_weights.safetensors")
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert again.best_epoch == result.best_epoch
    assert {path: path.stat().st_mtime_ns for path in states} == states  # no epoch ran, no state was rewritten


def test_resuming_across_refit_and_plain_runs_is_refused(refit_run, tmp_path):
    run, dataset, _, _ = refit_run
    config = load_checkpoint(run).config
    plain = dataclasses.replace(config, training=dataclasses.replace(config.training, refit="off"))
    with pytest.raises(LimssrError, match="is a refitted run"):
        train(plain, dataset, run, device="cpu", progress=False, resume=True)
    with pytest.raises(LimssrError, match="is a refitted run"):  # not resuming either: selection/ would pair it
        train(plain, dataset, run, device="cpu", progress=False)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "trainer_state.pt").write_bytes(b"")
    with pytest.raises(LimssrError, match="holds a run that was not refitted"):
        train(config, dataset, tmp_path, device="cpu", progress=False, resume=True)


def test_a_refit_state_for_another_epoch_is_refused(synth_dataset, tmp_path):
    dataset = load_dataset(synth_dataset, progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 3, "batch_size": 8, "warmup_epochs": 1, "refit": "on"})
    summary, selection = Trainer(config, dataset, tmp_path / "first", progress=False, device="cpu").validate()
    Trainer(config, dataset, tmp_path / "run", progress=False, device="cpu",
            refit=RefitPlan(epochs=1, summary=summary, selection=selection)).fit()
    other = Trainer(config, dataset, tmp_path / "run", progress=False, device="cpu",
                    refit=RefitPlan(epochs=2, summary=summary, selection=selection))
    with pytest.raises(LimssrError, match="refit stops after epoch 1"):
        other.fit(resume=True)


def test_a_refitted_run_is_not_recalibrated_on_samples_it_trained_on(refit_run, tmp_path, capsys):
    from limssr_core.commands import main

    run, dataset, _, _ = refit_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    before = (copy / "limssr_config.json").read_text()
    for split in ("train", "val"):
        assert main(["calibrate", "--checkpoint", str(copy), "--data", str(dataset.root), "--split", split,
                     "--no-progress"]) != 0
        assert "is a refitted run" in capsys.readouterr().err
    assert (copy / "limssr_config.json").read_text() == before  # untouched
    assert main(["calibrate", "--checkpoint", str(copy), "--data", str(dataset.root), "--split", "test",
                 "--no-progress"]) == 0
    assert json.loads((copy / "limssr_config.json").read_text())["calibration"]["split"] == "test"


def test_upgrading_a_refitted_pair_visits_each_folder_once(refit_run, tmp_path):
    from limssr_core.model.checkpoint import upgrade_checkpoint

    run, *_ = refit_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    for folder in (copy, copy / SELECTION_DIR):  # an earlier version's machine path in both configs
        raw = json.loads((folder / "limssr_config.json").read_text())
        raw["dataset"]["path"] = "/somewhere/data"
        (folder / "limssr_config.json").write_text(json.dumps(raw))
    changed = upgrade_checkpoint(copy)
    assert sorted(c for c in changed if "dataset path" in c) == [
        "limssr_config.json: dataset path removed", f"{SELECTION_DIR}: limssr_config.json: dataset path removed"]
    assert isinstance(load_checkpoint(copy), LimssrEnsemble)


def test_refits_trains_more_refitted_models_on_the_same_masks_and_scores_with_all(module_synth_dataset, tmp_path):
    with pytest.raises(LimssrError, match="--refits must be 1 or more"):
        TrainingConfig(refits=0)
    with pytest.raises(LimssrError, match="needs --refit auto or on"):
        TrainingConfig(refits=2, refit="off")
    dataset = load_dataset(module_synth_dataset.parent / "data", progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 2, "batch_size": 8, "warmup_epochs": 1, "refit": "on", "refits": 3,
                                    "train_missing": "fixed:0.3"})
    run = tmp_path / "run"
    result = train(config, dataset, run, device="cpu", progress=False)
    members = [run, run / SELECTION_DIR, run / REFITS_DIR / "refit-2", run / REFITS_DIR / "refit-3"]
    assert checkpoint_module.member_folders(run, config) == members
    epochs = [len(_rows(folder / "metrics.csv")) for folder in members]
    assert epochs == [result.best_epoch, 2, result.best_epoch, result.best_epoch]
    assert len(result.history) == 2 + 3 * result.best_epoch  # what the run cost: every run's epochs
    ensemble = load_checkpoint(run)
    assert isinstance(ensemble, LimssrEnsemble) and len(ensemble.members) == 4
    weights = [load_file(folder / "limssr_weights.safetensors") for folder in (run, *members[2:])]
    for other in weights[1:]:  # other initial weights and batch order: other models
        assert any(not torch.equal(weights[0][k], other[k]) for k in weights[0])
    assert "2 more refitted models (refits/" in result.kept and "the first run's model" in result.kept
    # the same data: every refitted model trains under the run's masks on the same samples
    trainers = [Trainer(config, dataset, tmp_path / f"t{k}", progress=False, device="cpu",
                        refit=RefitPlan(1, {}, 0.0, member=k)) for k in (1, 2)]
    assert trainers[0].policy.patterns == trainers[1].policy.patterns
    assert [s.sample_id for s in trainers[0].splits.train] == [s.sample_id for s in trainers[1].splits.train]
    assert trainer_module.draw_seed(0, 1) == 0 and trainer_module.draw_seed(0, 2) != trainer_module.draw_seed(1, 1)
    # the Hub download takes the further models' checkpoint files
    assert is_checkpoint_file(f"{REFITS_DIR}/refit-2/limssr_weights.safetensors")
    assert not is_checkpoint_file(f"{REFITS_DIR}/refit-2/state/refit_state.pt")
    # refit_keep refit: the refitted models alone
    raw = json.loads((run / "limssr_config.json").read_text())
    raw["training"]["refit_keep"] = "refit"
    (run / "limssr_config.json").write_text(json.dumps(raw))
    assert len(load_checkpoint(run).members) == 3
