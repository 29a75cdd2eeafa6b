"""A self-contained HTML report of one scored routine, to keep or send: no network is needed to open it.

Everything comes from the `Prediction` JSON (inference/scorer.py) plus what the caller knows about the checkpoint:
score, interval and percentile, modality status with reasons, the timeline (when computed), the MDA weights, the
robustness table (when computed), the checkpoint's card note and identity. The figures are the app's
(reports/figures.py) as plotly's offline HTML, with plotly.js embedded once, so the file opens anywhere.
"""

from __future__ import annotations

import html
import os
import time
from pathlib import Path

from limssr_core.reports.figures import WEIGHTS_EXPLAINED, robustness_figure, timeline_figure, weights_figure
from limssr_core.reports.text import interval_sentence, modality_rows, moment_lines

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #0f172a; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; }
.interval { font-weight: 600; } .muted { color: #475569; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #cbd5e1; padding: 4px 10px; }
th { background: #f1f5f9; text-align: left; } .warn { color: #b45309; }
"""


def checkpoint_identity(config, ref: str) -> dict:
    """What the report says about the checkpoint: where it came from and what it was trained on."""
    identity = config.backbone_identity or {}
    return {"ref": ref, "score_name": config.score_name, "score_range": list(config.score_range),
            "modalities": list(config.modality_names), "backbone": config.backbone,
            "backbone_source": identity.get("source"), "backbone_fingerprint": identity.get("fingerprint"),
            "format_version": config.format_version, "dataset": config.dataset.get("name")}


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_report(payload: dict, checkpoint: dict, card_note: str = "", title: str | None = None,
                  cues: list[tuple[float, str]] | None = None, sentences: list[str] | None = None) -> str:
    """The whole report as one HTML string. `checkpoint`: `checkpoint_identity(...)`; `cues`: timed commentary
    sentences (start second, text) placed on the timeline; `sentences`: plain-text commentary, listed beside it;
    `title`: e.g. the routine's file name."""
    lo, hi = payload["score_range"]
    name = payload["score_name"]
    heading = f"{name} {payload['score']:.1f} on a {lo:g}-{hi:g} scale"
    parts = [f"<h1>{html.escape(heading)}</h1>"]
    if title:
        parts.append(f"<p class='muted'>{html.escape(title)}</p>")
    parts.append(f"<p class='interval'>{html.escape(interval_sentence(payload))}</p>")
    parts.append(f"<p>Main path y_main = {payload['main_path_score']:.1f}, auxiliary path y_aux = "
                 f"{payload['aux_path_score']:.1f}; scored from {html.escape(', '.join(payload['used_modalities']))}"
                 + (f"; {html.escape(payload['window_rule'])}" if len(payload.get("windows", [])) > 1 else "")
                 + ".</p>")
    for warning in payload.get("warnings", []):
        parts.append(f"<p class='warn'>{html.escape(warning)}</p>")
    parts.append("<h2>Modalities</h2>")
    parts.append(_table(["modality", "status", "reason"], [list(r) for r in modality_rows(payload["modality_status"])]))
    if payload.get("timeline"):
        parts.append("<h2>Timeline: where the score came from</h2>")
        parts.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in moment_lines(payload)) + "</ul>")
        parts.append(timeline_figure(payload, cues))
        if sentences:
            parts.append("<p class='muted'>Commentary (plain text, not timed):</p><ol class='muted'>"
                         + "".join(f"<li>{html.escape(s)}</li>" for s in sentences[:60]) + "</ol>")
    parts.append("<h2>How the model weighed its evidence</h2>")
    parts.append(weights_figure(payload))
    parts.append(f"<p class='muted'>{html.escape(WEIGHTS_EXPLAINED.replace('**', ''))}</p>")
    if payload.get("robustness"):
        parts.append("<h2>Robustness: the score under every subset of the present modalities</h2>")
        rows = sorted(payload["robustness"], key=lambda r: -r["score"])
        parts.append(_table(["modalities", name], [[" + ".join(r["modalities"]), f"{r['score']:.2f}"] for r in rows]))
        parts.append(robustness_figure(payload))
    parts.append("<h2>The checkpoint</h2>")
    if card_note:
        parts.append(f"<p>{html.escape(card_note.replace('**', ''))}</p>")
    parts.append(_table(["field", "value"], [[k, "-" if v is None else v] for k, v in checkpoint.items()]))
    parts.append(f"<p class='muted'>Written by LIMSSR Studio on {time.strftime('%Y-%m-%d %H:%M')}. The score is a "
                 "model's prediction, with the interval and evidence above; it is not an official mark.</p>")
    rendered, figures = [], 0
    for part in parts:
        if isinstance(part, str):
            rendered.append(part)
            continue
        # plotly.js once, inline, with the first figure: the report opens without a network
        rendered.append(part.to_html(full_html=False, include_plotlyjs=figures == 0, config={"displaylogo": False}))
        figures += 1
    body = "\n".join(rendered)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(heading)}</title>"
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def write_report(path: str | Path, report: str) -> Path:
    """Write atomically (a partial file never replaces a good one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(report, encoding="utf-8")
    os.replace(tmp, path)
    return path
