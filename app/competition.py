"""The Competition tab's logic: several uploaded routines scored one after another into one ranked table.

Plain functions returning plain data (tested without a browser). Each routine goes through exactly the single-routine
path (`handlers.score_routine`: the same upload checks, duration limit and feature cache), and becomes a core
`RoutineScore`, so the table, the CSV and the JSON have the columns of `python -m limssr_core score` (one contract,
limssr_core/inference/competition.py). A routine that cannot be scored gets a row with its error; the others go on.
Commentary files are matched to videos by file name (`routine_07.mp4` <- `routine_07.txt` or `.srt`).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from app import handlers
from app.state import AppState
from limssr_core.errors import LimssrError
from limssr_core.features.dataset_builder import sample_id_for
from limssr_core.features.formats import COMMENTARY_EXTENSIONS, VIDEO_EXTENSIONS
from limssr_core.inference.competition import COLUMNS, RoutineScore, ranked, write_table

log = logging.getLogger("limssr.app")
TABLE_COLUMNS = ["rank", "routine", "score", "90% interval", "percentile", "present", "missing", "status"]
QUEUED, RUNNING = "queued", "scoring..."


@dataclass(frozen=True)
class Entry:
    sample_id: str  # the video's file name without extension (made unique)
    video: Path
    commentary: Path | None


def match_uploads(videos: list[str] | None, commentaries: list[str] | None, max_routines: int
                  ) -> tuple[list[Entry], list[str]]:
    """(entries in upload order, warnings). Raises LimssrError when there is nothing to score or too much."""
    videos = [Path(v) for v in (videos or []) if v]
    if not videos:
        raise LimssrError("upload at least one routine video to score a competition")
    if len(videos) > max_routines:
        raise LimssrError(f"{len(videos)} routines uploaded; this server scores at most {max_routines} per "
                          "competition (start it with --max-routines N to change that)")
    by_stem: dict[str, Path] = {}
    warnings = []
    for path in (Path(c) for c in (commentaries or []) if c):
        if path.suffix.lower() not in COMMENTARY_EXTENSIONS:
            warnings.append(f"commentary {path.name} ignored: use one of {', '.join(sorted(COMMENTARY_EXTENSIONS))}")
        elif path.stem in by_stem:
            warnings.append(f"commentary {path.name} ignored: {by_stem[path.stem].name} has the same name")
        else:
            by_stem[path.stem] = path
    entries, seen = [], set()
    for video in videos:
        sid, n = sample_id_for(video), 2
        while sid in seen:  # two uploads with one name: both are scored, told apart by a suffix
            sid, n = f"{sample_id_for(video)}_{n}", n + 1
        seen.add(sid)
        entries.append(Entry(sid, video, by_stem.pop(video.stem, None)))
    warnings += [f"commentary {path.name} matches no video (name it like the video: {path.stem}.mp4)"
                 for path in by_stem.values()]
    return entries, warnings


def score_entry(entry: Entry, state: AppState, checkpoint: str, progress: handlers.ProgressFn | None = None
                ) -> RoutineScore:
    """One routine, through the single-routine path; an input problem becomes the row's error."""
    if entry.video.suffix.lower() not in VIDEO_EXTENSIONS:
        return RoutineScore(entry.sample_id, entry.video.name, None,
                            error=f"unsupported format '{entry.video.suffix}'; use one of "
                                  f"{', '.join(sorted(VIDEO_EXTENSIONS))}")
    request = handlers.ScoreRequest(video=str(entry.video), checkpoint=checkpoint,
                                    commentary_file=str(entry.commentary) if entry.commentary else None)
    try:
        result = handlers.score_routine(request, state, progress)
    except LimssrError as err:
        return RoutineScore(entry.sample_id, entry.video.name, None, error=str(err), checkpoint=checkpoint)
    except Exception as err:  # noqa: BLE001 - a bug or a decoder crash on one file is that routine's error
        log.exception("unexpected error while scoring %s in a competition", entry.video.name)
        return RoutineScore(entry.sample_id, entry.video.name, None, checkpoint=checkpoint,
                            error=f"internal error ({type(err).__name__}); the server log has the details")
    payload = result.payload
    interval = payload.get("interval") or {}
    missing = {name: st["reason"] for name, st in payload["modality_status"].items() if not st["present"]}
    return RoutineScore(entry.sample_id, entry.video.name, payload["score"], interval.get("low"),
                        interval.get("high"), payload.get("percentile"), list(payload["used_modalities"]), missing,
                        list(result.warnings), checkpoint=checkpoint)


def table(rows: list[RoutineScore], pending: dict[str, str]) -> list[list]:
    """The on-page table: finished routines ranked (failed ones last), then the pending ones with their state."""
    def num(value, digits=1):
        return "" if value is None else f"{float(value):.{digits}f}"

    out = []
    for rank, row in ranked(rows):
        interval = "" if row.interval_low is None else f"{row.interval_low:.1f}-{row.interval_high:.1f}"
        status = f"not scored: {row.error}" if row.error else ("; ".join(row.warnings) or "scored")
        out.append(["" if rank is None else rank, row.sample_id, num(row.score), interval, num(row.percentile, 0),
                    "+".join(row.present), "; ".join(f"{m} ({why})" for m, why in row.missing.items()), status])
    out += [["", sid, "", "", "", "", "", state] for sid, state in pending.items()]
    return out


def write_downloads(rows: list[RoutineScore], folder: Path) -> tuple[Path, Path]:
    """competition.csv (the `score` command's columns) and competition.json (ranked rows) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / "competition.csv", folder / "competition.json"
    write_table(rows, csv_path)
    records = [{"rank": rank} | asdict(row) for rank, row in ranked(rows)]
    json_path.write_text(json.dumps({"columns": COLUMNS, "routines": records}, indent=1) + "\n", encoding="utf-8")
    return csv_path, json_path


@dataclass
class CompetitionUpdate:
    table: list[list]  # TABLE_COLUMNS rows
    status: str  # markdown: how far the competition is
    csv: Path | None = None  # downloads, once every routine is done
    json: Path | None = None


def run_competition(entries: list[Entry], state: AppState, checkpoint: str,
                    progress: Callable[[float, str], None] | None = None) -> Iterator[CompetitionUpdate]:
    """Score the routines in order, yielding the table after each one; the last update carries the downloads."""
    progress = progress or (lambda fraction, desc: None)
    rows: list[RoutineScore] = []
    pending = {e.sample_id: QUEUED for e in entries}
    n = len(entries)
    yield CompetitionUpdate(table(rows, pending), f"0 of {n} routines scored")
    for i, entry in enumerate(entries):
        pending[entry.sample_id] = RUNNING

        def routine_progress(fraction: float, desc: str, i=i, entry=entry) -> None:
            progress((i + fraction) / n, f"routine {i + 1}/{n} ({entry.video.name}): {desc}")

        rows.append(score_entry(entry, state, checkpoint, routine_progress))
        del pending[entry.sample_id]
        failed = sum(r.score is None for r in rows)
        status = f"{len(rows) - failed} of {n} routines scored" + (f", {failed} could not be" if failed else "")
        if pending:
            yield CompetitionUpdate(table(rows, pending), status)
    csv_path, json_path = write_downloads(rows, Path(tempfile.mkdtemp(prefix="limssr-competition-")))
    yield CompetitionUpdate(table(rows, pending), status + ". Done: download the table below.", csv_path, json_path)
