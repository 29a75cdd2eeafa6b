"""scripts/stage_for_device.py: files cut into capped carry folders rejoin byte for byte."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "stage_for_device", Path(__file__).resolve().parents[2] / "scripts" / "stage_for_device.py")
stage = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stage)


def test_pieces_fill_each_folder_to_the_cap_in_order():
    folders = stage.plan_pieces({"a": 25, "b": 12}, cap=10)
    assert folders == [[("a", 0, 10)], [("a", 10, 10)], [("a", 20, 5), ("b", 0, 5)], [("b", 5, 7)]]


def test_written_pieces_rejoin_to_the_original_files(tmp_path):
    files = {"smol.gguf": tmp_path / "model.bin", "features.tar.xz": tmp_path / "data.bin"}
    files["smol.gguf"].write_bytes(bytes(range(256)) * 3)
    files["features.tar.xz"].write_bytes(b"features" * 40)
    folders = stage.plan_pieces({n: p.stat().st_size for n, p in files.items()}, cap=300)
    made = stage.write_pieces(files, folders, tmp_path / "repo")
    assert [f.name for f in made] == [".stage1", ".stage2", ".stage3", ".stage4"]
    assert all(sum(p.stat().st_size for p in f.iterdir()) <= 300 for f in made)
    for name, original in files.items():
        parts = sorted(p for f in made for p in f.glob(f"{name}.part*"))
        parts.sort(key=lambda p: p.name)  # `cat name.part*` order on the device (all pieces in one folder there)
        assert b"".join(p.read_bytes() for p in parts) == original.read_bytes()
