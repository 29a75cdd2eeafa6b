"""The generic feature dataset on disk (docs/data_format.md section 1): read, write and validate.

```
dataset.json                         spec: name, score name and range, modalities (dim, extractor id), segmenting
labels.csv                           sample_id,score,split   (score may be empty for prediction-only data)
features/<modality>/<sample_id>.npy  float32 [T_i, dim]; an absent file means the modality is missing
```
Every problem is a `DataError` that names the file or the field.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from limssr_core.errors import DataError

SPLITS = ("train", "val", "test")
SAMPLE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


@dataclass
class ModalityInfo:
    dim: int
    extractor: str = "unknown"
    timeline: bool = True  # its segments lie on the video's timeline (plain-text commentary's sentences do not)


# Datasets written before `timeline` was recorded: these modalities were on the video's timeline.
TIMELINE_BY_DEFAULT = ("video", "flow", "audio", "commentary", "speech")


@dataclass
class DatasetSpec:
    name: str
    score_name: str
    score_range: tuple[float, float]
    modalities: dict[str, ModalityInfo]
    segment: dict = field(default_factory=lambda: {"frames": None, "seconds": None})

    def to_json(self) -> dict:
        out = asdict(self)
        out["score_range"] = list(self.score_range)
        return out

    @classmethod
    def from_json(cls, raw: dict, source: str = "dataset.json") -> "DatasetSpec":
        for key in ("name", "score_name", "score_range", "modalities"):
            if key not in raw:
                raise DataError(f"{source}: missing field '{key}'")
        lo_hi = raw["score_range"]
        if not (isinstance(lo_hi, (list, tuple)) and len(lo_hi) == 2 and float(lo_hi[1]) > float(lo_hi[0])):
            raise DataError(f"{source}: 'score_range' must be [low, high] with high > low, got {lo_hi!r}")
        if not isinstance(raw["modalities"], dict) or not raw["modalities"]:
            raise DataError(f"{source}: 'modalities' must be a non-empty object {{name: {{dim, extractor}}}}")
        modalities = {}
        for name, info in raw["modalities"].items():
            check_name(name, f"{source}: modality name")
            dim = info.get("dim") if isinstance(info, dict) else None
            if not isinstance(dim, int) or dim <= 0:
                raise DataError(f"{source}: modalities.{name}.dim must be a positive integer, got {dim!r}")
            timeline = bool(info["timeline"]) if "timeline" in info else name in TIMELINE_BY_DEFAULT
            modalities[name] = ModalityInfo(dim=dim, extractor=str(info.get("extractor", "unknown")),
                                            timeline=timeline)
        return cls(
            name=str(raw["name"]),
            score_name=str(raw["score_name"]),
            score_range=(float(lo_hi[0]), float(lo_hi[1])),
            modalities=modalities,
            segment=dict(raw.get("segment") or {"frames": None, "seconds": None}),
        )


@dataclass
class LabelRow:
    sample_id: str
    score: float | None
    split: str


def check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not SAMPLE_ID_PATTERN.match(name):
        raise DataError(f"{what} {name!r} is not a valid name (letters, digits, '.', '_', '-'; no path separators)")


def load_spec(root: str | os.PathLike) -> DatasetSpec:
    path = Path(root) / "dataset.json"
    if not path.is_file():
        raise DataError(f"{path}: not found; is {root} a LIMSSR feature dataset?")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    return DatasetSpec.from_json(raw, source=str(path))


def save_spec(root: str | os.PathLike, spec: DatasetSpec) -> None:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(root / "dataset.json", json.dumps(spec.to_json(), indent=2) + "\n")


def read_labels(root: str | os.PathLike) -> list[LabelRow]:
    path = Path(root) / "labels.csv"
    if not path.is_file():
        raise DataError(f"{path}: not found")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"sample_id", "score", "split"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {sorted(missing)}; expected sample_id,score,split")
        rows, seen = [], set()
        for line_no, rec in enumerate(reader, start=2):
            sample_id = (rec["sample_id"] or "").strip()
            check_name(sample_id, f"{path} line {line_no}: sample_id")
            if sample_id in seen:
                raise DataError(f"{path} line {line_no}: duplicate sample_id {sample_id!r}")
            seen.add(sample_id)
            split = (rec["split"] or "").strip()
            if split not in SPLITS:
                raise DataError(f"{path} line {line_no}: split {split!r} is not one of {SPLITS}")
            score_text = (rec["score"] or "").strip()
            score = parse_score(score_text, f"{path} line {line_no}") if score_text else None
            rows.append(LabelRow(sample_id, score, split))
    return rows


def parse_score(text: str, where: str) -> float:
    try:
        score = float(text)
    except ValueError:
        raise DataError(f"{where}: score {text!r} is not a number") from None
    if not math.isfinite(score):
        raise DataError(f"{where}: score {text!r} is not finite")
    return score


def write_labels(root: str | os.PathLike, rows: list[LabelRow]) -> None:
    lines = ["sample_id,score,split"]
    for row in rows:
        score = "" if row.score is None else repr(float(row.score))
        lines.append(f"{row.sample_id},{score},{row.split}")
    _atomic_write_text(Path(root) / "labels.csv", "\n".join(lines) + "\n")


def feature_path(root: str | os.PathLike, modality: str, sample_id: str) -> Path:
    return Path(root) / "features" / modality / f"{sample_id}.npy"


def validate_features(array: np.ndarray, dim: int, source: str) -> np.ndarray:
    """Check one modality's feature sequence: float32, [T, dim] with T >= 1, all finite."""
    if not isinstance(array, np.ndarray):
        raise DataError(f"{source}: expected a numpy array, got {type(array).__name__}")
    if array.dtype != np.float32:
        raise DataError(f"{source}: dtype is {array.dtype}, expected float32 (convert with .astype(np.float32))")
    if array.ndim != 2 or array.shape[1] != dim:
        raise DataError(f"{source}: shape is {tuple(array.shape)}, expected [T, {dim}]")
    if array.shape[0] < 1:
        raise DataError(f"{source}: has no segments (T = 0)")
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise DataError(f"{source}: holds {bad} NaN/Inf value(s)")
    return array


