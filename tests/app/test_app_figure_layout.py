"""The MDA weights figure reads cleanly in a real browser: for 1 to 6 modalities, with some absent, at the widths it
gets in the app (the result column of a 1000-1400 px page) and in the report (the page's full width), no two
rendered SVG text boxes overlap, none sticks out of the figure, and every modality's tick label is its full name."""

from __future__ import annotations

import json

import plotly.io as pio
from plotly.offline import get_plotlyjs

from limssr_core.reports.figures import WEIGHTS_EXPLAINED, weights_figure

NAMES = ["video", "flow", "audio", "commentary", "skeleton", "heart_rate"]
# the weights plot's container: ~366 px in the result column of a 1000 px page, ~700 px at 1400 px (measured by
# browser_check.cjs in the app), the report's full width up to 1400 px
WIDTHS = [360, 520, 640, 800, 1000, 1400]


def payload(names: list[str], used: list[str], tokens: int = 8) -> dict:
    """A Prediction JSON's fields the figure reads, with uneven (realistic) weights."""
    gate = {n: (i + 1) / sum(range(1, len(names) + 1)) for i, n in enumerate(names)}
    return {"score_name": "TES", "score": 64.3, "main_path_score": 66.1, "aux_path_score": 60.2,
            "used_modalities": used,
            "weights": {"path_weight_main": 0.62, "path_weight_aux": 0.38, "modality_gate": gate,
                        "confidence": {n: 1.0 if n in used else 0.41 for n in names},
                        "fusion_role_weights": [1 / tokens + 0.01 * ((-1) ** k) for k in range(tokens)]}}


CASES = [(NAMES[:m], NAMES[:1]) for m in range(1, 7)] + [(NAMES[:m], NAMES[:m]) for m in (3, 4, 6)] \
    + [(NAMES[:4], ["flow", "commentary"])]


def test_weights_figure_text_never_overlaps_or_is_cut(browser, tmp_path):
    figures = [json.loads(pio.to_json(weights_figure(payload(names, used)))) for names, used in CASES]
    page = tmp_path / "figures.html"
    page.write_text("<html><head><meta charset='utf-8'><script>" + get_plotlyjs() + "</script></head><body>"
                    "<div id='figure'></div><script>window.FIGURES = " + json.dumps(figures) + ";</script>"
                    "</body></html>", encoding="utf-8")
    seen = browser.run("figure_check.cjs", page, json.dumps(WIDTHS), browser.chromium, timeout=300)
    assert seen["errors"] == []
    assert len(seen["cases"]) == len(CASES) * len(WIDTHS)
    problems = []
    for case in seen["cases"]:
        names, used = CASES[case["index"]]
        where = f"{len(names)} modalities, {len(used)} present, {case['width']} px"
        labels = [n if n in used else f"{n} (absent)" for n in names]
        missing = [label for label in labels if label not in case["texts"]]
        for what, found in (("overlapping texts", case["overlaps"]), ("texts outside the figure", case["outside"]),
                            ("tick labels not shown in full", missing)):
            if found:
                problems.append(f"{where}: {what} {found}")
    assert problems == [], "\n".join(problems)


def test_weights_figure_explains_its_symbols_beside_the_figure():
    for symbol in ("**w**:", "**G**:", "**alpha**:"):
        assert symbol in WEIGHTS_EXPLAINED
    figure = weights_figure(payload(NAMES[:6], NAMES[:1]))
    assert "G" in [t.name for t in figure.data] and "alpha" in [t.name for t in figure.data]  # the legend's names
