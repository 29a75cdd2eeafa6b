"""Convert the published benchmark feature releases into the generic feature dataset (docs/data_format.md sections 1-2).

One call converts one score type (one model is trained per score type):

| benchmark | score types (range [0, R])                               | source files                               |
|-----------|----------------------------------------------------------|--------------------------------------------|
| `rg`      | Ball, Clubs, Hoop, Ribbon (25; target is Total_Score)    | `{App}_{rgb_VST,flow_I3D,audio_AST}.npy`, `train.txt`, `test.txt` |
| `fisv`    | TES (45), PCS (40)                                       | `FISV_{rgb_VST,flow_I3D,audio_AST}.npy`, `train.txt`, `test.txt` |
| `fs1000`  | TES (130), PCS (60, after dividing by the program factor), SS/TR/PE/CO/IN (10) | `video/`, `audio/`, `flow/` folders of `<name>.npy`, `train_fs1000_new.txt`, `val_fs1000_new.txt` |

Splits: the benchmark's training file becomes split `train` and its test (FS1000: "val") file becomes split
`test`, so results stay comparable with the published numbers. The generic `val` split is reserved for a
validation set carved out of `train` by the trainer; the converter never writes it.

Scores are written in original units (not normalised); the range goes into `dataset.json`. Features are cast
to float32; a sample that the release lacks for one modality gets no file for it (real missingness).

Security: the RG and Fis-V releases are pickled Python dicts. Loading them can execute arbitrary code, so only
convert files from a source you trust.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from limssr_core.data.generic import (
    DatasetSpec,
    LabelRow,
    ModalityInfo,
    check_name,
    save_features,
    save_spec,
    write_labels,
)
from limssr_core.data.release_io import (
    DictSource,
    FeatureSource,
    FolderSource,
    LabelLine,
    check_score,
    fresh_output_dir,
    read_label_table,
    to_features,
)
from limssr_core.errors import DataError

BENCHMARKS = ("rg", "fisv", "fs1000")
SCORE_TYPES: dict[str, dict[str, float]] = {
    "rg": {"Ball": 25.0, "Clubs": 25.0, "Hoop": 25.0, "Ribbon": 25.0},
    "fisv": {"TES": 45.0, "PCS": 40.0},
    "fs1000": {"TES": 130.0, "PCS": 60.0, "SS": 10.0, "TR": 10.0, "PE": 10.0, "CO": 10.0, "IN": 10.0},
}
RG_COLUMNS = ("Video_Name", "Difficulty_Score", "Execution_Score", "Total_Score", "Penalty", "Video_length")
FISV_COLUMNS = ("id", "TES", "PCS", "deductions")
FS1000_COLUMNS = ("name", "TES", "PCS", "SS", "TR", "PE", "CO", "IN", "factor")
DEFAULT_LABEL_FILES = {
    "rg": ("train.txt", "test.txt"),
    "fisv": ("train.txt", "test.txt"),
    "fs1000": ("train_fs1000_new.txt", "val_fs1000_new.txt"),
}
PAMFN_MODALITIES = {  # output modality -> (file suffix, extractor id)
    "video": ("rgb_VST", "video-swin-b@pamfn"),
    "flow": ("flow_I3D", "i3d-flow@pamfn"),
    "audio": ("audio_AST", "ast@pamfn"),
}
FS1000_EXTRACTORS = {"video": "timesformer@fs1000", "flow": "i3d-flow@limssr-fs1000", "audio": "ast@fs1000"}


@dataclass
class ModalityPlan:
    open_source: Callable[[], FeatureSource]  # deferred so label errors are reported before big loads
    rank: int  # rank of the raw arrays: 2 for [T, d], 3 for [T, k, d] (averaged over k)
    extractor: str


@dataclass
class ConversionPlan:
    """Everything benchmark-specific; `_run_plan` does the rest."""

    dataset_name: str
    score_name: str
    score_range: float
    columns: tuple[str, ...]
    label_files: dict[str, Path]  # generic split -> label file
    score_of: Callable[[LabelLine], float | None]  # None: the line belongs to another score type
    modalities: dict[str, ModalityPlan]


# --------------------------------------------------------------------------------------------- plans


def _rg_plan(source: Path, apparatus: str, label_files: dict[str, Path]) -> ConversionPlan:
    total = RG_COLUMNS.index("Total_Score") - 1

    def score_of(line: LabelLine) -> float | None:
        return line.values[total] if line.name.split("_")[0].lower() == apparatus.lower() else None

    modalities = {
        name: ModalityPlan(lambda p=source / f"{apparatus}_{suffix}.npy": DictSource(p), 2, extractor)
        for name, (suffix, extractor) in PAMFN_MODALITIES.items()
    }
    return ConversionPlan(f"rg-{apparatus}", apparatus, SCORE_TYPES["rg"][apparatus], RG_COLUMNS,
                          label_files, score_of, modalities)


def _fisv_plan(source: Path, score: str, label_files: dict[str, Path]) -> ConversionPlan:
    column = FISV_COLUMNS.index(score) - 1
    modalities = {
        name: ModalityPlan(lambda p=source / f"FISV_{suffix}.npy": DictSource(p), 2, extractor)
        for name, (suffix, extractor) in PAMFN_MODALITIES.items()
    }
    return ConversionPlan(f"fisv-{score}", score, SCORE_TYPES["fisv"][score], FISV_COLUMNS,
                          label_files, lambda line: line.values[column], modalities)


def _fs1000_plan(source: Path, score: str, label_files: dict[str, Path], folders: dict[str, str]) -> ConversionPlan:
    column = FS1000_COLUMNS.index(score) - 1
    factor = FS1000_COLUMNS.index("factor") - 1

    def score_of(line: LabelLine) -> float:
        if score != "PCS":
            return line.values[column]
        if line.values[factor] <= 0:
            raise DataError(f"{line.where()}: factor {line.values[factor]:g} of {line.name!r} must be positive")
        return line.values[column] / line.values[factor]

    modalities = {
        name: ModalityPlan(lambda p=source / folders[name]: FolderSource(p), 3 if name == "video" else 2, extractor)
        for name, extractor in FS1000_EXTRACTORS.items()
    }
    return ConversionPlan(f"fs1000-{score}", score, SCORE_TYPES["fs1000"][score], FS1000_COLUMNS,
                          label_files, score_of, modalities)


# --------------------------------------------------------------------------------------------- running


@dataclass
class _Row:
    sample_id: str
    score: float
    split: str
    where: str


def _read_rows(plan: ConversionPlan) -> list[_Row]:
    rows: list[_Row] = []
    seen: dict[str, str] = {}
    for split, path in plan.label_files.items():
        for line in read_label_table(path, plan.columns):
            score = plan.score_of(line)
            if score is None:
                continue
            check_name(line.name, f"{line.where()}: sample name")
            if line.name in seen:
                raise DataError(f"{line.where()}: sample {line.name!r} already listed at {seen[line.name]}")
            seen[line.name] = line.where()
            score = check_score(score, plan.score_range, line.where(), line.name)
            rows.append(_Row(line.name, score, split, line.where()))
    if not rows:
        files = ", ".join(str(p) for p in plan.label_files.values())
        raise DataError(f"{files}: no samples for score type {plan.score_name!r}")
    return rows


def _write_sample(
    root: Path, row: _Row, sources: dict[str, FeatureSource], plan: ConversionPlan, dims: dict[str, int]
) -> None:
    """Convert and save every modality the release has for one sample; record each modality's dim."""
    written = 0
    for modality, source in sources.items():
        raw = source.get(row.sample_id)
        if raw is None:
            continue
        where = source.describe(row.sample_id)
        array = to_features(raw, plan.modalities[modality].rank, where)
        dim = dims.setdefault(modality, array.shape[1])
        if array.shape[1] != dim:
            raise DataError(f"{where}: feature dim {array.shape[1]} differs from {dim} seen for other samples")
        save_features(root, modality, row.sample_id, array, dim)
        written += 1
    if written == 0:
        raise DataError(f"{row.where}: sample {row.sample_id!r} has no features in any modality of the release")


