"""Extraction across processes: 2 torchrun processes, 2 workers, and a stopped launch finished with --finalize all
make the dataset one process makes (same files, same labels, features equal to float tolerance)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from limssr_core.__main__ import main
from limssr_core.features.dataset_builder import extract_videos, plan_extraction

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def inputs(media, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for key in ("normal", "noaudio", "silent", "short", "notmedia"):
        (videos / media[key].name).write_bytes(media[key].read_bytes())
    (videos / "normal.txt").write_text("Clean jump. Nice spin.")
    labels = tmp_path / "scores.csv"
    labels.write_text("sample_id,score,split\nnormal,7.5,train\nnoaudio,6.0,test\nsilent,5.5,train\nshort,4.0,val\n")
    return videos, labels


def extract_argv(videos: Path, labels: Path, out: Path) -> list[str]:
    return ["extract", str(videos), "--out", str(out), "--labels", str(labels), "--no-progress"]


def assert_same_dataset(a: Path, b: Path) -> None:
    files = sorted(p.relative_to(a).as_posix() for p in (a / "features").rglob("*.npy"))
    assert files == sorted(p.relative_to(b).as_posix() for p in (b / "features").rglob("*.npy"))
    assert len(files) >= 8
    assert (a / "labels.csv").read_text() == (b / "labels.csv").read_text()
    assert json.loads((a / "dataset.json").read_text()) == json.loads((b / "dataset.json").read_text())
    for name in files:
        np.testing.assert_allclose(np.load(b / name), np.load(a / name), rtol=1e-4, atol=1e-5, err_msg=name)
    reports = [json.loads((folder / "extract_report.json").read_text()) for folder in (a, b)]
    assert [sorted(r["samples"]) for r in reports] == [["noaudio", "normal", "short", "silent"]] * 2
    assert [[f["sample_id"] for f in r["failures"]] for r in reports] == [["notmedia"]] * 2
    assert reports[1]["pending"] == []


@pytest.fixture
def one_process(inputs, tmp_path):
    out = tmp_path / "one" / "ds"
    assert main(extract_argv(*inputs, out)) == 1  # notmedia fails: exit 1
    return out


def test_two_launched_processes_make_the_dataset_one_process_makes(inputs, one_process, tmp_path):
    out = tmp_path / "two" / "ds"
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "limssr_core", *extract_argv(*inputs, out)], capture_output=True, text=True,
                            timeout=600, cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert result.returncode == 1, result.stderr[-3000:]  # the failed file, reported once, by the main process
    assert result.stdout.count("extracted 4, already done 0, failed 1") == 1
    assert_same_dataset(one_process, out)


def test_workers_make_the_dataset_one_process_makes(inputs, one_process, tmp_path):
    out = tmp_path / "workers" / "ds"
    assert main(extract_argv(*inputs, out) + ["--workers", "2"]) == 1
    assert_same_dataset(one_process, out)


def test_finalize_merges_what_a_stopped_launch_left(inputs, one_process, tmp_path, capsys):
    videos, labels = inputs
    out = tmp_path / "stopped" / "ds"
    job = plan_extraction([videos], out)
    extract_videos(job, job.videos[0::2], progress=False)  # one process of two finished; the other never ran
    assert main(extract_argv(videos, labels, out) + ["--finalize"]) == 1
    report = json.loads((out / "extract_report.json").read_text())
    assert report["counts"]["extracted"] == 0 and len(report["pending"]) == len(job.videos[1::2])
    assert "not extracted yet" in capsys.readouterr().out
    extract_videos(job, job.videos[1::2], progress=False)
    assert main(extract_argv(videos, labels, out) + ["--finalize"]) == 1  # only notmedia's failure is left
    assert_same_dataset(one_process, out)
