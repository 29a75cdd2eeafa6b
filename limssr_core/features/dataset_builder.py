"""Many videos -> a generic feature dataset, resumable, with a per-sample report (`python -m limssr_core extract`).

INPUTS are video files or folders (searched recursively). The sample id is the file stem (characters outside
`[A-Za-z0-9._-]` become `_`). Commentary: `<stem>.srt` or `<stem>.txt` beside the video or in `--commentary DIR`.
Labels: CSV `sample_id,score[,split]`; without a split column every labelled sample is `train`; samples without a
label (or without `--labels`) get an empty score and split `test` (prediction-only use).

Resuming: each finished sample leaves `extract_status/<id>.json`; a rerun skips those (unless `--force`). One bad
file never stops the batch: it leaves `extract_status/failed/<id>.json`, and its error lands in
`extract_report.json` under "failures".

Many processes: `plan_extraction` -> `extract_videos` (any share of the videos, in any process) ->
`finalize_dataset`, which merges `dataset.json`, `labels.csv` and the report once from the status files; so
processes never write the same file (features/parallel.py runs shares in worker processes or under torchrun).
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from limssr_core.data.generic import (
    SPLITS,
    DatasetSpec,
    LabelRow,
    ModalityInfo,
    feature_path,
    load_spec,
    parse_score,
    save_features,
    save_spec,
    write_labels,
)
from limssr_core.errors import DataError, LimssrError
from limssr_core.features.extract import extract_sample
from limssr_core.features.formats import AUDIO_EXTENSIONS, COMMENTARY_EXTENSIONS, VIDEO_EXTENSIONS
from limssr_core.features.registry import DEFAULT_MODALITIES, EXTRACTORS, ExtractionConfig, check_extractor_ids
STATUS_DIR = "extract_status"
FAILED_DIR = "failed"  # inside STATUS_DIR
REPORT = "extract_report.json"


def find_videos(inputs: list[str | Path]) -> list[Path]:
    """Files given explicitly are always taken; folders are searched recursively for video extensions."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS))
        elif path.exists():
            found.append(path)
        else:
            raise LimssrError(f"input {path} does not exist")
    return list(dict.fromkeys(found))


def sample_id_for(path: Path) -> str:
    sid = re.sub(r"[^A-Za-z0-9._\-]", "_", path.stem)
    return sid if sid and sid[0].isalnum() else f"s{sid}"


def find_commentary(video: Path, commentary_dir: Path | None) -> Path | None:
    for folder in ([commentary_dir] if commentary_dir else []) + [video.parent]:
        for ext in COMMENTARY_EXTENSIONS:
            candidate = folder / f"{video.stem}{ext}"
            if candidate.is_file():
                return candidate
    return None


