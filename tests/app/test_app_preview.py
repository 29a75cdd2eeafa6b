"""A playable preview for videos the browser cannot play (app/preview.py), and scoring that never reads it."""

from pathlib import Path

import av
import pytest

from app import handlers
from app.handlers import ScoreRequest
from app.preview import PreviewRegistry, browser_playable, make_preview, preview_size
from app.state import AppSettings, AppState
from limssr_core.errors import LimssrError


def probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        return {"codec": video.codec_context.name, "pix_fmt": video.codec_context.format.name,
                "size": (video.codec_context.width, video.codec_context.height),
                "audio": [s.codec_context.name for s in container.streams.audio],
                "seconds": float(container.duration or 0) / av.time_base}


def test_which_files_a_browser_plays(routines, unplayable):
    assert browser_playable(routines["video"])  # H.264 in MP4
    for name in ("avi", "mpg", "mkv"):
        assert not browser_playable(unplayable[name]), name
    assert browser_playable(routines["corrupt"])  # not a video at all: Score gives the specific error
    assert preview_size(1280, 720) == (640, 360) and preview_size(160, 120) == (160, 120)
    assert preview_size(1080, 1920) == (202, 360)


@pytest.mark.parametrize("name", ["avi", "mpg", "hd_avi"])
def test_the_preview_is_h264_mp4_with_the_sound_and_the_same_length(unplayable, tmp_path, name):
    source = probe(unplayable[name])
    preview = make_preview(unplayable[name], tmp_path)
    got = probe(preview)
    assert got["codec"] == "h264" and got["pix_fmt"] == "yuv420p" and preview.suffix == ".mp4"
    assert browser_playable(preview)
    assert got["size"][1] <= 360 and got["size"] == preview_size(*source["size"])
    assert got["audio"] == (["aac"] if source["audio"] else [])
    assert got["seconds"] == pytest.approx(source["seconds"], abs=0.25)


def test_the_preview_stops_at_the_duration_limit_and_bad_files_are_clear_errors(unplayable, routines, tmp_path):
    preview = make_preview(unplayable["avi"], tmp_path, max_seconds=2.0)
    assert probe(preview)["seconds"] == pytest.approx(2.0, abs=0.25)
    with pytest.raises(LimssrError, match="no preview could be made"):
        make_preview(routines["corrupt"], tmp_path)
    with pytest.raises(LimssrError, match="no video stream"):
        make_preview(routines["audio_only"], tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [preview.name]  # nothing half-written is left behind


def test_the_registry_maps_a_preview_back_to_its_upload_wherever_gradio_moved_it(tmp_path, unplayable):
    registry = PreviewRegistry(capacity=2)
    preview = make_preview(unplayable["avi"], tmp_path / "made")
    registry.add(preview, unplayable["avi"])
    moved = tmp_path / "gradio-cache" / "0f3a" / preview.name  # Gradio keeps the name, not the folder
    assert registry.original(str(moved)) == str(unplayable["avi"])
    assert registry.original("/uploads/routine.mp4") == "/uploads/routine.mp4" and registry.original(None) is None
    with pytest.raises(LimssrError, match="upload it again"):
        registry.original(tmp_path / ("preview-" + "0" * 32 + ".mp4"))  # unknown (e.g. the server restarted)
    for _ in range(2):  # bounded: the oldest entry goes first
        registry.add(tmp_path / make_preview(unplayable["avi"], tmp_path / "made").name, unplayable["avi"])
    with pytest.raises(LimssrError, match="upload it again"):
        registry.original(moved)
    with pytest.raises(ValueError):
        registry.add(tmp_path / "other.mp4", unplayable["avi"])


def test_upload_handler_previews_only_what_the_browser_cannot_play_and_scoring_reads_the_upload(
        fixture_checkpoint, routines, unplayable, monkeypatch):
    state = AppState.create(AppSettings(checkpoint=str(fixture_checkpoint), preload=False))
    assert handlers.video_preview(str(routines["video"]), state) == handlers.VideoPreview()  # plays as it is
    assert handlers.video_preview(None, state) == handlers.VideoPreview()
    shown = handlers.video_preview(str(unplayable["avi"]), state)
    assert shown.path and Path(shown.path).name.startswith("preview-") and "converted preview" in shown.message
    assert Path(shown.path).parent == unplayable["avi"].parent  # beside the upload, cleaned with it

    read = []

    def recording_extract(request, loaded, state_, progress):
        read.append(request.video)
        raise LimssrError("stop here")

    monkeypatch.setattr(handlers, "extract_features", recording_extract)
    with pytest.raises(LimssrError, match="stop here"):
        handlers.score_routine(ScoreRequest(shown.path, checkpoint=str(fixture_checkpoint)), state)
    assert read == [str(unplayable["avi"])]  # the original, never the re-encoded preview

    # a video over the decoding budget gets no preview work: the note says Score will refuse it, and why
    small = AppState.create(AppSettings(checkpoint=str(fixture_checkpoint), max_video_fps=0.01, preload=False))
    refused = handlers.video_preview(str(unplayable["avi"]), small)
    assert refused.path is None and "cannot be scored here" in refused.message
    assert "frames to decode" in refused.message and "--max-video-fps" in refused.message

    monkeypatch.setattr("app.preview.make_preview", lambda *a, **k: (_ for _ in ()).throw(LimssrError("disk full")))
    failed = handlers.video_preview(str(unplayable["mpg"]), state)
    assert failed.path is None and "Only the preview is affected" in failed.message and "disk full" in failed.message


def test_score_without_a_video_names_the_formats_the_video_box_takes(fixture_checkpoint):
    state = AppState.create(AppSettings(checkpoint=str(fixture_checkpoint), preload=False))
    with pytest.raises(LimssrError, match=r"no video: upload the routine video first .*\.avi.*\.mp4"):
        handlers.score_routine(ScoreRequest(None, checkpoint=str(fixture_checkpoint)), state)
