"""Shared fixtures: a tiny random backbone (cheap to copy) and small synthetic datasets."""

from __future__ import annotations

import copy
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network (set before huggingface_hub loads)

import numpy as np
import pytest

from limssr_core.model.backbone import TINY_RANDOM, Backbone, load_backbone
from limssr_core.config import LimssrConfig, ModalityConfig
from limssr_core.data.collate import Sample
from limssr_core.data.synth import SynthOptions, write_synthetic_dataset


@pytest.fixture(autouse=True)
def _fp32_autocast_on_every_cpu(monkeypatch):
    """`--precision auto` trains in bf16 on CPUs with AMX / AVX512-BF16 (runtime.resolve_precision): tests run in fp32
    on every CPU so that their figures do not depend on the machine. The rule and the bf16 path have tests of their
    own (tests/test_runtime.py, tests/training/test_trainer.py), which set the CPU's answer themselves."""
    monkeypatch.setattr("limssr_core.runtime.cpu_has_native_bf16", lambda *args: False)


@pytest.fixture(scope="session")
def _tiny_backbone() -> Backbone:
    return load_backbone(TINY_RANDOM)


@pytest.fixture
def make_backbone(_tiny_backbone):
    """A fresh copy of the tiny random backbone per call (LoRA is injected in place, so models must not share)."""

    def make() -> Backbone:
        return Backbone(copy.deepcopy(_tiny_backbone.body), _tiny_backbone.tokenizer, dict(_tiny_backbone.identity))

    return make


@pytest.fixture
def tiny_config() -> LimssrConfig:
    return LimssrConfig(
        modalities=[ModalityConfig("video", 12, "synthetic@1", 6), ModalityConfig("audio", 8, "synthetic@1", 5),
                    ModalityConfig("text", 4, "synthetic@1", 3)],
        score_name="TES",
        score_range=(0.0, 130.0),
        backbone=TINY_RANDOM,
    )


def random_samples(config: LimssrConfig, n: int, seed: int = 0, lengths=(2, 9)) -> list[Sample]:
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        features = {m.name: rng.standard_normal((int(rng.integers(*lengths)), m.dim)).astype(np.float32)
                    for m in config.modalities}
        samples.append(Sample(f"s{i}", features, target=float(rng.random())))
    return samples


def write_small_synth(root):
    """A small synthetic dataset on disk (3 modalities, some files absent) at `root`."""
    write_synthetic_dataset(root, SynthOptions(modalities={"video": 12, "audio": 8, "text": 4}, n_samples=40,
                                               min_length=4, max_length=10, missing_rate=0.2, seed=3))
    return root


@pytest.fixture
def synth_dataset(tmp_path):
    """The small synthetic dataset, one per test."""
    return write_small_synth(tmp_path / "synth")


@pytest.fixture(scope="module")
def module_synth_dataset(tmp_path_factory):
    """The same dataset, shared by a module's tests (for module-scoped training runs)."""
    return write_small_synth(tmp_path_factory.mktemp("synth") / "data")


def save_default_modalities_checkpoint(folder, model_card: str | None = None):
    """An untrained checkpoint for the four default extracted modalities (TES on 0-130, tiny random backbone)."""
    from limssr_core.features import default_modalities
    from limssr_core.model.backbone import load_backbone
    from limssr_core.model.checkpoint import save_checkpoint
    from limssr_core.model.limssr import LimssrModel

    modalities = [ModalityConfig(name, info.dim, info.extractor, length=16)
                  for name, info in default_modalities().items()]
    config = LimssrConfig(modalities=modalities, score_name="TES", score_range=(0, 130), backbone=TINY_RANDOM)
    return save_checkpoint(LimssrModel(config, load_backbone(TINY_RANDOM)), folder, model_card=model_card)
