"""The checkpoint catalog: visitors choose by name, never name a server path, and every refusal reads the same."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from app import catalog
from app.catalog import BUNDLED, BUNDLED_PATH, NOT_OFFERED, CheckpointRefused
from app.state import AppSettings, LoadedCheckpoint, ModelRegistry


@pytest.fixture()
def operator(tmp_path, fixture_checkpoint):
    """An operator's layout: the fixture checkpoint as --checkpoint, and a --checkpoint-dir with two more (one
    sharing the operator checkpoint's name) beside a folder that is not a checkpoint."""
    runs = tmp_path / "runs"
    shutil.copytree(fixture_checkpoint, runs / "pcs-run")
    shutil.copytree(fixture_checkpoint, runs / fixture_checkpoint.name)
    (runs / "notes").mkdir()
    return AppSettings(checkpoint=str(fixture_checkpoint), checkpoint_dirs=(str(runs),), preload=False,
                       hub_allowlist=("someone/limssr-tes", "club/*"))


def test_the_list_names_checkpoints_without_paths(operator, fixture_checkpoint):
    names = catalog.names(operator)
    same = fixture_checkpoint.name
    assert names == [BUNDLED, f"{same} ({fixture_checkpoint.parent.name})", "pcs-run", f"{same} (runs)",
                     "someone/limssr-tes"]
    assert not any("/" in name for name in names[:-1])  # no server paths; the last one is a Hub id
    assert catalog.default_name(operator) == names[1]
    assert catalog.lookup("pcs-run", operator).name == "pcs-run"
    assert catalog.lookup(names[1], operator) == fixture_checkpoint.resolve()
    assert catalog.lookup(str(fixture_checkpoint), operator) == fixture_checkpoint.resolve()  # the operator's own value
    assert catalog.lookup(None, operator) == BUNDLED_PATH


def test_every_refusal_reads_the_same_whether_the_path_exists_or_not(operator, fixture_checkpoint, tmp_path):
    uploaded = tmp_path / "gradio" / "upload" / "visitor_ckpt"  # a checkpoint a visitor uploaded
    shutil.copytree(fixture_checkpoint, uploaded)
    refused = ["/etc/shadow", "/root/.ssh/id_rsa", "/etc/passwd", "/no/such/folder", str(uploaded),
               str(tmp_path / "runs" / "pcs-run"),  # a listed checkpoint, by path instead of by name
               str(fixture_checkpoint.parent), "~/", "../assets/demo_checkpoint", "someone/not-listed",
               "other/limssr-tes@main", "pcs-run x", "PCS-RUN"]
    messages = set()
    for value in refused:
        with pytest.raises(CheckpointRefused) as info:
            catalog.resolve(value, operator)
        messages.add(str(info.value))
    assert messages == {NOT_OFFERED}


def test_hub_ids_only_from_the_allowlist_and_refused_before_any_download(operator, monkeypatch, fixture_checkpoint):
    fetched = []
    monkeypatch.setattr(catalog, "resolve_checkpoint_folder",
                        lambda source: fetched.append(source) or fixture_checkpoint)
    with pytest.raises(CheckpointRefused):
        catalog.resolve("someone/other-model", operator)
    assert fetched == []
    assert catalog.resolve("someone/limssr-tes", operator) == fixture_checkpoint
    assert catalog.resolve("club/anything@v2", operator) == fixture_checkpoint  # owner/* admits a typed id
    assert fetched == ["someone/limssr-tes", "club/anything@v2"]


def test_typed_paths_only_when_the_operator_allows_them(operator, fixture_checkpoint, tmp_path):
    other = tmp_path / "elsewhere" / "ckpt"
    shutil.copytree(fixture_checkpoint, other)
    with pytest.raises(CheckpointRefused):
        catalog.resolve(str(other), operator)
    local = dataclasses.replace(operator, allow_checkpoint_paths=True)
    assert catalog.resolve(str(other), local) == other.resolve()
    with pytest.raises(CheckpointRefused):  # even then, only checkpoint folders, with the same message
        catalog.resolve("/etc", local)


def test_a_missing_bundled_checkpoint_is_named_not_refused(operator, monkeypatch, tmp_path):
    monkeypatch.setattr(catalog, "BUNDLED_PATH", tmp_path / "demo_checkpoint")
    with pytest.raises(Exception, match="bundled demo checkpoint is missing"):
        catalog.resolve(BUNDLED, dataclasses.replace(operator, checkpoint=BUNDLED))


def test_loaded_checkpoints_are_evicted_least_recently_used_first(operator, monkeypatch, fixture_checkpoint):
    loads = []

    def fake_load(self, ref, folder):
        loads.append(folder.name)
        return LoadedCheckpoint(ref, folder, None, object(), "")

    monkeypatch.setattr(ModelRegistry, "_load", fake_load)
    registry = ModelRegistry(dataclasses.replace(operator, max_loaded_checkpoints=2))
    first = registry.get("pcs-run")
    registry.get(catalog.default_name(operator))
    assert registry.get("pcs-run") is first  # still loaded; now the most recently used
    registry.get(f"{fixture_checkpoint.name} (runs)")
    assert [p.name for p in registry.loaded()] == ["pcs-run", fixture_checkpoint.name]
    assert loads == ["pcs-run", fixture_checkpoint.name, fixture_checkpoint.name]
    registry.get(catalog.default_name(operator))  # evicted above: loaded again
    assert len(loads) == 4 and len(registry.loaded()) == 2
