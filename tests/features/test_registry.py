import threading

import pytest

from limssr_core.errors import CheckpointMismatchError, LimssrError
from limssr_core.features import ExtractionConfig, check_extractor_ids, default_modalities
from limssr_core.features.registry import cached_model


def test_default_modalities_ids_and_dims():
    mods = default_modalities()
    assert {k: (v.dim, v.extractor) for k, v in mods.items()} == {
        "video": (1280, "effnet-lite0@1"), "flow": (128, "flow-dis@1"),
        "audio": (140, "librosa-audio@1"), "commentary": (384, "minilm-l6-v2@1")}
    assert default_modalities(ExtractionConfig(flow_method="farneback"))["flow"].extractor == "flow-farneback@1"


def test_check_extractor_ids_names_both():
    check_extractor_ids({"video": "effnet-lite0@1"}, {"video": "effnet-lite0@1", "audio": "x@1"})
    check_extractor_ids({"video": "effnet-lite0@1", "flow": "flow-dis@1"}, {"video": "effnet-lite0@1"})
    with pytest.raises(CheckpointMismatchError) as info:
        check_extractor_ids({"video": "effnet-lite0@1"}, {"video": "vst-b@1"})
    assert "effnet-lite0@1" in str(info.value) and "vst-b@1" in str(info.value)


def test_config_validation():
    with pytest.raises(LimssrError):
        ExtractionConfig(segment_policy="zoom")
    with pytest.raises(LimssrError):
        ExtractionConfig(flow_method="raft")


def test_cached_model_loads_once_across_threads():
    calls = []

    def loader():
        calls.append(1)
        return object()

    results = []
    threads = [threading.Thread(target=lambda: results.append(cached_model("test:once", loader))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(r) for r in results}) == 1
