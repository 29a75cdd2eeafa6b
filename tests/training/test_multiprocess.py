"""Data-parallel training in 2 CPU processes (torchrun, gloo), as a user launches it: the step is data parallelism's
step, every process reports the same validation figures, and an interrupted run resumes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from limssr_core.data.collate import collate
from limssr_core.data.dataset import load_dataset
from limssr_core.training.trainer import Trainer
from tests.training.multiprocess_worker import step_config, trainable_state

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "training" / "multiprocess_worker.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
ENV = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}

pytestmark = pytest.mark.slow


def run_worker(*args, timeout: int = 300) -> None:
    result = subprocess.run(TORCHRUN + [str(WORKER), *map(str, args)], capture_output=True, text=True,
                            timeout=timeout, env=ENV, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_two_process_step_is_the_data_parallel_step_of_one_process(synth_dataset, tmp_path):
    """DDP averages the gradients of the processes' shares; BatchNorm normalises each share with its own statistics
    (SyncBatchNorm runs on CUDA only), so the one-process reference accumulates the same two shares as two
    half-weighted backward passes before one optimiser step. Dropout 0, no random crops: equal to 1e-5."""
    run_worker("step", synth_dataset, tmp_path / "two")
    shares = json.loads((tmp_path / "two" / "shares.json").read_text())
    assert shares["processes"] == 2 and len(shares["shares"]) == 2
    assert not set(shares["shares"][0]) & set(shares["shares"][1])  # two different halves of the global batch

    dataset = load_dataset(synth_dataset, progress=False)
    single = Trainer(step_config(dataset), dataset, tmp_path / "one", progress=False, device="cpu")
    before = trainable_state(single)
    single.model.train()
    for share in shares["shares"]:
        chunk = [single.splits.train[i] for i in share]
        batch = collate(chunk, single.config.modalities, single.policy.masks(chunk), rng=single.crop_rng)
        (single.model(batch, compute_loss=True).loss / len(shares["shares"])).backward()
    torch.nn.utils.clip_grad_norm_(single.trainable, single.config.training.grad_clip)
    single.optimizer.step()
    reference = trainable_state(single)

    two = load_file(str(tmp_path / "two" / "after_step.safetensors"))
    assert set(two) == set(reference)
    moved = sum(not torch.equal(before[name], reference[name]) for name in reference)
    assert moved > len(reference) // 2  # the step really changed the weights
    for name, tensor in reference.items():
        torch.testing.assert_close(two[name], tensor, atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize("train_missing", ["dataset", "fixed:0.3", "per-batch"])
def test_every_process_reports_the_same_validation_figures(synth_dataset, tmp_path, train_missing):
    out = tmp_path / "fit"
    run_worker("fit", synth_dataset, out, train_missing)
    ranks = [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [r["processes"] for r in ranks] == [2, 2] and [r["main"] for r in ranks] == [True, False]
    assert [row["epoch"] for row in ranks[0]["history"]] == [1, 2]
    # the same figures, not just close ones (as text: a collapsed epoch's rho is nan, and nan != nan)
    assert json.dumps(ranks[0]["history"]) == json.dumps(ranks[1]["history"])
    card = (out / "run" / "README.md").read_text()
    assert "- Processes: 2 (data parallel: 8 samples per step)" in card
    with open(out / "run" / "metrics.csv") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["1", "2"]  # written once, by one process


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (torchrun starts its workers in their own sessions: a process-group kill misses
    them)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue.extend(parents.get(current, []))
    return tree


def metrics_epochs(run: Path) -> list[str]:
    with open(run / "metrics.csv") as handle:
        return [row["epoch"] for row in csv.DictReader(handle)]


def test_an_interrupted_two_process_run_resumes(synth_dataset, tmp_path):
    """The documented CPU recipe (`torchrun --nproc_per_node 2 -m limssr_core train`), killed after its first saved
    epoch, then run again with --resume."""
    run = tmp_path / "run"
    train = TORCHRUN + ["-m", "limssr_core", "train", "--data", str(synth_dataset), "--out", str(run), "--backbone",
                        "tiny-random", "--length", "8", "--batch-size", "4", "--device", "cpu", "--no-progress"]
    process = subprocess.Popen(train + ["--epochs", "60"], env=ENV, cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = run / "state" / "trainer_state.pt"
    deadline = time.time() + 240
    while not state.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    for pid in process_tree(process.pid):  # every process of the run, as a crash or a lost machine would
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()
    assert state.exists(), process.stderr.read()[-3000:]
    done = int(torch.load(state, weights_only=True)["epoch"])
    assert 1 <= done < 60

    resumed = subprocess.run(train + ["--epochs", str(done + 1), "--resume"], env=ENV, cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming {run} after epoch {done}" in resumed.stderr
    assert metrics_epochs(run) == [str(e) for e in range(1, done + 2)]  # earlier epochs kept, none repeated
    assert "- Processes: 2" in (run / "README.md").read_text()
