"""Per-benchmark training presets (`train --preset NAME`).

T (segments per block) is the paper's per dataset: FS1000 95, Fis-V 124, Rhythmic Gymnastics 68. The paper does not
state epochs and dropout per benchmark; the values here are ours, chosen for dataset size (smaller data: more
epochs, more dropout). Explicit command-line flags override a preset.
"""

from __future__ import annotations

from limssr_core.errors import LimssrError

_FAMILIES = {
    "fs1000": dict(length=95, epochs=50, dropout=0.1, scores=("tes", "pcs", "ss", "tr", "pe", "co", "in")),
    "fisv": dict(length=124, epochs=100, dropout=0.3, scores=("tes", "pcs")),
    "rg": dict(length=68, epochs=150, dropout=0.3, scores=("ball", "clubs", "hoop", "ribbon")),
}

PRESETS = {
    f"{family}-{score}": {k: v for k, v in values.items() if k != "scores"}
    for family, values in _FAMILIES.items()
    for score in values["scores"]
}


def get_preset(name: str) -> dict:
    if name not in PRESETS:
        raise LimssrError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}")
    return dict(PRESETS[name])
