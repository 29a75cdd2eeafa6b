"""Pure plotly figure builders: the `Prediction` JSON in, a `go.Figure` out (no Gradio, no model).

Used by the app and by the HTML report (reports/html.py), so both show the same figures.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAIN, AUX, GATE, CONF, ROLE = "#2563eb", "#f59e0b", "#059669", "#7c3aed", "#64748b"
LINE_COLOURS = ("#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5", "#0d9488")  # one per occluded modality
# what w, G and alpha mean, for judges: shown beside the figure (the app's Markdown under the plot, a paragraph in the
# report), not inside it, so it never competes with the panels for width
WEIGHTS_EXPLAINED = ("**w**: how much the reasoning path counts against the cross-modal one. "
                     "**G**: how much each modality drives the cross-modal path. "
                     "**alpha**: how far the model trusts a modality (1 when present; lower for a missing one it "
                     "stands in for).")


def weights_figure(payload: dict) -> go.Figure:
    """The MDA weights: path weight w vs 1-w (with y_main / y_aux), per-modality gate G and confidence alpha,
    and the fusion tokens' role weights.

    One column of three panels, each the figure's full width, so titles, bar texts and names fit from ~340 px up
    (the result column of a 1000 px page) to a report's full width."""
    weights = payload["weights"]
    names = list(weights["modality_gate"])
    roles = weights["fusion_role_weights"]
    used = set(payload.get("used_modalities", names))
    # horizontal bars in the per-modality panel: its names sit in the figure's left margin, which plotly widens to
    # fit them (automargin), so no name is rotated or cut ("video (absent)")
    fig = make_subplots(rows=3, cols=1, row_heights=[0.26, 0.26, 0.48], vertical_spacing=0.13,
                        subplot_titles=("path weights: w vs 1-w", "fusion-token roles", "per modality: G, alpha"))
    w_main, w_aux = weights["path_weight_main"], weights["path_weight_aux"]
    fig.add_trace(go.Bar(
        y=["main (w)", "aux (1-w)"], x=[w_main, w_aux], orientation="h", marker_color=[MAIN, AUX], showlegend=False,
        text=[f"w={w_main:.2f}, y_main={payload['main_path_score']:.1f}",
              f"1-w={w_aux:.2f}, y_aux={payload['aux_path_score']:.1f}"],
        textposition="auto", insidetextanchor="start", cliponaxis=False,
        hovertemplate="%{y}: %{x:.3f}<extra></extra>",
    ), row=1, col=1)
    # short tick labels (the token's number, the axis says what it is): never rotated, never overlapping
    fig.add_trace(go.Bar(x=[str(k + 1) for k in range(len(roles))], y=roles, marker_color=ROLE,
                         showlegend=False, hovertemplate="token %{x}: %{y:.3f}<extra></extra>"), row=2, col=1)
    labels = [name if name in used else f"{name} (absent)" for name in names]
    fig.add_trace(go.Bar(y=labels, x=[weights["modality_gate"][n] for n in names], name="G", orientation="h",
                         marker_color=GATE, hovertemplate="G(%{y}) = %{x:.3f}<extra></extra>"), row=3, col=1)
    fig.add_trace(go.Bar(y=labels, x=[weights["confidence"][n] for n in names], name="alpha",
                         orientation="h", marker_color=CONF, hovertemplate="alpha(%{y}) = %{x:.3f}<extra></extra>"),
                  row=3, col=1)
    fig.update_xaxes(range=[0, 1], row=1, col=1)
    fig.update_yaxes(autorange="reversed", automargin=True, row=1, col=1)
    fig.update_xaxes(title=dict(text="fusion token", standoff=2), type="category", row=2, col=1)
    fig.update_yaxes(rangemode="tozero", nticks=4, row=2, col=1)
    fig.update_xaxes(range=[0, 1.05], row=3, col=1)
    fig.update_yaxes(autorange="reversed", automargin=True, row=3, col=1)
    fig.update_layout(barmode="group", height=640, margin=dict(l=10, r=16, t=64, b=30),
                      legend=dict(orientation="h", yanchor="top", y=-0.04, x=0),
                      title=dict(text=f"{payload['score_name']} {payload['score']:.1f}: how the model weighed "
                                      "its evidence", x=0.01, font=dict(size=14)))
    return fig


