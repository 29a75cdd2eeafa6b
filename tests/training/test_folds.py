"""`train --folds K`: a K-fold ensemble in one checkpoint (training/folds.py, model/ensemble.py)."""

import json

import numpy as np
import pytest
import torch

from limssr_core.config import TrainingConfig
from limssr_core.data.dataset import load_dataset
from limssr_core.errors import LimssrError
from limssr_core.evaluation.evaluate import evaluate_model
from limssr_core.model.checkpoint import checkpoint_fingerprint, load_checkpoint
from limssr_core.model.ensemble import LimssrEnsemble
from limssr_core.model.runner import normalised_predictions
from limssr_core.training.run import build_config, train
from limssr_core.training.splits import fold_assignment, make_splits


def test_folds_are_balanced_seeded_and_independent_of_order():
    ids = [f"s{i:02d}" for i in range(23)]
    folds = fold_assignment(ids, 4, seed=0)
    assert sorted(np.bincount(folds).tolist()) == [5, 6, 6, 6]
    shuffled = ids[::-1]
    again = dict(zip(shuffled, fold_assignment(shuffled, 4, seed=0)))
    assert again == dict(zip(ids, folds))
    assert fold_assignment(ids, 4, seed=1) != folds


def test_fold_settings_are_checked():
    with pytest.raises(LimssrError, match="--folds must be 1"):
        TrainingConfig(folds=0)
    with pytest.raises(LimssrError, match="cannot be combined with --select-on test"):
        TrainingConfig(folds=3, select_on="test")


def test_a_member_holds_its_fold_out_of_the_pooled_labelled_samples(synth_dataset):
    dataset = load_dataset(synth_dataset, progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, training={"folds": 3})
    pool = {s.sample_id for s in dataset.split("train") + dataset.split("val")}
    held_out = []
    for k in range(3):
        splits = make_splits(dataset, config, fold=k)
        train_ids, select_ids = {s.sample_id for s in splits.train}, {s.sample_id for s in splits.select}
        assert not train_ids & select_ids and train_ids | select_ids == pool
        assert "fold" in splits.select_name
        held_out.append(select_ids)
    assert set().union(*held_out) == pool and sum(map(len, held_out)) == len(pool)


@pytest.fixture(scope="module")
def ensemble_run(module_synth_dataset):
    from limssr_core.model.backbone import load_backbone

    root = module_synth_dataset.parent
    dataset = load_dataset(root / "data", progress=False)
    config = build_config(dataset, model={"backbone": "tiny-random"}, length=8,
                          training={"epochs": 2, "batch_size": 8, "warmup_epochs": 1, "folds": 2,
                                    "train_missing": "fixed:0.3"})
    backbone = load_backbone("tiny-random")
    result = train(config, dataset, root / "run", backbone=backbone, device="cpu", progress=False)
    return root / "run", dataset, result, backbone


def test_the_ensemble_checkpoint_has_its_members_calibration_and_card(ensemble_run):
    run, dataset, result, _ = ensemble_run
    assert (run / "members" / "fold-1" / "limssr_weights.safetensors").is_file()
    assert (run / "members" / "fold-2" / "adapter" / "adapter_model.safetensors").is_file()
    assert not (run / "limssr_weights.safetensors").exists() and (run / "baseline.safetensors").is_file()
    config = json.loads((run / "limssr_config.json").read_text())
    assert config["training"]["folds"] == 2
    assert config["calibration"]["split"] == "out-of-fold"
    pool = len(dataset.split("train")) + len(dataset.split("val"))
    assert max(s["n"] for s in result.best_summary["subsets"]) == pool  # every labelled sample scored out of fold
    card = (run / "README.md").read_text()
    assert "out-of-fold" in card and "2 members" in card and "built-in baseline" in card
    assert {row["member"] for row in result.history} == {1, 2}
    predictions = (run / "test_predictions.csv").read_text().splitlines()  # the ensemble's, beside its card
    assert len(predictions) == 1 + sum(s["n"] for s in result.test_summary["subsets"])


def test_the_ensemble_predicts_the_mean_of_its_members_and_shares_the_llm(ensemble_run):
    run, dataset, _, backbone = ensemble_run
    ensemble = load_checkpoint(run, backbone=backbone)
    assert isinstance(ensemble, LimssrEnsemble) and len(ensemble.members) == 2
    base_weights = [{p.data_ptr() for n, p in m.backbone.named_parameters() if "lora_" not in n}
                    for m in ensemble.members]
    assert base_weights[0] == base_weights[1]  # one copy of the frozen LLM
    lora = [next(p for n, p in m.backbone.named_parameters() if "lora_A" in n) for m in ensemble.members]
    assert not torch.equal(lora[0], lora[1])  # each member its own adapter
    test = dataset.split("test")
    masks = [(True, True, True)] * len(test)
    members = [normalised_predictions(m, test, masks) for m in ensemble.members]
    np.testing.assert_allclose(normalised_predictions(ensemble, test, masks), np.mean(members, axis=0), rtol=1e-5,
                               atol=1e-6)
    summary, _ = evaluate_model(ensemble, test, progress=False)
    assert np.isfinite(summary["full"]["spearman"])
    single = load_checkpoint(run / "members" / "fold-1", backbone=None)  # a member's folder is a model of its own
    assert not isinstance(single, LimssrEnsemble)


