"""Pure plotly figure builders: the JSON payload of a score in, a `go.Figure` out (no Gradio, no model)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAIN, AUX, GATE, CONF, ROLE = "#2563eb", "#f59e0b", "#059669", "#7c3aed", "#64748b"
JUDGE_NOTE = ("w: how much the reasoning path counts against the cross-modal one.<br>"
              "G: how much each modality drives the cross-modal path.<br>"
              "alpha: how far the model trusts a modality (1 when present; lower for a missing one it stands in for).")


def weights_figure(payload: dict) -> go.Figure:
    """The MDA weights: path weight w vs 1-w (with y_main / y_aux), per-modality gate G and confidence alpha,
    and the fusion tokens' role weights."""
    weights = payload["weights"]
    names = list(weights["modality_gate"])
    roles = weights["fusion_role_weights"]
    used = set(payload.get("used_modalities", names))
    # the per-modality panel gets its own full-width row: its names sit in the figure's left margin, which plotly
    # widens to fit them (automargin), so no name is cut and no title or label overlaps another panel
    fig = make_subplots(
        rows=2, cols=2, specs=[[{}, {}], [{"colspan": 2}, None]], row_heights=[0.5, 0.5], vertical_spacing=0.22,
        horizontal_spacing=0.12,
        subplot_titles=("path weights: w vs 1-w", "fusion-token role weights",
                        "per modality: gate G, confidence alpha"),
    )
    w_main, w_aux = weights["path_weight_main"], weights["path_weight_aux"]
    fig.add_trace(go.Bar(
        x=["main (w)", "aux (1-w)"], y=[w_main, w_aux], marker_color=[MAIN, AUX], showlegend=False,
        text=[f"w={w_main:.2f}<br>y_main={payload['main_path_score']:.1f}",
              f"1-w={w_aux:.2f}<br>y_aux={payload['aux_path_score']:.1f}"],
        textposition="outside", textangle=0, cliponaxis=False, hovertemplate="%{x}: %{y:.3f}<extra></extra>",
    ), row=1, col=1)
    # horizontal bars: full modality names on the axis at any width, never rotated or cut ("video (absent)")
    labels = [name if name in used else f"{name} (absent)" for name in names]
    fig.add_trace(go.Bar(y=labels, x=[weights["modality_gate"][n] for n in names], name="gate G", orientation="h",
                         marker_color=GATE, hovertemplate="G(%{y}) = %{x:.3f}<extra></extra>"), row=2, col=1)
    fig.add_trace(go.Bar(y=labels, x=[weights["confidence"][n] for n in names], name="confidence alpha",
                         orientation="h", marker_color=CONF, hovertemplate="alpha(%{y}) = %{x:.3f}<extra></extra>"),
                  row=2, col=1)
    fig.add_trace(go.Bar(x=[f"token {k + 1}" for k in range(len(roles))], y=roles, marker_color=ROLE,
                         showlegend=False, hovertemplate="%{x}: %{y:.3f}<extra></extra>"), row=1, col=2)
    fig.update_yaxes(range=[0, 1.3], row=1, col=1)
    fig.update_xaxes(range=[0, 1.05], row=2, col=1)
    fig.update_yaxes(autorange="reversed", automargin=True, row=2, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.add_annotation(text=JUDGE_NOTE, xref="paper", yref="paper", x=0, y=-0.2, showarrow=False, xanchor="left",
                       yanchor="top", align="left", font=dict(size=11))
    fig.update_layout(barmode="group", height=580, margin=dict(l=40, r=20, t=60, b=125),
                      legend=dict(orientation="h", yanchor="bottom", y=-0.13, x=0.3),
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
