"""The HTML report, the timeline figure and the words of a result: pure functions of the Prediction JSON."""

import re

import plotly.graph_objects as go

from limssr_core.reports.figures import timeline_figure
from limssr_core.reports.html import render_report
from limssr_core.reports.text import clock, moment_lines, moment_span


def point(a, b, effect, seconds=1.28):
    return {"start_segment": a, "end_segment": b, "start_s": a * seconds, "end_s": b * seconds,
            "effect": {"all": effect, "video": effect / 2, "audio": -effect / 4}}


def payload(**extra) -> dict:
    points = [point(0, 4, 0.5), point(2, 6, -2.0), point(4, 8, 1.5)]
    base = {
        "score": 64.3, "score_name": "TES", "score_range": [0.0, 130.0], "main_path_score": 65.0,
        "aux_path_score": 62.0, "used_modalities": ["video", "flow"], "withheld_modalities": [],
        "missing_modalities": ["audio"],
        "weights": {"path_weight_main": 0.7, "path_weight_aux": 0.3, "modality_gate": {"video": 0.6, "flow": 0.3,
                    "audio": 0.1}, "confidence": {"video": 1.0, "flow": 1.0, "audio": 0.62},
                    "fusion_role_weights": [0.25, 0.25, 0.25, 0.25]},
        "modality_status": {"video": {"present": True, "kind": "ok", "reason": "", "withheld": False},
                            "flow": {"present": True, "kind": "ok", "reason": "", "withheld": False},
                            "audio": {"present": False, "kind": "failed", "reason": "no audio stream <in file>",
                                      "withheld": False}},
        "robustness": [{"modalities": ["video"], "score": 60.0}, {"modalities": ["flow"], "score": 50.0},
                       {"modalities": ["video", "flow"], "score": 64.3}],
        "interval": {"level": 0.9, "low": 58.1, "high": 70.6, "reason": ""}, "percentile": 62.0,
        "windows": [], "window_rule": "",
        "timeline": {"reference": "video", "width": 4, "stride": 2, "segment_seconds": 1.28,
                     "modalities": ["video", "audio"], "points": points, "raised": [points[2], points[0]],
                     "lowered": [points[1]]},
    }
    return base | extra


CHECKPOINT = {"ref": "assets/demo_checkpoint", "backbone": "smollm2-135m", "format_version": 3}


def test_the_report_is_one_self_contained_page_with_every_part():
    page = render_report(payload(), CHECKPOINT, "**What this score means.** Demo only.", title="<routine>.mp4",
                         cues=[(3.0, "A clean triple jump.")])
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "TES 64.3 on a 0-130 scale" in page
    assert "90% interval 58.1-70.6 (audio missing); 62nd percentile of the training scores" in page
    assert "no audio stream &lt;in file&gt;" in page and "&lt;routine&gt;.mp4" in page  # escaped, never raw
    assert "0:05-0:10 raised TES by 1.50" in page and "0:03-0:08 lowered TES by 2.00" in page
    assert "video + flow" in page and "64.30" in page  # robustness table
    assert "What this score means. Demo only." in page and "smollm2-135m" in page
    assert "alpha: how far the model trusts a modality" in page  # what w, G and alpha mean, beside the figure
    assert len(re.findall(r"Plotly\.newPlot", page)) == 3  # timeline, weights, robustness
    assert page.count("plotly.js v") == 1  # plotly.js embedded once
    assert not re.search(r"<script[^>]+src=[\"']https?:", page)  # nothing fetched from a network


def test_a_report_without_timeline_or_robustness_leaves_those_parts_out():
    page = render_report(payload(timeline=None, robustness=None, interval=None, percentile=None), CHECKPOINT)
    assert "Timeline" not in page and "Robustness" not in page
    assert "not calibrated" in page
    assert len(re.findall(r"Plotly\.newPlot", page)) == 1


def test_the_timeline_figure_has_one_line_per_modality_and_seeks_by_seconds():
    fig = timeline_figure(payload(), cues=[(3.0, "A clean triple jump."), (9.5, "A fall.")])
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names == ["all present modalities", "video only", "audio only", "commentary"]
    combined = fig.data[0]
    assert list(combined.x) == [2.56, 5.12, 7.68] and list(combined.y) == [0.5, -2.0, 1.5]
    assert list(combined.customdata) == [0.0, 2.56, 5.12]  # a click seeks the video to the moment's start
    assert list(fig.data[3].x) == [3.0, 9.5] and list(fig.data[3].y) == [0.0, 0.0]
    assert fig.layout.xaxis.title.text == "seconds into the routine"
    assert {a.text for a in fig.layout.annotations} >= {"+1", "+2", "-1"}


def test_a_timeline_without_timing_counts_segments():
    data = payload()
    data["timeline"] = dict(data["timeline"], segment_seconds=None,
                            points=[dict(p, start_s=None, end_s=None) for p in data["timeline"]["points"]])
    data["timeline"]["raised"] = [data["timeline"]["points"][2]]
    data["timeline"]["lowered"] = []
    fig = timeline_figure(data)
    assert list(fig.data[0].x) == [2.0, 4.0, 6.0] and fig.layout.xaxis.title.text == "segment of video"
    assert moment_lines(data) == ["segments 4-8 raised TES by 1.50"]


def test_moments_in_words():
    assert clock(72.4) == "1:12" and clock(5) == "0:05"
    assert moment_span(point(2, 6, 1.0)) == "0:03-0:08"
    assert moment_lines(payload(timeline=None)) == []
    flat = payload()
    flat["timeline"] = dict(flat["timeline"], raised=[], lowered=[])
    assert moment_lines(flat) == ["no moment changed the score: occluding any one of them leaves it as it is"]