def read_score_csv(path: str | Path) -> dict[str, tuple[float, str | None]]:
    """`sample_id,score[,split]` -> {id: (score, split or None)}; a malformed row is a DataError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: labels file not found")
    out: dict[str, tuple[float, str | None]] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip() for f in reader.fieldnames or []]
        if "sample_id" not in fields or "score" not in fields:
            raise DataError(f"{path}: needs a header with columns sample_id,score[,split]; found {fields}")
        for line_no, rec in enumerate(reader, start=2):
            rec = {(k or "").strip(): (v or "").strip() for k, v in rec.items()}
            sid, score_text, split = rec["sample_id"], rec["score"], rec.get("split") or None
            score = parse_score(score_text, f"{path} line {line_no}")
            if split is not None and split not in SPLITS:
                raise DataError(f"{path} line {line_no}: split {split!r} is not one of {SPLITS}")
            if sid in out:
                raise DataError(f"{path} line {line_no}: duplicate sample_id {sid!r}")
            out[sid] = (score, split)
    return out


@dataclass
class ExtractionJob:
    """One `extract` call, planned: which videos become which samples, with which extractors. Picklable, so worker
    processes get it whole."""

    out: Path
    videos: list[tuple[str, Path]]  # (sample id, video), ids unique
    duplicates: list[dict]  # failures: inputs whose sample id another input already has
    config: ExtractionConfig
    modalities: tuple[str, ...]
    extractor_ids: dict[str, str]
    spec_modalities: dict[str, ModalityInfo]
    commentary_dir: Path | None = None
    audio_dir: Path | None = None
    transcribe: bool = False
    force: bool = False
    started: float = field(default_factory=time.time)  # status files older than this come from earlier runs


def plan_extraction(inputs: list[str | Path], out_dir: str | Path, *, config: ExtractionConfig | None = None,
                    modalities: tuple[str, ...] = DEFAULT_MODALITIES, commentary_dir: str | Path | None = None,
                    audio_dir: str | Path | None = None, transcribe: bool = False, force: bool = False
                    ) -> ExtractionJob:
    """Find the videos, give them sample ids, check an existing dataset at `out_dir` was made the same way."""
    config = config or ExtractionConfig()
    out = Path(out_dir)
    ids = config.extractor_ids(modalities)
    spec_modalities = {m: ModalityInfo(dim=EXTRACTORS[e].dim, extractor=e) for m, e in ids.items()}
    if (out / "dataset.json").is_file():
        old = load_spec(out)
        check_extractor_ids({m: i.extractor for m, i in old.modalities.items()}, ids)
        if old.segment.get("frames") not in (None, config.segment_frames):
            raise LimssrError(f"{out}: was extracted with {old.segment.get('frames')}-frame segments, not "
                              f"{config.segment_frames}; use another --out folder")
    videos, duplicates, seen = [], [], {}
    for video in find_videos(inputs):
        sid = sample_id_for(video)
        if sid in seen:
            duplicates.append({"sample_id": sid, "source": str(video),
                               "error": f"duplicate sample id (same stem as {seen[sid]})"})
            continue
        seen[sid] = video
        videos.append((sid, video))
    (out / STATUS_DIR / FAILED_DIR).mkdir(parents=True, exist_ok=True)
    return ExtractionJob(out, videos, duplicates, config, tuple(modalities), ids, spec_modalities,
                         Path(commentary_dir) if commentary_dir else None, Path(audio_dir) if audio_dir else None,
                         transcribe, force)


def status_paths(job: ExtractionJob, sid: str) -> tuple[Path, Path]:
    """(the sample's record, written when it is done; its failure, written when it failed: in a folder of its own,
    so no sample id, not even `x.failed`, can name another sample's failure)."""
    folder = job.out / STATUS_DIR
    return folder / f"{sid}.json", folder / FAILED_DIR / f"{sid}.json"


def write_json_atomically(path: Path, data: dict) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def extract_one(job: ExtractionJob, sid: str, video: Path) -> str:
    """Extract one video into the dataset and leave its status file: "done", "skipped" (done by an earlier run with
    the same extractors) or "failed". One bad file never raises."""
    record_path, failure_path = status_paths(job, sid)
    if record_path.is_file() and not job.force and not failure_path.is_file():
        if json.loads(record_path.read_text()).get("extractors") == job.extractor_ids:
            return "skipped"
    try:
        record = _extract_one(video, sid, job.out, job.commentary_dir, job.audio_dir, job.config, job.modalities,
                              job.transcribe, job.spec_modalities)
    except Exception as err:  # one bad file never stops the batch; a MediaError names the limit that refused it
        message = str(err) if isinstance(err, LimssrError) else f"{type(err).__name__}: {err}"
        write_json_atomically(failure_path, {"sample_id": sid, "source": str(video), "error": message,
                                             "limit": getattr(err, "limit", None)})
        return "failed"
    write_json_atomically(record_path, record)
    failure_path.unlink(missing_ok=True)
    return "done"


def extract_videos(job: ExtractionJob, videos: list[tuple[str, Path]] | None = None,
                   progress: bool = True) -> dict[str, str]:
    """Extract `videos` (default: the whole job) one after another in this process: {sample id: outcome}."""
    from tqdm.auto import tqdm

    outcomes = {}
    for sid, video in tqdm(job.videos if videos is None else videos, desc="extract", unit="video",
                           disable=not progress):
        outcomes[sid] = extract_one(job, sid, video)
    return outcomes


def finalize_dataset(job: ExtractionJob, *, labels_csv: str | Path | None = None, score_name: str = "score",
                     score_range: tuple[float, float] | None = None) -> dict:
    """`dataset.json`, `labels.csv` and `extract_report.json`, merged once from the job's per-sample status files
    (whichever process wrote them); returns the report. A sample with no status file yet is reported as pending.
    "extracted" against "already done" is told by whether a record is newer than this job's start."""
    labels = read_score_csv(labels_csv) if labels_csv else {}
    samples: dict[str, dict] = {}
    failures: list[dict] = list(job.duplicates)
    pending: list[str] = []
    for sid, video in job.videos:
        record_path, failure_path = status_paths(job, sid)
        done = record_path.is_file() and json.loads(record_path.read_text()).get("extractors") == job.extractor_ids
        if failure_path.is_file() and (not done or failure_path.stat().st_mtime >= record_path.stat().st_mtime):
            failures.append(json.loads(failure_path.read_text()))
        elif done:
            record = json.loads(record_path.read_text())
            record["skipped"] = record_path.stat().st_mtime < job.started
            samples[sid] = record
        else:
            pending.append(sid)
    rows = []
    for sid in samples:
        score, split = labels.get(sid, (None, None))
        rows.append(LabelRow(sid, score, split or ("train" if score is not None else "test")))
    if score_range is None:  # the labels' own span; pass the scale (e.g. 0-130 for TES) when it is known
        scores = [r.score for r in rows if r.score is not None]
        score_range = (min(scores), max(scores)) if scores else (0.0, 1.0)
        if score_range[1] <= score_range[0]:
            score_range = (score_range[0], score_range[0] + 1.0)
    spec_modalities = {m: ModalityInfo(info.dim, info.extractor) for m, info in job.spec_modalities.items()}
    kinds = {r.get("commentary_kind") for r in samples.values()} - {None}
    if "commentary" in spec_modalities:  # on the timeline unless some sample's commentary is plain sentences
        spec_modalities["commentary"].timeline = kinds <= {"timed", "transcribed"}
    config = job.config
    spec = DatasetSpec(name=job.out.name, score_name=score_name, score_range=score_range, modalities=spec_modalities,
                       segment={"frames": config.segment_frames, "seconds": None,
                                "max_segments": config.max_segments, "policy": config.segment_policy})
    save_spec(job.out, spec)
    write_labels(job.out, rows)
    report = {
        "out": str(job.out), "extractors": job.extractor_ids, "config": asdict(config),
        "counts": {"inputs": len(job.videos) + len(job.duplicates),
                   "extracted": sum(not r["skipped"] for r in samples.values()),
                   "skipped_already_done": sum(r["skipped"] for r in samples.values()),
                   "failed": len(failures), "pending": len(pending)},
        "failures": failures,
        "pending": pending,
        "labels_without_video": sorted(set(labels) - set(samples)),
        "samples": samples,
    }
    write_json_atomically(job.out / REPORT, report)
    return report


def extract_dataset(inputs: list[str | Path], out_dir: str | Path, *, labels_csv: str | Path | None = None,
                    commentary_dir: str | Path | None = None, audio_dir: str | Path | None = None,
                    config: ExtractionConfig | None = None, modalities: tuple[str, ...] = DEFAULT_MODALITIES,
                    transcribe: bool = False, force: bool = False, progress: bool = True, score_name: str = "score",
                    score_range: tuple[float, float] | None = None) -> dict:
    """Extract every video into a generic dataset at `out_dir` in this process (features/parallel.py spreads a job
    over processes); returns (and writes) the report dict."""
    job = plan_extraction(inputs, out_dir, config=config, modalities=modalities, commentary_dir=commentary_dir,
                          audio_dir=audio_dir, transcribe=transcribe, force=force)
    extract_videos(job, progress=progress)
    return finalize_dataset(job, labels_csv=labels_csv, score_name=score_name, score_range=score_range)


def _extract_one(video, sid, out, commentary_dir, audio_dir, config, modalities, transcribe, spec_modalities):
    commentary = find_commentary(video, commentary_dir) if "commentary" in modalities else None
    audio = None
    if audio_dir:
        audio = next((p for p in sorted(Path(audio_dir).glob(f"{video.stem}.*"))
                      if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS), None)
    result = extract_sample(video, audio_path=audio, commentary_path=commentary, transcribe=transcribe,
                            config=config, modalities=modalities)
    for name in modalities:
        path = feature_path(out, name, sid)
        if name in result.features:
            save_features(out, name, sid, result.features[name], spec_modalities[name].dim)
        elif path.exists():
            path.unlink()  # stale file from an earlier run: missing must mean absent
    return {
        "source": str(video),
        "commentary": str(commentary) if commentary else None,
        "status": {m: s.to_json() for m, s in result.status.items()},
        "segments": {m: int(a.shape[0]) for m, a in result.features.items()},
        "extractors": result.meta["extractors"],
        "media": result.meta["media"],
        "warnings": result.meta["warnings"],
        "timings_s": result.meta["timings_s"],
        "commentary_kind": result.meta.get("commentary", {}).get("kind"),  # timed | transcribed | plain | None
    }
