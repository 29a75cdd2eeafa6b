"""The app's logic as plain functions returning plain data: testable without a browser or a Gradio server.

`score_routine` = check the uploads -> extract features (cached per content) -> score with the checkpoint. Problems the
user can fix raise `LimssrError` with a specific message (the layout turns it into `gr.Error`); degraded input is
reported in `ScoreResult.warnings` (shown as `gr.Warning`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from app.state import BUNDLED, AppState, LoadedCheckpoint, file_digest
from limssr_core.config import LimssrConfig
from limssr_core.errors import LimssrError
from limssr_core.features.formats import AUDIO_EXTENSIONS, COMMENTARY_EXTENSIONS, VIDEO_EXTENSIONS
from limssr_core.features.media import MediaError, check_decode_budget, check_routine_duration, probe
from limssr_core.features.registry import ModalityStatus
from limssr_core.features.segments import segment_seconds, untimed_modalities
from limssr_core.inference.timeline import PER_MODALITY
from limssr_core.reports.text import card_note, commentary_evidence, interval_text, modality_panel, moment_lines

ProgressFn = Callable[[float, str], None]

# extract_sample's stages -> (start, end) of the overall progress bar, and what the user reads
STAGES = {
    "probe": (0.02, 0.04, "decode: reading the file"),
    "frames": (0.04, 0.72, "decode + video CNN + optical flow"),
    "audio": (0.72, 0.82, "audio features"),
    "commentary": (0.82, 0.90, "commentary embeddings"),
    "done": (0.90, 0.90, "features ready"),
}


@dataclass
class ScoreRequest:
    video: str | None
    audio: str | None = None
    commentary_text: str | None = None
    commentary_file: str | None = None
    transcribe: bool = False
    checkpoint: str = BUNDLED
    withhold: tuple[str, ...] = ()


@dataclass
class ScoreResult:
    payload: dict  # the Prediction JSON (limssr_core.inference.scorer) plus checkpoint, warnings, timings_s
    headline: str  # "TES 64.3 on a 0-130 scale"
    panel: str  # markdown table of the modalities
    note: str  # "what this score means", from the model card
    warnings: list[str] = field(default_factory=list)
    moments: str = ""  # the timeline's top moments in words (markdown), when a timeline was computed
    cues: list[tuple[float, str]] = field(default_factory=list)  # timed commentary: (start second, text)
    sentences: list[str] = field(default_factory=list)  # plain-text commentary, listed beside the timeline


# ---------------------------------------------------------------- input checks


def _size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def _size_text(mb: float) -> str:
    return f"{mb * 1000:.0f} KB" if mb < 1 else f"{mb:.0f} MB"


def check_upload(path: str | None, what: str, extensions, max_mb: float) -> Path | None:
    """None stays None; otherwise the file must exist, be small enough and have a supported extension."""
    if path is None or str(path).strip() == "":
        return None
    file = Path(path)
    if not file.is_file():
        raise LimssrError(f"{what} {file.name}: the uploaded file is missing on the server; upload it again")
    if _size_mb(file) > max_mb:
        raise LimssrError(f"{what} {file.name} is too large: {_size_text(_size_mb(file))}; the limit is "
                          f"{_size_text(max_mb)}")
    suffix = file.suffix.lower()
    if suffix not in extensions:
        shown = f"'{suffix}'" if suffix else "(no file extension)"
        raise LimssrError(f"{what} {file.name}: unsupported format {shown}; use one of "
                          f"{', '.join(sorted(extensions))}")
    return file


@dataclass
class VideoPreview:
    """What the video box shows after an upload: `path` replaces the upload (None: keep it); `message` says why."""

    path: str | None = None
    message: str | None = None


def video_preview(video: str | None, state: AppState) -> VideoPreview:
    """A converted preview for a video the browser cannot play (app/preview.py); scoring still reads the upload."""
    from app.preview import browser_playable, make_preview

    if not video or not Path(video).is_file() or _size_mb(Path(video)) > state.settings.max_upload_mb:
        return VideoPreview()  # Score gives the specific error
    source = Path(video)
    if Path(video).suffix.lower() not in VIDEO_EXTENSIONS or browser_playable(source):
        return VideoPreview()
    kind = source.suffix.lower() or "this"
    try:  # a video Score would refuse for its decoding work gets no preview work either
        check_decode_budget(probe(source), *state.settings.decode_budget())
    except MediaError as err:
        setting = f" (server setting {LIMIT_SETTINGS[err.limit]})" if err.limit in LIMIT_SETTINGS else ""
        return VideoPreview(message=f"Your browser cannot play {kind} videos, and this one cannot be scored here: "
                                    f"{err}{setting}")
    try:
        preview = make_preview(source, source.parent, max_seconds=state.settings.max_minutes * 60)
    except LimssrError as err:
        return VideoPreview(message=f"Your browser cannot play {kind} videos and no preview could be made ({err}). "
                                    "Only the preview is affected: Score reads the file as uploaded.")
    state.previews.add(preview, source)
    return VideoPreview(str(preview), f"Your browser cannot play {kind} videos, so the page shows a converted "
                                      "preview. The score is computed from the file you uploaded.")


# the extraction limits the app sets -> the app settings behind them (named in the refusal)
LIMIT_SETTINGS = {"max_duration_s": "--max-minutes", "max_video_frames": "--max-video-fps x --max-minutes",
                  "max_video_megapixels": "--max-video-megapixels-per-s x --max-minutes"}


def extraction_plan(config: LimssrConfig, state: AppState):
    """The core's extraction plan for this checkpoint, with the server's device, threads and duration limit."""
    from limssr_core.features import ExtractionConfig, plan_extraction

    frames, megapixels = state.settings.decode_budget()
    settings = ExtractionConfig(device=state.settings.device, num_threads=state.settings.threads,
                                max_duration_s=state.settings.max_minutes * 60, max_video_frames=frames,
                                max_video_megapixels=megapixels)
    return plan_extraction(config, settings)


# ---------------------------------------------------------------- extraction and scoring


def _stage_progress(progress: ProgressFn) -> Callable[[str, float], None]:
    def callback(stage: str, fraction: float) -> None:
        start, end, label = STAGES.get(stage, (0.9, 0.9, stage))
        progress(start + (end - start) * max(0.0, min(1.0, fraction)), label)

    return callback


def extract_features(request: ScoreRequest, loaded: LoadedCheckpoint, state: AppState, progress: ProgressFn):
    """(SampleFeatures, plan, was_cached, extra warnings); identical inputs reuse the cached extraction."""
    from limssr_core.features import extract_sample

    limits = state.settings
    video = check_upload(request.video, "video", VIDEO_EXTENSIONS, limits.max_upload_mb)
    if video is None:
        raise LimssrError("no video: upload the routine video first (the video box takes only video files: "
                          f"{', '.join(sorted(VIDEO_EXTENSIONS))})")
    audio = check_upload(request.audio, "audio file", AUDIO_EXTENSIONS, limits.max_audio_mb)
    commentary_file = check_upload(request.commentary_file, "commentary file", COMMENTARY_EXTENSIONS,
                                   limits.max_commentary_kb / 1000)
    text = (request.commentary_text or "").strip() or None
    plan = extraction_plan(loaded.config, state)
    if not plan.modalities:
        raise LimssrError("no usable modality: the app cannot extract any modality this checkpoint knows ("
                          + "; ".join(f"{k}: {v.reason}" for k, v in plan.unsupported.items()) + ")")
    key = "|".join([file_digest(video), file_digest(audio), file_digest(commentary_file), text or "-",
                    str(bool(request.transcribe)), ",".join(plan.modalities), repr(plan.config)]
                   ) if state.features.capacity > 0 else ""

    def compute():
        try:
            return extract_sample(video, audio_path=audio, commentary_text=text,
                                  commentary_path=None if text else commentary_file, transcribe=request.transcribe,
                                  config=plan.config, modalities=plan.modalities,
                                  progress_callback=_stage_progress(progress))
        except MediaError as err:
            if err.limit in LIMIT_SETTINGS:  # name the app's own setting for that limit
                raise MediaError(f"{err} (server setting {LIMIT_SETTINGS[err.limit]})", limit=err.limit,
                                 value=err.value, allowed=err.allowed) from None
            raise

    sample, cached = state.features.get_or_compute(key, compute)
    extras = []
    if text and commentary_file is not None:
        extras.append(f"both a commentary text and a file were given; used the text box, ignored "
                      f"{commentary_file.name}")
    return sample, plan, cached, extras


def _modality_status(config: LimssrConfig, extracted: dict[str, ModalityStatus], plan) -> dict[str, ModalityStatus]:
    """Every checkpoint modality's status: the plan's `unsupported`, else what extraction found."""
    table = {}
    for m in config.modalities:
        if m.name in plan.unsupported:
            table[m.name] = plan.unsupported[m.name]
        else:
            table[m.name] = extracted.get(m.name, ModalityStatus.not_given("not extracted"))
    return table


def score_routine(request: ScoreRequest, state: AppState, progress: ProgressFn | None = None) -> ScoreResult:
    """The /score endpoint's logic. Raises LimssrError for input the user must fix."""
    return _score(request, state, progress)


