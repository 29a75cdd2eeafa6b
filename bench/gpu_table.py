"""The figures of bench/gpu_device.sh's variants side by side (from the `JSON ...` lines of its log), with each
variant's ratio to the first one. Usage: python bench/gpu_table.py gpu_runs.log > table.md"""

from __future__ import annotations

import json
import sys

COLUMNS = [("train_step_ms", "train step ms"), ("train_peak_gpu_gib", "train peak GiB"),
           ("infer_batch1_ms", "batch-1 ms"), ("infer_batch8_ms", "batch-8 ms"), ("first_calls_s", "first calls s"),
           ("compiled_vs_eager_max_abs", "max abs diff vs eager"), ("host_syncs", "host syncs")]
RATIOS = ("train_step_ms", "infer_batch1_ms", "infer_batch8_ms")


def table(lines: list[str]) -> str:
    runs = [json.loads(line[5:]) for line in lines if line.startswith("JSON ")]
    if not runs:
        return "no variant finished\n"
    base = runs[0]
    header = ["variant"] + [title for _, title in COLUMNS]
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for run in runs:
        cells = [run.get("label") or run.get("compile") or "eager"]
        for key, _ in COLUMNS:
            value = run.get(key)
            if isinstance(value, dict):
                value = " / ".join(f"{v:g}" for v in value.values()) + f" (sum {sum(value.values()):.0f})"
            elif key in RATIOS and value is not None and run is not base and base.get(key):
                value = f"{value:g} ({value / base[key]:.2f}x)"
            elif isinstance(value, float) and key == "compiled_vs_eager_max_abs":
                value = f"{value:.2e}"
            cells.append("" if value is None else str(value).replace("|", "/"))  # a cell holds no column bar
        rows.append("| " + " | ".join(cells) + " |")
    facts = f"{base.get('device')}; {base.get('backbone')}, T={base.get('T')}, dims {base.get('dims')}, " \
            f"batch {base.get('batch')}, sequence length {base.get('sequence_length')}, {base.get('precision')}"
    return facts + "\n\n" + "\n".join(rows) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        print(table(handle.read().splitlines()), end="")
