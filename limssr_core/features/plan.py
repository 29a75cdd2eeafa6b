"""Which of a checkpoint's modalities can be extracted from media here, with the checkpoint's own extractors.

A checkpoint records, per modality, the versioned id of the extractor its features came from. Scoring new media must
use the same extractors (same ids, same dims); a modality with no extractor here, or one trained on another
extractor's features, is `unsupported` and simply missing for the model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from limssr_core.config import LimssrConfig
from limssr_core.features.registry import (
    EXTRACTORS,
    KNOWN_MODALITIES,
    ExtractionConfig,
    ModalityStatus,
    flow_method_of,
)


@dataclass
class ExtractionPlan:
    config: ExtractionConfig  # settings that reproduce the checkpoint's extractors
    modalities: tuple[str, ...]  # what to ask extract_sample for, in the checkpoint's order
    unsupported: dict[str, ModalityStatus]  # checkpoint modality -> why it cannot be produced here


def plan_extraction(model: LimssrConfig, settings: ExtractionConfig | None = None) -> ExtractionPlan:
    """The extraction that feeds `model`: `settings` (device, threads, limits) with the model's extractor choices."""
    settings = settings or ExtractionConfig()
    recorded = {m.name: m.extractor for m in model.modalities}
    method = flow_method_of(recorded.get("flow", "")) or settings.flow_method
    config = replace(settings, flow_method=method)
    wanted, unsupported = [], {}
    for m in model.modalities:
        if m.name not in KNOWN_MODALITIES:
            unsupported[m.name] = ModalityStatus.unsupported(f"no extractor for modality '{m.name}'")
            continue
        ours = config.extractor_ids((m.name,))[m.name]
        if m.extractor not in ("unknown", ours):
            unsupported[m.name] = ModalityStatus.unsupported(
                f"the checkpoint expects features from '{m.extractor}', this tool extracts '{ours}'")
        elif EXTRACTORS[ours].dim != m.dim:
            unsupported[m.name] = ModalityStatus.unsupported(
                f"the checkpoint expects {m.dim}-d features, '{ours}' gives {EXTRACTORS[ours].dim}-d")
        else:
            wanted.append(m.name)
    return ExtractionPlan(config, tuple(wanted), unsupported)
