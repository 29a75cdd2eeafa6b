"""Scoring single samples with a checkpoint: the engine behind `predict`, the app and (soon) `score`.

`Scorer` loads a checkpoint once and is safe to share between threads (one forward at a time). Every result is a
`Prediction`: the one JSON shape for `predict`, the app's `/score` and robustness results. Callers that know more
(the app knows why a modality is missing) fill in `modality_status` and may add fields around it, never rename them.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from limssr_core.data.collate import Sample
from limssr_core.data.generic import validate_features
from limssr_core.errors import LimssrError
from limssr_core.model.checkpoint import load_checkpoint, read_config
from limssr_core.model.hub import resolve_checkpoint_folder
from limssr_core.model.runner import output_weights, run_batches
from limssr_core.runtime import apply_cpu_threads


@dataclass
class SubsetScore:
    modalities: list[str]  # the present modalities scored together
    score: float  # in the checkpoint's score units


@dataclass
class Prediction:
    score: float  # in the checkpoint's score units
    score_name: str
    score_range: tuple[float, float]
    main_path_score: float  # y_main in score units
    aux_path_score: float  # y_aux in score units
    used_modalities: list[str]  # what the score was computed from
    withheld_modalities: list[str]  # present but left out on request ("what if")
    missing_modalities: list[str]  # modalities of the checkpoint the sample does not have
    weights: dict = field(default_factory=dict)  # every MDA weight (runner.output_weights)
    modality_status: dict = field(default_factory=dict)  # name -> {present, kind, reason, withheld}, every modality
    robustness: list[SubsetScore] | None = None  # the score under every non-empty subset of the present modalities

    def to_json(self) -> dict:
        out = asdict(self)
        out["score_range"] = list(self.score_range)
        return out


class Scorer:
    def __init__(self, checkpoint: str | Path, device: str = "cpu", backbone=None, threads: int | None = None):
        if device == "cpu":
            apply_cpu_threads(threads)
        self.checkpoint = resolve_checkpoint_folder(checkpoint)  # a folder, or a Hub id's checkpoint files
        self.config = read_config(self.checkpoint)
        self.model = load_checkpoint(self.checkpoint, backbone=backbone, device=device)
        self._lock = threading.Lock()

    @property
    def modality_names(self) -> list[str]:
        return self.config.modality_names

    def _check(self, features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        checked = {}
        for name, array in features.items():
            if name not in self.modality_names:
                raise LimssrError(f"modality {name!r} is not one this checkpoint knows ({self.modality_names})")
            checked[name] = validate_features(array, self.config.modality(name).dim, f"{name} features")
        return checked

    def score(self, features: dict[str, np.ndarray], withhold: tuple[str, ...] | list[str] = (),
              robustness: bool = False) -> Prediction:
        """Score one sample from whatever modalities it has; `withhold` drops present ones ("what if");
        `robustness` adds the score under every subset of the present modalities (one more batched pass)."""
        features = self._check(features)
        used = [name for name in self.modality_names if name in features and name not in withhold]
        if not used:
            raise LimssrError("no usable modality: at least one of "
                              f"{self.modality_names} must be present and not withheld")
        mask = tuple(name in used for name in self.modality_names)
        with self._lock:
            (_, out), = list(run_batches(self.model, [Sample("sample", features)], [mask], batch_size=1))
        denorm = self.config.denormalise
        status = {}
        for name in self.modality_names:
            if name in features:
                status[name] = {"present": True, "kind": "ok", "reason": "", "withheld": name in withhold}
            else:
                status[name] = {"present": False, "kind": "not_given", "reason": "no features given",
                                "withheld": False}
        return Prediction(
            score=denorm(float(out.y[0])),
            score_name=self.config.score_name,
            score_range=self.config.score_range,
            main_path_score=denorm(float(out.y_main[0])),
            aux_path_score=denorm(float(out.y_aux[0])),
            used_modalities=used,
            withheld_modalities=[n for n in self.modality_names if n in features and n in withhold],
            missing_modalities=[n for n in self.modality_names if n not in features],
            weights=output_weights(out, 0, self.modality_names),
            modality_status=status,
            robustness=self.robustness(features) if robustness else None,
        )

    def robustness(self, features: dict[str, np.ndarray]) -> list[SubsetScore]:
        """The score under every non-empty subset of the present modalities, in one batched pass."""
        features = self._check(features)
        present = [name for name in self.modality_names if name in features]
        subsets = [c for size in range(1, len(present) + 1) for c in combinations(present, size)]
        masks = [tuple(name in subset for name in self.modality_names) for subset in subsets]
        samples = [Sample("sample", features) for _ in subsets]
        with self._lock:
            scores = [float(v) for _, out in run_batches(self.model, samples, masks, batch_size=8) for v in out.y]
        return [SubsetScore(list(subset), self.config.denormalise(s)) for subset, s in zip(subsets, scores)]