def robustness_figure(payload: dict) -> go.Figure:
    """The score under every non-empty subset of the present modalities, sorted, full set highlighted."""
    rows = sorted(payload["robustness"], key=lambda r: r["score"])
    lo, hi = payload["score_range"]
    full = max((len(r["modalities"]) for r in rows), default=0)
    labels = [" + ".join(r["modalities"]) for r in rows]
    colours = [MAIN if len(r["modalities"]) == full else "#94a3b8" for r in rows]
    fig = go.Figure(go.Bar(
        x=[r["score"] for r in rows], y=labels, orientation="h", marker_color=colours,
        text=[f"{r['score']:.1f}" for r in rows], textposition="outside",
        hovertemplate="%{y}: %{x:.2f}<extra></extra>",
    ))
    fig.add_vline(x=payload["score"], line_dash="dot", line_color=AUX,
                  annotation_text=f"current score {payload['score']:.1f}", annotation_position="top")
    fig.update_layout(
        title=dict(text=f"robustness: {payload['score_name']} under every subset of the present modalities",
                   x=0.01, font=dict(size=14)),
        xaxis=dict(title=f"{payload['score_name']} ({lo:g}-{hi:g})", range=[lo, hi]),
        height=max(260, 30 * len(rows) + 110), margin=dict(l=10, r=20, t=60, b=40),
    )
    return fig


def moment_centre(point: dict, in_seconds: bool) -> float:
    if in_seconds:
        return (point["start_s"] + point["end_s"]) / 2
    return (point["start_segment"] + point["end_segment"]) / 2


def timeline_figure(payload: dict, cues: list[tuple[float, str]] | None = None) -> go.Figure:
    """Where the score came from: per moment, the score minus the score with that moment occluded (positive: the
    moment raised it), for all present timeline modalities together (thick) and each alone; timed commentary
    sentences (`cues`: start second, text) sit on the zero line where they were said. Each point's customdata is
    the moment's start (seconds, or segment), so a click can seek the video there."""
    timeline = payload["timeline"]
    points = timeline["points"]
    in_seconds = timeline["segment_seconds"] is not None
    x = [moment_centre(p, in_seconds) for p in points]
    starts = [p["start_s"] if in_seconds else p["start_segment"] for p in points]
    spans = [f"{p['start_s']:.1f}-{p['end_s']:.1f} s" if in_seconds else
             f"segments {p['start_segment']}-{p['end_segment']}" for p in points]
    unit = payload["score_name"]
    fig = go.Figure()
    fig.add_hline(y=0, line_color="#94a3b8", line_width=1)
    keys = ["all"] + list(timeline["modalities"])
    for i, key in enumerate(keys):
        label = "all present modalities" if key == "all" else f"{key} only"
        fig.add_trace(go.Scatter(
            x=x, y=[round(p["effect"][key], 3) for p in points], mode="lines+markers", name=label, customdata=starts,
            line=dict(width=3 if key == "all" else 1.5, color=MAIN if key == "all" else
                      LINE_COLOURS[(i - 1) % len(LINE_COLOURS)], dash="solid" if key == "all" else "dot"),
            marker=dict(size=6 if key == "all" else 4), text=spans,
            hovertemplate=f"%{{text}}, {label}: {unit} change %{{y:+.2f}} (+ raised, - lowered)<extra></extra>",
        ))
    for sign, chosen, colour in ((1, timeline["raised"], GATE), (-1, timeline["lowered"], AUX)):
        for rank, p in enumerate(chosen, 1):
            fig.add_annotation(x=moment_centre(p, in_seconds), y=p["effect"]["all"], text=f"{'+' if sign > 0 else '-'}"
                               f"{rank}", showarrow=True, arrowhead=0, ay=-22 * sign, font=dict(color=colour))
    if cues:
        fig.add_trace(go.Scatter(
            x=[start for start, _ in cues], y=[0.0] * len(cues), mode="markers", name="commentary",
            marker=dict(symbol="triangle-up", size=10, color=ROLE), customdata=[start for start, _ in cues],
            text=[text[:140] for _, text in cues], hovertemplate="%{x:.1f} s: %{text}<extra></extra>",
        ))
    fig.update_layout(
        title=dict(text=f"timeline: how much each moment raised (+) or lowered (-) {unit}", x=0.01,
                   font=dict(size=14)),
        xaxis=dict(title="seconds into the routine" if in_seconds else f"segment of {timeline['reference']}"),
        yaxis=dict(title=f"{unit} change", zeroline=False), height=360, margin=dict(l=50, r=20, t=60, b=90),
        legend=dict(orientation="h", yanchor="top", y=-0.22, x=0), hovermode="closest",
    )
    return fig
