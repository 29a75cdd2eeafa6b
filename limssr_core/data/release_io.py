"""Low-level readers for the published benchmark feature releases (docs/data_format.md section 2).

Label tables are whitespace-separated text files; feature releases are either one pickled dict per modality
(PAMFN: Rhythmic Gymnastics, Fis-V) or one `.npy` per video in a folder (FS1000). Every problem is a
`DataError` naming the file and the line or sample.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
import numpy as np

from limssr_core.errors import DataError

@dataclass
class LabelLine:
    """One data line of a label table: the first field (a name or id) and the numeric fields after it."""

    path: Path
    line_no: int
    name: str
    values: list[float]

    def where(self) -> str:
        return f"{self.path} line {self.line_no}"


def _parse_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_label_table(path: Path, columns: tuple[str, ...]) -> list[LabelLine]:
    """Read a whitespace-separated table whose first column is a name and the rest are numbers.

    A header is detected by content: the first non-empty line is a header only when none of its numeric
    columns parses as a number (so a malformed first data line is reported, never silently dropped).
    """
    if not path.is_file():
        raise DataError(f"{path}: label file not found")
    expected = " ".join(columns)
    lines: list[LabelLine] = []
    first = True
    for line_no, raw in enumerate(path.read_text().splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        if first:
            first = False
            if len(fields) > 1 and all(_parse_number(f) is None for f in fields[1:]):
                continue  # header line
        if len(fields) != len(columns):
            raise DataError(
                f"{path} line {line_no}: expected {len(columns)} fields ({expected}), got {len(fields)}: {raw!r}"
            )
        values = [_parse_number(f) for f in fields[1:]]
        bad = [columns[i + 1] for i, v in enumerate(values) if v is None]
        if bad:
            raise DataError(f"{path} line {line_no}: {', '.join(bad)} is not a finite number: {raw!r}")
        lines.append(LabelLine(path, line_no, fields[0], [float(v) for v in values]))
    if not lines:
        raise DataError(f"{path}: no label lines (expected: {expected})")
    return lines


def canonical_key(name: object) -> str:
    """Key used to match label names with release keys: numeric ids compare as integers ('007' == 7)."""
    text = str(name).strip()
    return str(int(text)) if text.isdigit() else text


def load_dict_release(path: Path) -> dict[str, object]:
    """Load a PAMFN feature dict (`np.save`d Python dict {sample_name: [T, d]}).

    Security: this unpickles the file (`allow_pickle=True`), which can run arbitrary code. Only convert
    releases you obtained from a source you trust.
    """
    if not path.is_file():
        raise DataError(f"{path}: feature file not found")
    try:
        loaded = np.load(path, allow_pickle=True)
        content = loaded.item() if isinstance(loaded, np.ndarray) and loaded.shape == () else loaded
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npy file ({err})") from None
    if not isinstance(content, dict):
        raise DataError(f"{path}: expected a pickled dict {{sample_name: array}}, got {type(content).__name__}")
    by_key: dict[str, object] = {}
    for key, value in content.items():
        canonical = canonical_key(key)
        if canonical in by_key:
            raise DataError(f"{path}: two entries for sample {key!r}")
        by_key[canonical] = value
    return by_key


class DictSource:
    """Features of one modality from a PAMFN dict file (loaded eagerly; see `load_dict_release`)."""

    def __init__(self, path: Path):
        self.path = path
        self.table = load_dict_release(path)

    def get(self, name: str) -> object | None:
        return self.table.get(canonical_key(name))

    def describe(self, name: str) -> str:
        return f"{self.path} sample {name!r}"


class FolderSource:
    """Features of one modality from a folder with one `<name>.npy` per video (loaded lazily)."""

    def __init__(self, folder: Path):
        if not folder.is_dir():
            raise DataError(f"{folder}: feature folder not found")
        self.folder = folder

    def get(self, name: str) -> np.ndarray | None:
        path = self.folder / f"{name}.npy"
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise DataError(f"{path}: not a readable .npy array ({err})") from None

    def describe(self, name: str) -> str:
        return str(self.folder / f"{name}.npy")


FeatureSource = DictSource | FolderSource


def to_features(raw: object, rank: int, source: str) -> np.ndarray:
    """Validate one raw release array and return float32 [T, d] (a rank-3 [T, k, d] is averaged over k)."""
    if not isinstance(raw, np.ndarray) or not np.issubdtype(raw.dtype, np.number):
        raise DataError(f"{source}: expected a numeric array, got {type(raw).__name__}")
    if raw.ndim != rank:
        layout = "[T, k, d]" if rank == 3 else "[T, d]"
        raise DataError(f"{source}: array has rank {raw.ndim} (shape {tuple(raw.shape)}), expected {layout}")
    if raw.shape[0] < 1 or raw.shape[-1] < 1:
        raise DataError(f"{source}: empty array (shape {tuple(raw.shape)})")
    array = raw.astype(np.float64).mean(axis=1) if rank == 3 else raw
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise DataError(f"{source}: holds NaN/Inf values")
    return array


def check_score(score: float, score_range: float, where: str, sample: str) -> float:
    """Check 0 <= score <= score_range (within floating tolerance, then clamped)."""
    tolerance = 1e-6 * max(1.0, score_range)
    if score < -tolerance or score > score_range + tolerance:
        raise DataError(f"{where}: score {score:g} of sample {sample!r} is outside [0, {score_range:g}]")
    return min(max(score, 0.0), float(score_range))


def fresh_output_dir(out_dir: Path) -> None:
    """Refuse to write into a folder that already holds files (stale features would mix with new ones)."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise DataError(f"{out_dir}: already exists and is not an empty folder; choose a new output folder")
    os.makedirs(out_dir.parent, exist_ok=True)
