"""The app's handlers and figure builders as plain functions: no browser, no server."""

from __future__ import annotations

import dataclasses
import json
import threading

import plotly.graph_objects as go
import pytest

from app import handlers
from limssr_core.reports import figures, text
from app.handlers import ScoreRequest
from app.state import AppSettings, AppState, FeatureCache, ModelRegistry
from limssr_core.errors import LimssrError

NAMES = ["video", "flow", "audio", "commentary"]


def request(routines, settings, **kw) -> ScoreRequest:
    base = dict(video=str(routines["video"]), checkpoint=settings.checkpoint)
    base.update(kw)
    return ScoreRequest(**base)


def test_score_with_everything_follows_the_json_contract(state, settings, routines):
    stages = []
    result = handlers.score_routine(request(routines, settings, commentary_file=str(routines["commentary"])), state,
                                    lambda fraction, desc: stages.append((fraction, desc)))
    p = result.payload
    assert isinstance(p["score"], float) and 0 <= p["score"] <= 130
    assert p["score_name"] == "TES" and p["score_range"] == [0.0, 130.0]
    assert list(p["modality_status"]) == NAMES
    assert all(p["modality_status"][n] == {"present": True, "kind": "ok", "reason": "", "withheld": False} for n in NAMES)
    w = p["weights"]
    assert w["path_weight_main"] + w["path_weight_aux"] == pytest.approx(1.0)
    assert set(w["modality_gate"]) == set(NAMES) and set(w["confidence"]) == set(NAMES)
    assert len(w["fusion_role_weights"]) == 4
    assert {"main_path_score", "aux_path_score", "missing_modalities", "robustness"} <= set(p)
    json.dumps(p)  # plain data only
    assert result.headline.startswith(f"## TES {p['score']:.1f} on a 0-130 scale")
    assert "carry no meaning" in result.note  # the model card's "What this score means" section
    fractions = [f for f, _ in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    descs = " ".join(d for _, d in stages)
    for stage in ("decode", "audio", "commentary", "reasoning"):
        assert stage in descs


def test_missing_modalities_have_reasons(state, settings, routines):
    p = handlers.score_routine(request(routines, settings, video=str(routines["noaudio"])), state).payload
    assert p["modality_status"]["audio"]["present"] is False and "no audio stream" in p["modality_status"]["audio"]["reason"]
    assert p["modality_status"]["commentary"] == {"present": False, "kind": "not_given", "reason": "no commentary given", "withheld": False}
    assert p["used_modalities"] == ["video", "flow"]


def test_separate_audio_file_adds_or_replaces_the_track(state, settings, routines):
    p = handlers.score_routine(request(routines, settings, video=str(routines["noaudio"]),
                                       audio=str(routines["audio_only"])), state).payload
    assert p["modality_status"]["audio"]["present"] is True
    silent = handlers.score_routine(request(routines, settings, audio=str(routines["silent_wav"])), state)
    assert silent.payload["modality_status"]["audio"]["present"] is False
    assert "audio silent" in silent.payload["modality_status"]["audio"]["reason"]
    assert any("audio silent" in w for w in silent.warnings)  # degraded input -> a warning


def test_commentary_text_and_srt(state, settings, routines):
    text = handlers.score_routine(request(routines, settings, commentary_text="Clean lutz. Weak landing."), state)
    assert text.payload["modality_status"]["commentary"]["present"] is True
    srt = handlers.score_routine(request(routines, settings, commentary_file=str(routines["srt"])), state)
    assert srt.payload["modality_status"]["commentary"]["present"] is True
    both = handlers.score_routine(request(routines, settings, commentary_text="Fine.",
                                          commentary_file=str(routines["srt"])), state)
    assert any("used the text box" in w for w in both.warnings)


def test_transcribe_when_no_commentary_is_given(state, settings, routines):
    from limssr_core.features.whisper import whisper_available

    result = handlers.score_routine(request(routines, settings, transcribe=True), state)
    commentary = result.payload["modality_status"]["commentary"]
    if not whisper_available():
        assert "Whisper" in commentary["reason"]
    else:  # the synthetic soundtrack is music: a transcript, or a reason saying none was found
        assert commentary["present"] or "transcription found no speech" in commentary["reason"]


def test_withhold_reuses_features_and_changes_the_mask(state, settings, routines):
    full = handlers.score_routine(request(routines, settings), state).payload
    what_if = handlers.score_routine(request(routines, settings, withhold=("audio",)), state).payload
    assert what_if["timings_s"]["features_cached"] is True
    assert what_if["modality_status"]["audio"] == {"present": True, "kind": "ok", "reason": "", "withheld": True}
    assert "audio" not in what_if["used_modalities"] and what_if["withheld_modalities"] == ["audio"]
    assert what_if["score"] != full["score"]
    assert "withheld" in text.modality_panel(what_if["modality_status"])


def test_robustness_scores_every_subset(state, settings, routines):
    result = handlers.robustness(request(routines, settings, video=str(routines["noaudio"])), state)
    subsets = [tuple(r["modalities"]) for r in result.payload["robustness"]]
    assert subsets == [("video",), ("flow",), ("video", "flow")]
    assert result.payload["robustness"][-1]["score"] == pytest.approx(result.payload["score"], abs=1e-4)
    fig = figures.robustness_figure(result.payload)
    assert isinstance(fig, go.Figure) and len(fig.data[0].y) == 3


def test_weights_figure_shows_every_weight(state, settings, routines):
    payload = handlers.score_routine(request(routines, settings, video=str(routines["noaudio"])), state).payload
    fig = figures.weights_figure(payload)
    assert [t.name for t in fig.data][2:4] == ["G", "alpha"]
    assert list(fig.data[2].y) == ["video", "flow", "audio (absent)", "commentary (absent)"]  # horizontal bars
    assert list(fig.data[0].x) == pytest.approx([payload["weights"]["path_weight_main"],
                                                 payload["weights"]["path_weight_aux"]])
    assert len(fig.data[1].y) == 4  # one bar per fusion token
    fig.to_json()


@pytest.mark.parametrize("field, key, message", [
    ("video", "corrupt", "not a media file"),
    ("video", "badext", "unsupported format '.xyz'"),
    ("video", None, "upload the routine video"),
    ("commentary_file", "docx", "unsupported format '.docx'"),
    ("audio", "docx", "unsupported format '.docx'"),
])
def test_bad_input_gives_a_specific_error(state, settings, routines, field, key, message):
    req = request(routines, settings, **{field: str(routines[key]) if key else None})
    with pytest.raises(LimssrError, match=message):
        handlers.score_routine(req, state)


def test_too_large_too_long_and_no_usable_modality(state, fixture_checkpoint, routines):
    tiny = AppState.create(AppSettings(checkpoint=str(fixture_checkpoint), max_upload_mb=0.001, preload=False))
    with pytest.raises(LimssrError, match=r"too large: \d+ KB; the limit is 1 KB"):
        handlers.score_routine(ScoreRequest(str(routines["video"]), checkpoint=str(fixture_checkpoint)), tiny)
    short = AppState.create(AppSettings(checkpoint=str(fixture_checkpoint), max_minutes=0.05, preload=False))
    with pytest.raises(LimssrError, match=r"the limit is 0m03s \(server setting --max-minutes\)"):
        handlers.score_routine(ScoreRequest(str(routines["video"]), checkpoint=str(fixture_checkpoint)), short)
    # the decoding budget: frames and pixels per request, each named by its server setting
    few_frames = AppState.create(AppSettings(checkpoint=str(fixture_checkpoint), max_minutes=5, max_video_fps=0.1,
                                             preload=False))
    with pytest.raises(LimssrError, match=r"frames to decode; the limit is 30\. .*\(server setting "
                                          r"--max-video-fps x --max-minutes\)"):
        handlers.score_routine(ScoreRequest(str(routines["video"]), checkpoint=str(fixture_checkpoint)), few_frames)
    few_pixels = AppState.create(AppSettings(checkpoint=str(fixture_checkpoint), max_video_megapixels_per_s=1e-5,
                                             preload=False))
    with pytest.raises(LimssrError, match=r"gigapixels to decode; .*\(server setting --max-video-megapixels-per-s"):
        handlers.score_routine(ScoreRequest(str(routines["video"]), checkpoint=str(fixture_checkpoint)), few_pixels)
    defaults = AppSettings()
    assert defaults.decode_budget() == (21600, pytest.approx(360 * 1920 * 1080 * 30 / 1e6))
    # an .mp4 without a video stream, its track replaced by a silent one, no commentary: nothing to score from
    with pytest.raises(LimssrError, match="no usable modality in this input: video: no video stream .*"
                                          "audio: audio silent .* commentary: no commentary given"):
        handlers.score_routine(ScoreRequest(str(routines["audio_only_mp4"]), audio=str(routines["silent_wav"]),
                                            checkpoint=str(fixture_checkpoint)), state)


def test_withholding_everything_is_refused(state, settings, routines):
    with pytest.raises(LimssrError, match="every present modality .* is withheld"):
        handlers.score_routine(request(routines, settings, video=str(routines["noaudio"]),
                                       withhold=("video", "flow")), state)


def test_checkpoint_overview_by_name_and_refusals(state, settings, fixture_checkpoint):
    from app.catalog import NOT_OFFERED, default_name

    info = handlers.checkpoint_overview(default_name(settings), state)
    assert info["modalities"] == NAMES and "TES on a 0-130 scale" in info["summary"]
    assert "waiting for a routine" in info["panel"]
    for value in (str(fixture_checkpoint.parent), "/etc/passwd", "not a hub id"):
        with pytest.raises(LimssrError) as refused:
            handlers.checkpoint_overview(value, state)
        assert str(refused.value) == NOT_OFFERED


def test_unsupported_modalities_are_reported_not_extracted(state, fixture_checkpoint):
    from limssr_core.config import ModalityConfig
    from limssr_core.model.checkpoint import read_config

    config = read_config(fixture_checkpoint)
    config = dataclasses.replace(config, modalities=config.modalities + [ModalityConfig("skeleton", 34, "pose@1")])
    config.modalities[1] = ModalityConfig("flow", 128, "flow-farneback@1")
    plan = handlers.extraction_plan(config, state)
    assert plan.modalities == ("video", "flow", "audio", "commentary")
    assert plan.config.flow_method == "farneback"
    assert "no extractor for modality 'skeleton'" in plan.unsupported["skeleton"].reason


def test_registry_loads_each_checkpoint_once_under_concurrency(settings):
    registry = ModelRegistry(settings)
    results = []
    threads = [threading.Thread(target=lambda: results.append(registry.get(settings.checkpoint))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r is results[0] for r in results)


def test_feature_cache_is_bounded():
    cache = FeatureCache(capacity=2)
    for key in "abc":
        cache.get_or_compute(key, lambda k=key: k.upper())
    assert cache.get_or_compute("c", lambda: "new") == ("C", True)
    assert cache.get_or_compute("a", lambda: "again") == ("again", False)


def test_card_note_without_a_section(fixture_checkpoint):
    from limssr_core.model.checkpoint import read_config

    config = read_config(fixture_checkpoint)
    note = text.card_note(config, "# Card\n\nTrained on synthetic routines only.\n\n## Notes\n\nDemo only.\n")
    assert "TES on a 0-130 scale" in note and "synthetic routines" in note and "Demo only." in note
    assert "no model card" in text.card_note(config, "")


def test_guarded_turns_errors_into_one_line_messages():
    import gradio as gr

    from app.layout import guarded

    with pytest.raises(gr.Error) as info:
        guarded(lambda: (_ for _ in ()).throw(LimssrError("video x.mp4: the file is empty (0 bytes)")))
    assert info.value.message == "video x.mp4: the file is empty (0 bytes)"
    with pytest.raises(gr.Error) as info:
        guarded(lambda: {}["boom"])
    assert info.value.message.startswith("internal error (KeyError)") and "Traceback" not in info.value.message
    assert guarded(lambda: 42) == 42


def test_the_headline_states_the_interval_the_condition_and_the_percentile():
    base = {"missing_modalities": ["audio"], "withheld_modalities": [], "percentile": 62.3}
    interval = {"level": 0.9, "low": 58.1, "high": 70.6, "reason": ""}
    assert text.interval_text(base | {"interval": interval}) == \
        "**90% interval 58.1-70.6 (audio missing); 62nd percentile of the training scores**"
    refused = text.interval_text(base | {"interval": interval | {"low": None, "high": None,
                                                                      "reason": "not enough calibration data"}})
    assert refused.startswith("**No 90% interval (audio missing): not enough calibration data")
    assert "not calibrated" in text.interval_text(base | {"interval": None, "percentile": None})
    assert [text.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 100)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "100th"]


def test_a_clip_too_short_for_a_score_is_a_clear_error(state, settings, tmp_path):
    import av
    import numpy as np

    clip = tmp_path / "short.mp4"
    with av.open(str(clip), "w") as out:  # 20 frames at 25 fps: 0.8 s
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((64, 96, 3), 10 * i, np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with pytest.raises(LimssrError, match="a score needs at least 2 s of routine"):
        handlers.score_routine(ScoreRequest(video=str(clip), checkpoint=settings.checkpoint), state)


def test_robustness_progress_reaches_100_only_after_the_last_subset(state, settings, routines):
    import time

    seen = []
    result = handlers.robustness(request(routines, settings), state,
                                 lambda fraction, desc: seen.append((fraction, desc, time.perf_counter())))
    returned = time.perf_counter()
    done = [t for fraction, _, t in seen if fraction >= 1.0]
    assert len(done) == 1 and returned - done[0] < 0.5  # "done" means done: the subsets were scored before it
    assert len(result.payload["robustness"]) == 7  # video, flow, audio (no commentary given)
    assert any("every modality subset" in desc for _, desc, _ in seen)


def test_each_input_type_has_its_own_size_limit(state, settings, routines, tmp_path):
    big_text = tmp_path / "notes.txt"
    big_text.write_text("A clean jump.\n" * 30_000)  # about 420 KB
    with pytest.raises(LimssrError, match=r"commentary file notes.txt is too large: \d+ KB; the limit is 256 KB"):
        handlers.score_routine(request(routines, settings, commentary_file=str(big_text)), state)
    defaults = AppSettings()
    assert (defaults.max_minutes, defaults.max_audio_mb, defaults.max_commentary_kb) == (6.0, 100.0, 256.0)


def test_the_weights_figure_keeps_full_modality_names_and_explains_itself(state, settings, routines):
    payload = handlers.score_routine(request(routines, settings, video=str(routines["noaudio"])), state).payload
    fig = figures.weights_figure(payload)
    gate = next(t for t in fig.data if t.name == "G")
    assert gate.orientation == "h" and list(gate.y) == ["video", "flow", "audio (absent)", "commentary (absent)"]
    assert fig.layout.yaxis3.automargin  # the names get the room they need, never cut to "vid"
    assert fig.layout.xaxis3.domain == (0.0, 1.0)  # a full-width row of its own: nothing to overlap
    assert "**alpha**: how far the model trusts" in figures.WEIGHTS_EXPLAINED  # beside the figure, never in it
    assert not any("how far" in (a.text or "") for a in fig.layout.annotations)


def test_timeline_on_cached_features_places_timed_commentary(state, settings, routines):
    base = request(routines, settings, commentary_text="00:01 A clean opening.\n00:03 A wobble on the landing.")
    handlers.score_routine(base, state)
    result = handlers.timeline(base, state, per_modality=True)
    assert result.payload["timings_s"]["features_cached"] is True  # never re-extracted
    timeline = result.payload["timeline"]
    assert timeline["modalities"] and set(timeline["points"][0]["effect"]) == {"all", *timeline["modalities"]}
    assert timeline["reference"] == "video" and timeline["segment_seconds"] > 0
    assert timeline["points"][0]["start_s"] == 0.0
    assert result.cues == [(1.0, "A clean opening."), (3.0, "A wobble on the landing.")]
    assert result.moments.startswith("- ") and ("raised" in result.moments or "lowered" in result.moments
                                                 or "no moment" in result.moments)
    fig = figures.timeline_figure(result.payload, result.cues)
    assert fig.data[-1].name == "commentary" and list(fig.data[-1].x) == [1.0, 3.0]


def test_a_timeline_needs_a_timeline_modality(state, settings, routines):
    with pytest.raises(LimssrError, match="a timeline needs a modality on the video's timeline"):
        handlers.timeline(request(routines, settings, commentary_text="A clean jump.",
                                  withhold=("video", "flow", "audio")), state)


def test_the_report_file_is_a_self_contained_page_of_the_result(state, settings, routines):
    result = handlers.robustness(request(routines, settings, video=str(routines["noaudio"])), state)
    path = handlers.report_file(result, state)
    page = open(path, encoding="utf-8").read()
    assert path.endswith(".html") and f"TES {result.payload['score']:.1f} on a 0-130 scale" in page
    assert "no audio stream" in page and "Robustness" in page and page.count("plotly.js v") == 1
