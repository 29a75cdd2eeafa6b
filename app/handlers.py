"""The app's logic as plain functions returning plain data: testable without a browser or a Gradio server.

`score_routine` = check the uploads -> extract features (cached per content) -> score with the checkpoint. Problems the
user can fix raise `LimssrError` with a specific message (the layout turns it into `gr.Error`); degraded input is
reported in `ScoreResult.warnings` (shown as `gr.Warning`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from app.state import BUNDLED, AppState, LoadedCheckpoint, file_digest
from limssr_core.config import LimssrConfig
from limssr_core.errors import LimssrError
from limssr_core.features.formats import AUDIO_EXTENSIONS, COMMENTARY_EXTENSIONS, VIDEO_EXTENSIONS
from limssr_core.features.media import check_routine_duration
from limssr_core.features.registry import ModalityStatus

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


def extraction_plan(config: LimssrConfig, state: AppState):
    """The core's extraction plan for this checkpoint, with the server's device, threads and duration limit."""
    from limssr_core.features import ExtractionConfig, plan_extraction

    settings = ExtractionConfig(device=state.settings.device, num_threads=state.settings.threads,
                                max_duration_s=state.settings.max_minutes * 60)
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
    from limssr_core.features.media import MediaError

    limits = state.settings
    video = check_upload(request.video, "video", VIDEO_EXTENSIONS, limits.max_upload_mb)
    if video is None:
        raise LimssrError("no video: upload the routine video first")
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
            if err.limit == "max_duration_s":  # name the app's own setting for that limit
                raise MediaError(f"{err} (server setting --max-minutes)", limit=err.limit, value=err.value,
                                 allowed=err.allowed) from None
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


def _score(request: ScoreRequest, state: AppState, progress: ProgressFn | None, robustness: bool = False
           ) -> ScoreResult:
    progress = progress or (lambda fraction, desc: None)
    started = time.perf_counter()
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
    progress(0.92, "reasoning: LLM fusion and scoring" + (" under every modality subset" if robustness else ""))
    features = {name: sample.features[name] for name in present}
    prediction = loaded.scorer.score(features, withhold=tuple(n for n in withheld if n in present),
                                     robustness=robustness)
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
    return ScoreResult(payload, headline(payload), modality_panel(payload["modality_status"]),
                       card_note(loaded.config, loaded.card), warnings)


# ---------------------------------------------------------------- text for the page


def headline(payload: dict) -> str:
    lo, hi = payload["score_range"]
    used = ", ".join(payload["used_modalities"])
    return (f"## {payload['score_name']} {payload['score']:.1f} on a {lo:g}-{hi:g} scale\n"
            f"{interval_text(payload)}\n\n"
            f"main path y_main = {payload['main_path_score']:.1f}, auxiliary path y_aux = "
            f"{payload['aux_path_score']:.1f}; scored from: {used}"
            + (f"; {payload['window_rule']}" if len(payload.get("windows", [])) > 1 else ""))


def interval_text(payload: dict) -> str:
    """'90% interval 58.1-70.6 (audio missing), 62nd percentile of the training scores' or why there is none."""
    interval, percentile = payload.get("interval"), payload.get("percentile")
    gone = payload["missing_modalities"] + payload["withheld_modalities"]
    condition = f" ({', '.join(gone)} missing)" if gone else ""
    if interval is None:
        text = "no interval: this checkpoint is not calibrated (python -m limssr_core calibrate)"
    elif interval["low"] is None:
        text = f"no {interval['level']:.0%} interval{condition}: {interval['reason']}"
    else:
        text = f"{interval['level']:.0%} interval {interval['low']:.1f}-{interval['high']:.1f}{condition}"
    if percentile is not None:
        text += f"; {ordinal(round(percentile))} percentile of the training scores"
    return "**" + text[0].upper() + text[1:] + "**"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def modality_panel(modalities: dict) -> str:
    lines = ["| modality | status | reason |", "|---|---|---|"]
    for name, row in modalities.items():
        if row.get("withheld"):
            status = "withheld (what if)"
        else:
            status = "present" if row["present"] else "missing"
        lines.append(f"| {name} | {status} | {row['reason'] or '-'} |")
    return "\n".join(lines)


def card_note(config: LimssrConfig, card: str) -> str:
    """'What this score means': that section of the model card if it has one, else its opening and notes."""
    lo, hi = config.score_range
    intro = f"**What this score means.** {config.score_name} on a {lo:g}-{hi:g} scale, as predicted by this checkpoint."
    if not card.strip():
        return intro + " (The checkpoint has no model card.)"
    sections = re.split(r"(?m)^#{1,6}\s+", card)
    chosen = [s for s in sections if re.match(r"(?i)what (this|the) score means", s)]
    if not chosen:
        opening = [p for p in sections[1].split("\n\n")[1:2]] if len(sections) > 1 else []
        notes = [s.split("\n", 1)[1] for s in sections if s.lower().startswith(("notes", "data", "limitations"))]
        chosen = opening + notes
    else:
        chosen = [chosen[0].split("\n", 1)[1] if "\n" in chosen[0] else ""]
    body = " ".join(" ".join(chosen).split())
    if len(body) > 700:
        body = body[:700].rsplit(" ", 1)[0] + " ..."
    return f"{intro} {body}".strip()


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