def robustness(request: ScoreRequest, state: AppState, progress: ProgressFn | None = None) -> ScoreResult:
    """Scores as `score_routine`, with payload["robustness"] filled in: the score under every non-empty subset of the
    present modalities (one batched pass; withholding does not apply to it)."""
    return _score(request, state, progress, robustness=True)


def timeline(request: ScoreRequest, state: AppState, progress: ProgressFn | None = None,
             per_modality: bool = PER_MODALITY) -> ScoreResult:
    """Scores as `score_routine`, with payload["timeline"] filled in: per moment, how much it raised or lowered the
    score (occlusion with the learned missing tokens), in seconds of the video, for the present modalities together
    and, with `per_modality`, for each alone. Uses the cached features."""
    return _score(request, state, progress, timeline=True, per_modality=per_modality)


def _score(request: ScoreRequest, state: AppState, progress: ProgressFn | None, robustness: bool = False,
           timeline: bool = False, per_modality: bool = PER_MODALITY) -> ScoreResult:
    progress = progress or (lambda fraction, desc: None)
    started = time.perf_counter()
    request = dataclasses.replace(request, video=state.previews.original(request.video))  # never score a preview
    progress(0.0, "loading the model (first request only)")
    loaded = state.registry.get(request.checkpoint)
    sample, plan, cached, warnings = extract_features(request, loaded, state, progress)
    check_routine_duration(sample.meta["media"]["duration_s"], Path(request.video).name)
    extracted = time.perf_counter()
    withheld = set(request.withhold or ())
    status = _modality_status(loaded.config, sample.status, plan)
    present = [name for name, st in status.items() if st.present]
    if not present:
        raise LimssrError("no usable modality in this input: " + "; ".join(
            f"{name}: {st.reason}" for name, st in status.items()))
    if all(name in withheld for name in present):
        raise LimssrError(f"no usable modality: every present modality ({', '.join(present)}) is withheld; "
                          "un-tick at least one")
    progress(0.92, "reasoning: LLM fusion and scoring" + (" under every modality subset" if robustness else "")
             + (" and with each moment occluded" if timeline else ""))
    features = {name: sample.features[name] for name in present}
    used = [n for n in present if n not in withheld]
    untimed = untimed_modalities(sample.meta)
    if timeline and not any(m.timeline and m.name in used and m.name not in untimed for m in loaded.config.modalities):
        raise LimssrError("a timeline needs a modality on the video's timeline (video, flow, audio or timed "
                          f"commentary); this score uses only {', '.join(used)}"
                          + (" (the commentary is plain text, not timed)" if "commentary" in used else ""))
    prediction = loaded.scorer.score(features, withhold=tuple(n for n in withheld if n in present),
                                     robustness=robustness, timeline=timeline, timeline_per_modality=per_modality,
                                     segment_seconds=segment_seconds(sample.meta), untimed=untimed)
    progress(1.0, "done")
    prediction.modality_status = {name: st.to_json() | {"withheld": st.present and name in withheld}
                                  for name, st in status.items()}
    warnings = list(sample.meta.get("warnings", [])) + warnings + [
        f"{name} missing: {st.reason}" for name, st in status.items() if st.is_problem]
    payload = prediction.to_json() | {
        "checkpoint": {"ref": loaded.ref, "backbone": loaded.config.backbone},
        "warnings": warnings,
        "timings_s": {"extraction": round(extracted - started, 3), "total": round(time.perf_counter() - started, 3),
                      "features_cached": cached},
    }
    cues, sentences = (commentary_evidence(request.commentary_file, (request.commentary_text or "").strip() or None)
                       if timeline else ([], []))
    moments = "\n".join(f"- {line}" for line in moment_lines(payload))
    return ScoreResult(payload, headline(payload), modality_panel(payload["modality_status"]),
                       card_note(loaded.config, loaded.card), warnings, moments, cues, sentences)