def test_an_ensemble_with_a_missing_member_is_refused_and_fingerprints_cover_members(ensemble_run, tmp_path):
    import shutil

    run, _, _, backbone = ensemble_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    before = checkpoint_fingerprint(copy)
    weights = copy / "members" / "fold-2" / "limssr_weights.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # one byte of one member's weights changed
    assert checkpoint_fingerprint(copy) != before
    shutil.rmtree(copy / "members" / "fold-2")
    with pytest.raises(LimssrError, match="member fold-2 is missing"):
        load_checkpoint(copy, backbone=backbone)


def test_scoring_with_an_ensemble_reports_each_members_score_and_its_timeline(ensemble_run):
    from limssr_core.inference.scorer import Scorer

    run, dataset, _, backbone = ensemble_run
    scorer = Scorer(run, backbone=backbone)
    sample = dataset.split("test")[0]
    features = {name: np.asarray(array) for name, array in sample.features.items()}
    prediction = scorer.score(features, robustness=True, timeline=True)
    assert len(prediction.member_scores) == 2
    assert prediction.score == pytest.approx(float(np.mean(prediction.member_scores)), abs=1e-4)
    assert prediction.interval is not None and prediction.interval.n_calibration > 0  # out-of-fold calibration
    assert prediction.timeline is not None and prediction.timeline.points
    assert json.loads(json.dumps(prediction.to_json()))["member_scores"] == prediction.member_scores
    # the timeline's cached occlusions equal whole passes for an ensemble too
    scorer.reuse_cache = False
    whole = scorer.score(features, timeline=True).timeline
    for cached, plain in zip(prediction.timeline.points, whole.points):
        assert cached.effect["all"] == pytest.approx(plain.effect["all"], abs=1e-3)


def test_pushing_an_ensemble_uploads_every_member_and_nothing_else(ensemble_run, monkeypatch):
    from types import SimpleNamespace

    import huggingface_hub

    run, _, _, backbone = ensemble_run
    (run / "members" / "fold-1" / "state").mkdir(exist_ok=True)  # a run folder's resume state is not published
    uploaded = {}

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        uploaded["files"] = sorted(p.relative_to(folder_path).as_posix() for p in folder_path.rglob("*")
                                   if p.is_file())
        return "https://huggingface.co/someone/ens/commit/abc"

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", lambda self, repo_id, **kw: SimpleNamespace(repo_id=repo_id))
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    load_checkpoint(run, backbone=backbone).push_to_hub("someone/ens")
    files = uploaded["files"]
    for member in ("fold-1", "fold-2"):
        assert f"members/{member}/limssr_weights.safetensors" in files
        assert f"members/{member}/adapter/adapter_model.safetensors" in files
    assert {"limssr_config.json", "README.md", "baseline.safetensors"} <= set(files)
    assert not [f for f in files if "state/" in f or f.endswith("metrics.csv")]


def test_an_ensemble_is_not_recalibrated_on_samples_its_members_trained_on(ensemble_run, tmp_path, capsys):
    import shutil

    from limssr_core.commands import main

    run, dataset, _, _ = ensemble_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    before = (copy / "limssr_config.json").read_text()
    assert main(["calibrate", "--checkpoint", str(copy), "--data", str(dataset.root), "--split", "val",
                 "--no-progress"]) != 0
    assert "out-of-fold" in capsys.readouterr().err
    assert (copy / "limssr_config.json").read_text() == before  # untouched


def test_resuming_with_other_folds_or_into_another_layout_is_refused(ensemble_run, tmp_path):
    import shutil

    run, dataset, _, backbone = ensemble_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    settings = {"epochs": 2, "batch_size": 8, "warmup_epochs": 1, "train_missing": "fixed:0.3"}
    three = build_config(dataset, model={"backbone": "tiny-random"}, length=8, training=settings | {"folds": 3})
    with pytest.raises(LimssrError, match="--folds 2, this run has 3"):
        train(three, dataset, copy, backbone=backbone, device="cpu", resume=True, progress=False)
    one = build_config(dataset, model={"backbone": "tiny-random"}, length=8, training=settings)
    with pytest.raises(LimssrError, match="holds an ensemble"):
        train(one, dataset, copy, backbone=backbone, device="cpu", progress=False)
    single = tmp_path / "single"
    (single).mkdir()
    (single / "limssr_weights.safetensors").write_bytes(b"")
    with pytest.raises(LimssrError, match="holds a single model"):
        train(three, dataset, single, backbone=backbone, device="cpu", progress=False)


def test_upgrading_an_ensemble_checkpoint_visits_its_members(ensemble_run, tmp_path):
    import shutil

    from limssr_core.model.checkpoint import upgrade_checkpoint

    run, _, _, _ = ensemble_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    adapter = copy / "members" / "fold-2" / "adapter" / "adapter_config.json"
    raw = json.loads(adapter.read_text())
    raw["base_model_name_or_path"] = "/home/someone/models/tiny"  # a machine path, as older versions wrote
    adapter.write_text(json.dumps(raw))
    assert upgrade_checkpoint(copy) == ["fold-2: adapter_config.json: base model named by Hub id"]
    assert "/home/someone" not in adapter.read_text()
