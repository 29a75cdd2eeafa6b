"""A whole start list at once: score unlabelled routine videos into one ranked table (`python -m limssr_core score`).

Each video is extracted with the checkpoint's own extractors (features/plan.py) and scored like a single routine
(`Scorer.score`: whole-routine windows, interval, percentile). One bad file never stops the batch: it gets a row
with its error. Resumable: every finished routine is appended to `<out>.progress.jsonl`, and a rerun with the same
checkpoint skips those. The table is written (atomically) after every routine, ranked by score. With `reports_dir`
each scored routine also gets its HTML report (reports/html.py) with the occlusion timeline, which costs about one
more scoring pass per routine.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from limssr_core.errors import LimssrError
from limssr_core.features.dataset_builder import find_commentary, find_videos, sample_id_for
from limssr_core.features.segments import segment_seconds, untimed_modalities

COLUMNS = ["rank", "sample_id", "score", "interval_low", "interval_high", "percentile", "present", "missing",
           "warnings"]


@dataclass
class RoutineScore:
    sample_id: str
    source: str
    score: float | None  # None when the routine could not be scored (see `error`)
    interval_low: float | None = None
    interval_high: float | None = None
    percentile: float | None = None
    present: list[str] = field(default_factory=list)  # the modalities the score used
    missing: dict[str, str] = field(default_factory=dict)  # modality -> why it is missing
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    checkpoint: str = ""


def score_routines(inputs: list[str | Path], checkpoint: str | Path, out_csv: str | Path, *,
                   commentary_dir: str | Path | None = None, device: str = "cpu", max_duration_s: float | None = None,
                   reports_dir: str | Path | None = None, progress: bool = True) -> list[RoutineScore]:
    """Score every video found in `inputs` (files, or folders searched recursively) into `out_csv`."""
    from limssr_core.features import ExtractionConfig, plan_extraction
    from limssr_core.inference.scorer import Scorer

    videos = find_videos(inputs)
    if not videos:
        raise LimssrError(f"no video found in {', '.join(map(str, inputs))}")
    scorer = Scorer(checkpoint, device=device)
    settings = ExtractionConfig(device=device) if max_duration_s is None else \
        ExtractionConfig(device=device, max_duration_s=max_duration_s)
    plan = plan_extraction(scorer.config, settings)
    if not plan.modalities:
        raise LimssrError("this checkpoint's modalities cannot be extracted from video here: " + "; ".join(
            f"{k}: {v.reason}" for k, v in plan.unsupported.items()))
    out_csv = Path(out_csv)
    journal = out_csv.with_name(out_csv.name + ".progress.jsonl")
    done = _read_journal(journal, str(scorer.checkpoint))
    reporter = _Reporter(scorer, checkpoint, reports_dir) if reports_dir is not None else None
    results: dict[str, RoutineScore] = {}
    from tqdm.auto import tqdm

    for video in tqdm(videos, desc="score", unit="routine", disable=not progress):
        sid = sample_id_for(video)
        if sid in results:
            results[sid + f"@{video}"] = RoutineScore(sid, str(video), None, error=f"duplicate sample id {sid!r}")
            continue
        if sid in done and done[sid].source == str(video) and (reporter is None or reporter.has(sid)):
            results[sid] = done[sid]
            continue
        result = _score_one(video, sid, scorer, plan, commentary_dir, reporter)
        result.checkpoint = str(scorer.checkpoint)
        results[sid] = result
        with open(journal, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(result)) + "\n")
        write_table(list(results.values()), out_csv)
    rows = list(results.values())
    write_table(rows, out_csv)
    return rows


class _Reporter:
    """Writes `<reports_dir>/<sample_id>.html` for each scored routine."""

    def __init__(self, scorer, ref, reports_dir):
        from limssr_core.model.hub import read_card
        from limssr_core.reports.html import checkpoint_identity
        from limssr_core.reports.text import card_note

        self.folder = Path(reports_dir)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.identity = checkpoint_identity(scorer.config, str(ref))
        self.note = card_note(scorer.config, read_card(scorer.checkpoint))

    def has(self, sid: str) -> bool:
        return (self.folder / f"{sid}.html").is_file()

    def write(self, sid: str, payload: dict, title: str, commentary) -> None:
        from limssr_core.reports.html import render_report, write_report
        from limssr_core.reports.text import commentary_evidence

        cues, sentences = commentary_evidence(commentary)
        write_report(self.folder / f"{sid}.html", render_report(payload, self.identity, self.note, title=title,
                                                                cues=cues, sentences=sentences))


def _score_one(video: Path, sid: str, scorer, plan, commentary_dir, reporter=None) -> RoutineScore:
    from limssr_core.features import extract_sample
    from limssr_core.features.media import check_routine_duration

    try:
        commentary = find_commentary(video, Path(commentary_dir) if commentary_dir else None) \
            if "commentary" in plan.modalities else None
        sample = extract_sample(video, commentary_path=commentary, config=plan.config, modalities=plan.modalities)
        check_routine_duration(sample.meta["media"]["duration_s"], video.name)
        statuses = dict(plan.unsupported) | sample.status
        present = [m for m in scorer.modality_names if m in statuses and statuses[m].present]
        if not present:
            raise LimssrError("no usable modality: " + "; ".join(f"{m}: {s.reason}" for m, s in statuses.items()))
        untimed = untimed_modalities(sample.meta)
        timeline = reporter is not None and any(m.timeline and m.name in present and m.name not in untimed
                                                for m in scorer.config.modalities)
        prediction = scorer.score({m: sample.features[m] for m in present}, timeline=timeline,
                                  segment_seconds=segment_seconds(sample.meta), untimed=untimed)
    except LimssrError as err:  # one bad file never stops the batch
        return RoutineScore(sid, str(video), None, error=str(err))
    except Exception as err:  # noqa: BLE001 - a decoder crash on one file is that file's error
        return RoutineScore(sid, str(video), None, error=f"{type(err).__name__}: {err}")
    interval = prediction.interval
    missing = {m: statuses[m].reason if m in statuses else "not extracted"
               for m in scorer.modality_names if m not in present}
    warnings = list(sample.meta.get("warnings", [])) + [f"{m} missing: {statuses[m].reason}"
                                                        for m in missing if m in statuses and statuses[m].is_problem]
    if reporter is not None:
        prediction.modality_status = {m: statuses[m].to_json() | {"withheld": False} if m in statuses else
                                      {"present": False, "kind": "not_given", "reason": "not extracted",
                                       "withheld": False} for m in scorer.modality_names}
        reporter.write(sid, prediction.to_json() | {"warnings": warnings}, video.name, commentary)
    return RoutineScore(sid, str(video), prediction.score,
                        interval.low if interval else None, interval.high if interval else None,
                        prediction.percentile, present, missing, warnings)


def _read_journal(path: Path, checkpoint: str) -> dict[str, RoutineScore]:
    """Finished routines of an earlier run with the same checkpoint (a torn last line is ignored)."""
    done = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = RoutineScore(**json.loads(line))
            except (ValueError, TypeError):
                continue
            if record.checkpoint == checkpoint and record.error is None:
                done[record.sample_id] = record
    return done


def ranked(rows: list[RoutineScore]) -> list[tuple[int | None, RoutineScore]]:
    """Scored routines by score, highest first (ties share a rank), then the failed ones without a rank."""
    scored = sorted((r for r in rows if r.score is not None), key=lambda r: -r.score)
    out, previous, rank = [], None, 0
    for position, row in enumerate(scored, start=1):
        if row.score != previous:
            rank, previous = position, row.score
        out.append((rank, row))
    return out + [(None, r) for r in rows if r.score is None]


def write_table(rows: list[RoutineScore], path: Path) -> None:
    def fmt(value):
        return "" if value is None else f"{value:.2f}"

    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for rank, row in ranked(rows):
            missing = "; ".join(f"{m} ({reason})" for m, reason in row.missing.items())
            notes = row.warnings + ([f"not scored: {row.error}"] if row.error else [])
            writer.writerow(["" if rank is None else rank, row.sample_id, fmt(row.score), fmt(row.interval_low),
                             fmt(row.interval_high), fmt(row.percentile), "+".join(row.present), missing,
                             " | ".join(notes)])
    os.replace(tmp, path)
