"""How a benchmark script reports: its figures as aligned lines, one `JSON ...` line, and optionally a JSON file
(bench/results/)."""

from __future__ import annotations

import json
from pathlib import Path


def report_figures(figures: dict, out: str | None = None) -> None:
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    print("JSON " + json.dumps(figures))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(figures, indent=1) + "\n")