def load_features(path: str | os.PathLike, dim: int) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such feature file")
    if path.suffix.lower() != ".npy":
        raise DataError(f"{path}: not a .npy feature file (features are float32 [T, {dim}] arrays saved with np.save)")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err):  # numpy's own words for an object array: say it in ours
            raise DataError(f"{path}: holds pickled Python objects, not a numeric array; refusing to load it") \
                from None
        raise DataError(f"{path}: not a readable .npy array ({err})") from None
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npy array ({err})") from None
    return validate_features(array, dim, str(path))


def save_features(root: str | os.PathLike, modality: str, sample_id: str, array: np.ndarray, dim: int) -> Path:
    check_name(sample_id, "sample_id")
    path = feature_path(root, modality, sample_id)
    validate_features(array, dim, f"{modality} features for {sample_id}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, array)
    os.replace(tmp, path)
    return path


def write_dataset(
    root: str | os.PathLike,
    spec: DatasetSpec,
    samples: list[tuple[str, float | None, str, dict[str, np.ndarray]]],
) -> None:
    """Write a complete dataset: `samples` holds (sample_id, score, split, {modality: [T, dim] float32})."""
    save_spec(root, spec)
    rows = []
    for sample_id, score, split, features in samples:
        for modality, array in features.items():
            if modality not in spec.modalities:
                raise DataError(f"sample {sample_id}: modality {modality!r} is not declared in the dataset spec")
            save_features(root, modality, sample_id, array, spec.modalities[modality].dim)
        rows.append(LabelRow(sample_id, score, split))
    write_labels(root, rows)


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