def _run_plan(plan: ConversionPlan, out_dir: Path, progress: bool) -> DatasetSpec:
    rows = _read_rows(plan)
    sources = {name: modality.open_source() for name, modality in plan.modalities.items()}
    fresh_output_dir(out_dir)
    # Write into a sibling folder and rename at the end, so a failed run leaves no half-written dataset.
    out_dir = out_dir.resolve()
    staging = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        dims: dict[str, int] = {}
        for row in tqdm(rows, desc=f"convert {plan.dataset_name}", unit="sample", disable=not progress):
            _write_sample(staging, row, sources, plan, dims)
        spec = DatasetSpec(
            name=plan.dataset_name,
            score_name=plan.score_name,
            score_range=(0.0, plan.score_range),
            modalities={m: ModalityInfo(dims[m], plan.modalities[m].extractor) for m in plan.modalities if m in dims},
        )
        save_spec(staging, spec)
        write_labels(staging, [LabelRow(r.sample_id, r.score, r.split) for r in rows])
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked by fresh_output_dir
        os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return spec


def _canonical_score_type(benchmark: str, score_type: str) -> str:
    known = SCORE_TYPES[benchmark]
    for name in known:
        if name.lower() == score_type.strip().lower():
            return name
    raise DataError(f"score type {score_type!r} is not one of {sorted(known)} for benchmark {benchmark!r}")


