"""Feature extractors: media -> per-segment feature sequences for each modality, with present/missing reasons.

Heavy libraries (torch, decord, librosa, sentence-transformers) are imported lazily, inside the functions that need
them; models are loaded once per process and cached (thread-safe).
"""

from limssr_core.features.dataset_builder import add_extract_arguments, extract_dataset, run_extract
from limssr_core.features.extract import extract_sample
from limssr_core.features.media import MediaError
from limssr_core.features.registry import (
    DEFAULT_MODALITIES,
    EXTRACTORS,
    ExtractionConfig,
    ModalityStatus,
    SampleFeatures,
    check_extractor_ids,
    default_modalities,
    preload_models,
)

__all__ = [
    "DEFAULT_MODALITIES", "EXTRACTORS", "ExtractionConfig", "MediaError", "ModalityStatus", "SampleFeatures",
    "add_extract_arguments", "check_extractor_ids", "default_modalities", "extract_dataset", "extract_sample",
    "preload_models", "run_extract",
]
