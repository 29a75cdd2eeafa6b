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

from limssr_core.data.collate import Sample, covering_windows
from limssr_core.data.generic import validate_features
from limssr_core.errors import LimssrError
from limssr_core.inference.calibration import DEFAULT_LEVEL, Calibration, ScoreInterval
from limssr_core.inference.timeline import (
    PER_MODALITY,
    TIMELINE_STRIDE,
    TIMELINE_WIDTH,
    Timeline,
    TimelinePoint,
    moment_windows,
    occlusion_masks,
    top_moments,
)
from limssr_core.model.checkpoint import load_checkpoint, read_config
from limssr_core.model.hub import resolve_checkpoint_folder
from limssr_core.model.runner import mean_weights, occluded_predictions, output_weights, run_batches
from limssr_core.runtime import apply_cpu_threads


@dataclass
class SubsetScore:
    modalities: list[str]  # the present modalities scored together
    score: float  # in the checkpoint's score units


@dataclass
class WindowScore:
    start_segment: int  # of the window's reference modality (the first present one on the video's timeline)
    end_segment: int
    score: float  # in score units


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
    interval: ScoreInterval | None = None  # conformal interval for the used modalities (None: checkpoint uncalibrated)
    percentile: float | None = None  # share of training labels at or below the score, in percent
    windows: list[WindowScore] = field(default_factory=list)  # the consecutive windows the score averages
    window_rule: str = ""  # how the windows were combined, in words
    timeline: Timeline | None = None  # per moment: how much it raised or lowered the score (inference/timeline.py)
    member_scores: list[float] = field(default_factory=list)  # an ensemble's members' scores ([] for one model): their spread is how much they disagree

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
        self.calibration = Calibration.from_json(self.config.calibration)
        self._lock = threading.Lock()
        # timeline occlusions run only from their first occluded position, on the unoccluded pass's key/value cache;
        # False runs every occluded sequence whole (the side-by-side baseline of bench/app_bench.py)
        self.reuse_cache = True
        self.timeline_width, self.timeline_stride = TIMELINE_WIDTH, TIMELINE_STRIDE  # segments per moment, between

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
              robustness: bool = False, level: float = DEFAULT_LEVEL, timeline: bool = False,
              segment_seconds: float | None = None, untimed: tuple[str, ...] | list[str] = (),
              timeline_per_modality: bool = PER_MODALITY) -> Prediction:
        """Score one sample from whatever modalities it has; `withhold` drops present ones ("what if");
        `robustness` adds the score under every subset of the present modalities (one more batched pass);
        `timeline` adds the occlusion timeline (`timeline_per_modality`: each modality alone too); `untimed` names
        modalities that are not on the video's timeline in this sample although the checkpoint's are (plain-text
        commentary where the checkpoint had timed)."""
        features = self._check(features)
        used = [name for name in self.modality_names if name in features and name not in withhold]
        if not used:
            raise LimssrError("no usable modality: at least one of "
                              f"{self.modality_names} must be present and not withheld")
        mask = tuple(name in used for name in self.modality_names)
        (y, y_main, y_aux, weights, window_ys, member_ys), = self._windowed(features, [mask])
        windows = covering_windows({n: features[n].shape[0] for n in used}, self.config.modalities)
        reference = next((m for m in self.config.modalities if m.name in used and m.timeline), None)
        denorm = self.config.denormalise
        score = denorm(y)
        status = {}
        for name in self.modality_names:
            if name in features:
                status[name] = {"present": True, "kind": "ok", "reason": "", "withheld": name in withhold}
            else:
                status[name] = {"present": False, "kind": "not_given", "reason": "no features given",
                                "withheld": False}
        calibration = self.calibration
        return Prediction(
            score=score,
            score_name=self.config.score_name,
            score_range=self.config.score_range,
            main_path_score=denorm(y_main),
            aux_path_score=denorm(y_aux),
            used_modalities=used,
            withheld_modalities=[n for n in self.modality_names if n in features and n in withhold],
            missing_modalities=[n for n in self.modality_names if n not in features],
            weights=weights,
            modality_status=status,
            robustness=self.robustness(features) if robustness else None,
            interval=calibration.interval(score, used, self.config.score_range, level) if calibration else None,
            percentile=calibration.percentile(score) if calibration else None,
            windows=[WindowScore(w[reference.name].start if reference else 0, w[reference.name].stop if reference
                                 else 0, denorm(v)) for w, v in zip(windows, window_ys)],
            window_rule=window_rule(len(windows), reference, features),
            timeline=self.timeline(features, [n for n in used if n not in untimed], y, window_ys, segment_seconds,
                                   scored=used, per_modality=timeline_per_modality) if timeline else None,
            member_scores=[denorm(v) for v in member_ys],
        )

    def timeline(self, features: dict[str, np.ndarray], used: list[str], base: float, base_windows: list[float],
                 segment_seconds: float | None = None, scored: list[str] | None = None,
                 per_modality: bool = PER_MODALITY) -> Timeline:
        """Occlusion timeline of one routine scored from `scored` (default `used`), occluding the modalities of
        `used` that are on the video's timeline together and, with `per_modality`, each alone (base: its normalised
        score and window scores)."""
        scored = list(used) if scored is None else scored
        on_timeline = [m for m in self.config.modalities if m.name in used and m.timeline]
        if not on_timeline:
            raise LimssrError("a timeline needs a modality on the video's timeline; plain-text commentary has none")
        reference = on_timeline[0].name
        lengths = {n: features[n].shape[0] for n in scored}
        windows = covering_windows(lengths, self.config.modalities)
        mask = tuple(n in scored for n in self.modality_names)
        targets = {"all": [m.name for m in on_timeline]}
        if per_modality:
            targets |= {m.name: [m.name] for m in on_timeline}
        moments = moment_windows(lengths[reference], self.timeline_width, self.timeline_stride)
        per_window_jobs: dict[int, list[tuple[int, str, Sample]]] = {k: [] for k in range(len(windows))}
        for i, moment in enumerate(moments):
            for key, names in targets.items():
                hidden = occlusion_masks(moment, names, lengths, reference)
                for k, window in enumerate(windows):
                    if not any(hidden[n][window[n]].any() for n in names):
                        continue  # this scoring window does not see the moment: its score is the base one
                    per_window_jobs[k].append((i, key, Sample("moment", {n: features[n][s] for n, s in window.items()},
                                                              occluded={n: hidden[n][window[n]] for n in names})))
        results: list[tuple[int, str, int, float]] = []
        with self._lock:
            for k, jobs in per_window_jobs.items():
                if not jobs:
                    continue
                base_sample = Sample("window", {n: features[n][s] for n, s in windows[k].items()})
                ys = occluded_predictions(self.model, base_sample, [job[2] for job in jobs], mask,
                                          reuse_cache=self.reuse_cache)
                results.extend((i, key, k, float(y)) for (i, key, _), y in zip(jobs, ys))
        per_window = {(i, key): list(base_windows) for i in range(len(moments)) for key in targets}
        for i, key, k, y in results:
            per_window[(i, key)][k] = y
        denorm, seconds = self.config.denormalise, segment_seconds
        points = []
        for i, (a, b) in enumerate(moments):
            effect = {key: denorm(base) - denorm(float(np.mean(per_window[(i, key)]))) for key in targets}
            points.append(TimelinePoint(a, b, a * seconds if seconds else None, b * seconds if seconds else None,
                                        effect))
        return Timeline(reference, self.timeline_width, self.timeline_stride, segment_seconds,
                        [name for name in targets if name != "all"], points, top_moments(points, True),
                        top_moments(points, False))

    def _windowed(self, features: dict[str, np.ndarray], masks: list[tuple[bool, ...]]) -> list[tuple]:
        """Per mask: (y, y_main, y_aux, weights, per-window y, per-member y), each the mean over the windows covering
        the whole routine (normalised scores; per-member y is [] for one model). All masks' windows go through the
        model in batched passes."""
        names = self.modality_names
        samples, expanded, owner = [], [], []
        for i, mask in enumerate(masks):
            used = {n: features[n].shape[0] for n, bit in zip(names, mask) if bit}
            for window in covering_windows(used, self.config.modalities):
                samples.append(Sample("window", {n: features[n][s] for n, s in window.items()}))
                expanded.append(mask)
                owner.append(i)
        rows = []
        with self._lock:
            for _, out in run_batches(self.model, samples, expanded, batch_size=16):
                for j in range(len(out.y)):
                    members = [] if out.member_y is None else [float(v) for v in out.member_y[j]]
                    rows.append((float(out.y[j]), float(out.y_main[j]), float(out.y_aux[j]),
                                 output_weights(out, j, names), members))
        results = []
        for i in range(len(masks)):
            mine = [row for row, o in zip(rows, owner) if o == i]
            results.append((float(np.mean([r[0] for r in mine])), float(np.mean([r[1] for r in mine])),
                            float(np.mean([r[2] for r in mine])), mean_weights([r[3] for r in mine]),
                            [r[0] for r in mine], [float(v) for v in np.mean([r[4] for r in mine], axis=0)]
                            if mine[0][4] else []))
        return results

    def robustness(self, features: dict[str, np.ndarray]) -> list[SubsetScore]:
        """The score under every non-empty subset of the present modalities, in one batched pass."""
        features = self._check(features)
        present = [name for name in self.modality_names if name in features]
        subsets = [c for size in range(1, len(present) + 1) for c in combinations(present, size)]
        masks = [tuple(name in subset for name in self.modality_names) for subset in subsets]
        scores = [y for y, *_ in self._windowed(features, masks)]
        return [SubsetScore(list(subset), self.config.denormalise(s)) for subset, s in zip(subsets, scores)]


def window_rule(count: int, reference, features: dict[str, np.ndarray]) -> str:
    if count == 1 or reference is None:
        return "one window: the routine fits one block (or its centre crop)"
    n = features[reference.name].shape[0]
    return (f"mean over {count} consecutive windows of {reference.length} segments covering all {n} segments of "
            f"{reference.name}")
