"""Feature extractors: media -> per-segment feature sequences for each modality, with present/missing reasons.

Heavy libraries (torch, decord, librosa, sentence-transformers) are imported lazily, inside the functions that need
them; models are loaded once per process and cached (thread-safe).
"""

from limssr_core.features.dataset_builder import extract_dataset
from limssr_core.features.extract import extract_sample, preload_models
from limssr_core.features.media import MediaError
from limssr_core.features.plan import ExtractionPlan, plan_extraction
from limssr_core.features.registry import (
    DEFAULT_MODALITIES,
    EXTRACTORS,
    KNOWN_MODALITIES,
    ExtractionConfig,
    ModalityStatus,
    SampleFeatures,
    check_extractor_ids,
    default_modalities,
)

__all__ = [
    "DEFAULT_MODALITIES", "EXTRACTORS", "KNOWN_MODALITIES", "ExtractionConfig", "ExtractionPlan", "MediaError",
    "ModalityStatus", "SampleFeatures", "check_extractor_ids", "default_modalities", "extract_dataset",
    "extract_sample", "plan_extraction", "preload_models",
]
