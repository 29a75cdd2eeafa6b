"""Per-benchmark training presets (`train --preset NAME`), from the paper (arXiv 2605.00434, App. B).

T (segments per block) per dataset: FS1000 95, Fis-V 124, Rhythmic Gymnastics 68. Epochs per score type: FS1000
TES 160, PCS 100, SS 130, TR 90, PE 130, CO 200, IN 290; Fis-V TES 270, PCS 140; RG Ball 80, Clubs 100, Hoop 100,
Ribbon 270. Dropout per dataset: FS1000 0.15, Fis-V 0.15, RG 0.35. Explicit command-line flags override a preset.
"""

from __future__ import annotations

from limssr_core.errors import LimssrError

_FAMILIES = {
    "fs1000": dict(length=95, dropout=0.15,
                   epochs=dict(tes=160, pcs=100, ss=130, tr=90, pe=130, co=200, **{"in": 290})),
    "fisv": dict(length=124, dropout=0.15, epochs=dict(tes=270, pcs=140)),
    "rg": dict(length=68, dropout=0.35, epochs=dict(ball=80, clubs=100, hoop=100, ribbon=270)),
}

PRESETS = {
    f"{family}-{score}": {"length": values["length"], "dropout": values["dropout"], "epochs": epochs}
    for family, values in _FAMILIES.items()
    for score, epochs in values["epochs"].items()
}


def get_preset(name: str) -> dict:
    if name not in PRESETS:
        raise LimssrError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}")
    return dict(PRESETS[name])
