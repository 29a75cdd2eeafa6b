"""The core owns the extraction plan, the extractor ids and the file types (the app and the CLI share them)."""

from limssr_core.config import LimssrConfig, ModalityConfig
from limssr_core.features import ExtractionConfig, ModalityStatus, plan_extraction
from limssr_core.features.formats import AUDIO_EXTENSIONS, COMMENTARY_EXTENSIONS, VIDEO_EXTENSIONS


def config(*modalities):
    return LimssrConfig(modalities=[ModalityConfig(*m) for m in modalities])


def test_plan_follows_the_checkpoints_extractors():
    plan = plan_extraction(config(("video", 1280, "effnet-lite0@1"), ("flow", 128, "flow-farneback@1"),
                                  ("lidar", 8, "lidar@1"), ("audio", 140, "librosa-audio@2"),
                                  ("commentary", 100, "minilm-l6-v2@1")),
                           ExtractionConfig(device="cpu", max_duration_s=60))
    assert plan.modalities == ("video", "flow")
    assert plan.config.flow_method == "farneback" and plan.config.max_duration_s == 60
    assert {k: v.kind for k, v in plan.unsupported.items()} == dict.fromkeys(["lidar", "audio", "commentary"],
                                                                             "unsupported")
    assert "librosa-audio@2" in plan.unsupported["audio"].reason
    assert "100-d" in plan.unsupported["commentary"].reason


def test_extractor_ids_cover_speech_and_the_flow_method():
    ids = ExtractionConfig(flow_method="dis").extractor_ids(("flow", "speech"))
    assert ids == {"flow": "flow-dis@1", "speech": "whisper-tiny-en@1"}


def test_status_kinds_are_structure():
    assert ModalityStatus.ok().present and not ModalityStatus.ok().is_problem
    assert ModalityStatus.degraded("silent").is_problem and ModalityStatus.failed("x").is_problem
    assert not ModalityStatus.not_given("no commentary given").is_problem
    assert not ModalityStatus.unsupported("no extractor").is_problem
    assert ModalityStatus.degraded("silent").to_json() == {"present": False, "kind": "degraded", "reason": "silent"}


def test_one_list_of_file_types():
    assert ".ogv" in VIDEO_EXTENSIONS and VIDEO_EXTENSIONS <= AUDIO_EXTENSIONS and ".wav" in AUDIO_EXTENSIONS
    assert COMMENTARY_EXTENSIONS == (".srt", ".txt")
