"""The words of a result, shared by the app and the HTML report: interval, percentile, modality table, card note.

Pure functions of the `Prediction` JSON (inference/scorer.py) and a checkpoint's config and card: no model, no UI.
"""

from __future__ import annotations

import re
from pathlib import Path

from limssr_core.config import LimssrConfig


def interval_text(payload: dict) -> str:
    """The interval sentence in bold (markdown)."""
    return "**" + interval_sentence(payload) + "**"


def interval_sentence(payload: dict) -> str:
    """'90% interval 58.1-70.6 (audio missing); 62nd percentile of the training scores' or why there is none; for an
    ensemble also the range of its members' scores."""
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
    members = payload.get("member_scores") or []
    if len(members) > 1:  # an ensemble checkpoint: how far apart its members are
        text += f"; its {len(members)} members give {min(members):.1f}-{max(members):.1f}"
    return text[0].upper() + text[1:]


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def modality_rows(modalities: dict) -> list[tuple[str, str, str]]:
    """(modality, present | missing | withheld (what if), reason or '-') per modality of `modality_status`."""
    rows = []
    for name, row in modalities.items():
        if row.get("withheld"):
            status = "withheld (what if)"
        else:
            status = "present" if row["present"] else "missing"
        rows.append((name, status, row["reason"] or "-"))
    return rows


def modality_panel(modalities: dict) -> str:
    """The modality table in markdown."""
    lines = ["| modality | status | reason |", "|---|---|---|"]
    lines += [f"| {name} | {status} | {reason} |" for name, status, reason in modality_rows(modalities)]
    return "\n".join(lines)


def clock(seconds: float) -> str:
    """72.4 -> '1:12'."""
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def moment_span(point: dict) -> str:
    """'1:12-1:17' when the timeline is in seconds, else 'segments 36-40'."""
    if point.get("start_s") is None:
        return f"segments {point['start_segment']}-{point['end_segment']}"
    return f"{clock(point['start_s'])}-{clock(point['end_s'])}"


def moment_lines(payload: dict) -> list[str]:
    """The top moments of a timeline in words: which raised the score most, which lowered it most."""
    timeline = payload.get("timeline")
    if not timeline:
        return []
    unit = payload["score_name"]
    lines = [f"{moment_span(p)} raised {unit} by {p['effect']['all']:.2f}" for p in timeline["raised"]]
    lines += [f"{moment_span(p)} lowered {unit} by {-p['effect']['all']:.2f}" for p in timeline["lowered"]]
    return lines or ["no moment changed the score: occluding any one of them leaves it as it is"]


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


def commentary_evidence(path: str | Path | None = None, text: str | None = None
                        ) -> tuple[list[tuple[float, str]], list[str]]:
    """(timed cues as (start second, text), plain sentences) of a commentary text or file, for placing it on a
    timeline; ([], []) when there is none or it cannot be read (the score itself reports why it is missing)."""
    from limssr_core.errors import LimssrError
    from limssr_core.features.commentary import parse_commentary, read_text_file

    try:
        if text is None:
            if path is None or not Path(path).is_file():
                return [], []
            text = read_text_file(path)
        cues, sentences = parse_commentary(text)
    except (LimssrError, OSError, UnicodeError):
        return [], []
    return [(cue.start_s, cue.text) for cue in cues or []], list(sentences)