def report_file(result: ScoreResult, state: AppState) -> str:
    """Write `result` as the self-contained HTML report (reports/html.py) into a fresh temporary folder; its path.
    Gradio serves it from there to the download button and the cache cleaner removes it with the other outputs."""
    import tempfile

    from limssr_core.reports.html import checkpoint_identity, render_report, write_report

    ref = result.payload["checkpoint"]["ref"]
    loaded = state.registry.get(ref)
    page = render_report(result.payload, checkpoint_identity(loaded.config, ref), result.note,
                         cues=result.cues, sentences=result.sentences)
    name = f"limssr-report-{result.payload['score_name']}-{result.payload['score']:.1f}.html".replace(" ", "_")
    return str(write_report(Path(tempfile.mkdtemp(prefix="limssr-report-")) / name, page))


# ---------------------------------------------------------------- text for the page


def headline(payload: dict) -> str:
    lo, hi = payload["score_range"]
    used = ", ".join(payload["used_modalities"])
    return (f"## {payload['score_name']} {payload['score']:.1f} on a {lo:g}-{hi:g} scale\n"
            f"{interval_text(payload)}\n\n"
            f"main path y_main = {payload['main_path_score']:.1f}, auxiliary path y_aux = "
            f"{payload['aux_path_score']:.1f}; scored from: {used}"
            + (f"; {payload['window_rule']}" if len(payload.get("windows", [])) > 1 else ""))


def checkpoint_overview(ref: str, state: AppState) -> dict:
    """For the selector: the checkpoint's modalities (not yet extracted), its card note and a one-line summary."""
    config, card = state.registry.config(ref)
    plan = extraction_plan(config, state)
    waiting = ModalityStatus.not_given("waiting for a routine")
    modalities = {m.name: plan.unsupported.get(m.name, waiting).to_json() | {"withheld": False}
                  for m in config.modalities}
    lo, hi = config.score_range
    summary = (f"Checkpoint `{ref}`: predicts {config.score_name} on a {lo:g}-{hi:g} scale from "
               f"{', '.join(config.modality_names)} (backbone `{config.backbone}`).")
    return {"modalities": list(config.modality_names), "panel": modality_panel(modalities),
            "note": card_note(config, card), "summary": summary}
