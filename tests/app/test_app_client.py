"""The served app driven through gradio_client, as a program would use it (README: "Using the app as an API")."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file

REPO = Path(__file__).resolve().parents[2]

SCORE_OUTPUTS = 6  # headline, modality panel, weights plot, JSON, model-card note, report file
JSON_INDEX = 3


@pytest.fixture(scope="module")
def client(served_app):
    return Client(served_app, verbose=False)


def test_api_lists_score_with_only_the_video_required(client):
    info = client.view_api(print_info=False, return_format="dict")
    params = info["named_endpoints"]["/score"]["parameters"]
    assert params[0]["parameter_name"] == "video" and not params[0]["parameter_has_default"]
    assert all(p["parameter_has_default"] for p in params[1:])
    assert "/robustness" in info["named_endpoints"] and "/timeline" in info["named_endpoints"]


def test_score_a_routine_with_only_the_video(client, routines):
    out = client.predict(handle_file(str(routines["video"])), api_name="/score")
    assert len(out) == SCORE_OUTPUTS
    result = out[JSON_INDEX]
    assert set(result) >= {"score", "score_name", "score_range", "modality_status", "weights", "main_path_score"}
    assert result["score_name"] == "TES" and result["score_range"] == [0, 130]
    assert 0 <= result["score"] <= 130
    assert {n: m["present"] for n, m in result["modality_status"].items()} == {
        "video": True, "flow": True, "audio": True, "commentary": False}
    assert result["modality_status"]["commentary"]["reason"] == "no commentary given"
    assert set(result["weights"]) == {"path_weight_main", "path_weight_aux", "modality_gate", "confidence",
                                      "fusion_role_weights"}
    assert out[0].startswith(f"## TES {result['score']:.1f} on a 0-130 scale")
    page = open(out[-1]["value"] if isinstance(out[-1], dict) else out[-1], encoding="utf-8").read()
    assert f"TES {result['score']:.1f} on a 0-130 scale" in page  # the report, downloaded through the API


def test_timeline_through_the_api(client, routines):
    out = client.predict(handle_file(str(routines["video"])), None, "00:01 A clean opening.\n00:03 A wobble.",
                         api_name="/timeline")
    result = out[5]
    timeline = result["timeline"]
    assert timeline["modalities"] == []  # the default: the present modalities together only
    per_modality = client.predict(handle_file(str(routines["video"])), None, "00:01 A clean opening.\n00:03 A wobble.",
                                  per_modality=True, api_name="/timeline")[5]["timeline"]
    assert per_modality["modalities"] and "video" in per_modality["points"][0]["effect"]
    assert timeline["segment_seconds"] > 0 and timeline["points"]
    assert timeline["points"][-1]["end_s"] == pytest.approx(
        timeline["points"][-1]["end_segment"] * timeline["segment_seconds"])
    assert "Top moments" in out[4]["value"] if isinstance(out[4], dict) else "Top moments" in out[4]


def test_score_without_audio_but_with_commentary(client, routines):
    out = client.predict(handle_file(str(routines["noaudio"])), None, "A clean jump. A shaky landing.",
                         api_name="/score")
    modalities = out[JSON_INDEX]["modality_status"]
    assert modalities["audio"]["present"] is False and "no audio stream" in modalities["audio"]["reason"]
    assert modalities["commentary"]["present"] is True


def test_commentary_file_and_separate_audio_by_keyword(client, routines):
    out = client.predict(video=handle_file(str(routines["noaudio"])), audio=handle_file(str(routines["audio_only"])),
                         commentary_file=handle_file(str(routines["commentary"])), withhold=["video"],
                         api_name="/score")
    result = out[JSON_INDEX]
    assert result["modality_status"]["audio"]["present"] and result["modality_status"]["commentary"]["present"]
    assert result["used_modalities"] == ["flow", "audio", "commentary"]


def test_four_simultaneous_requests_all_succeed(client, routines):
    jobs = [
        client.submit(handle_file(str(routines["other"])), api_name="/score"),
        client.submit(handle_file(str(routines["noaudio"])), api_name="/score"),
        client.submit(handle_file(str(routines["video"])), None, "Strong finish.", api_name="/score"),
        client.submit(handle_file(str(routines["video"])), api_name="/robustness"),
    ]
    results = [job.result(timeout=120) for job in jobs]
    assert all(r[JSON_INDEX]["score_name"] == "TES" for r in results[:3])
    assert len(results[3][4]["robustness"]) == 7  # video, flow, audio: 2^3 - 1 subsets


def test_bad_input_is_a_clear_error_not_a_traceback(client, routines):
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(routines["corrupt"])), api_name="/score")
    message = str(info.value)
    assert "not a media file" in message and "Traceback" not in message


def test_upload_beyond_the_limit_is_refused_before_processing(client, served_app, tmp_path, settings):
    import httpx

    big = tmp_path / "huge.mp4"
    big.write_bytes(b"\0" * int((settings.max_upload_mb + 1) * 1e6))
    with open(big, "rb") as handle:
        response = httpx.post(served_app + "gradio_api/upload", files={"files": ("huge.mp4", handle)}, timeout=60)
    assert response.status_code == 413, response.text


def test_a_public_app_refuses_server_paths_with_one_message(client, fixture_checkpoint):
    """The public-deployment check (default settings): a server path in the checkpoint field is refused with the
    same message whether it exists (a file, a folder, even a real checkpoint folder) or not."""
    from app.catalog import NOT_OFFERED

    messages = {}
    for path in ("/etc/passwd", "/root/.ssh/id_rsa", "/no/such/file", str(fixture_checkpoint.parent),
                 str(fixture_checkpoint.resolve()) + "/"):
        with pytest.raises(Exception) as info:
            client.predict(handle_file(str(REPO / "assets" / "examples" / "strong.mp4")), checkpoint=path,
                           api_name="/score")
        messages[path] = str(info.value)
    assert set(messages.values()) == {NOT_OFFERED}, messages