PICKLED = ("rg", "fisv")  # releases stored as np.save'd Python dicts


def convert_benchmark(
    benchmark: str,
    source_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    score_type: str,
    *,
    progress: bool = True,
    train_labels: str | None = None,
    test_labels: str | None = None,
    video_dir: str = "video",
    audio_dir: str = "audio",
    flow_dir: str = "flow",
    allow_pickle: bool = False,
) -> DatasetSpec:
    """Convert one score type of a benchmark release in `source_dir` into a generic dataset at `out_dir`.

    `benchmark` is "rg", "fisv" or "fs1000" (see the module docstring for file names and score types).
    `train_labels` / `test_labels` override the label file names inside `source_dir`; the `*_dir` options name
    the FS1000 feature folders. `out_dir` must not exist or be empty. Raises `DataError` on any bad input.
    The RG and Fis-V releases are pickles, which can run code when loaded: they are refused unless `allow_pickle`.
    """
    benchmark = benchmark.strip().lower()
    if benchmark not in BENCHMARKS:
        raise DataError(f"unknown benchmark {benchmark!r}; expected one of {BENCHMARKS}")
    score = _canonical_score_type(benchmark, score_type)
    source = Path(source_dir)
    if not source.is_dir():
        raise DataError(f"{source}: source folder not found")
    default_train, default_test = DEFAULT_LABEL_FILES[benchmark]
    label_files = {"train": source / (train_labels or default_train), "test": source / (test_labels or default_test)}
    if benchmark in PICKLED and not allow_pickle:
        raise DataError(f"the {benchmark} release is a set of pickled Python dicts, and loading a pickle can run "
                        "arbitrary code; convert it only if you trust its source, with --allow-pickle "
                        "(allow_pickle=True)")
    if benchmark == "rg":
        plan = _rg_plan(source, score, label_files)
    elif benchmark == "fisv":
        plan = _fisv_plan(source, score, label_files)
    else:
        folders = {"video": video_dir, "audio": audio_dir, "flow": flow_dir}
        plan = _fs1000_plan(source, score, label_files, folders)
    return _run_plan(plan, Path(out_dir), progress)
