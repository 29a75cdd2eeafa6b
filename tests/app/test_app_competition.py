"""The Competition tab's logic (app/competition.py) and its `/competition` API through gradio_client."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from gradio_client import Client, handle_file

from app import competition
from app.state import AppState
from limssr_core.errors import LimssrError
from limssr_core.inference.competition import COLUMNS


def test_nothing_or_too_much_is_refused_with_the_limit():
    with pytest.raises(LimssrError, match="at least one routine"):
        competition.match_uploads([], None, 5)
    with pytest.raises(LimssrError, match="3 routines uploaded; this server scores at most 2"):
        competition.match_uploads(["a.mp4", "b.mp4", "c.mp4"], None, 2)


def test_commentary_files_are_matched_by_name(tmp_path):
    for name in ("r1.txt", "r3.srt", "notes.docx", "r1.srt"):
        (tmp_path / name).write_text("x")
    entries, warnings = competition.match_uploads(
        [str(tmp_path / "r1.mp4"), str(tmp_path / "r2.mp4"), str(tmp_path / "sub" / "r1.mp4")],
        [str(tmp_path / n) for n in ("r1.txt", "r3.srt", "notes.docx", "r1.srt")], 5)
    assert [e.sample_id for e in entries] == ["r1", "r2", "r1_2"]  # a repeated name is kept, told apart
    assert entries[0].commentary.name == "r1.txt" and entries[1].commentary is None
    assert any("notes.docx ignored" in w for w in warnings)
    assert any("r1.srt ignored" in w and "same name" in w for w in warnings)
    assert any("r3.srt matches no video" in w for w in warnings)


def test_a_competition_ranks_the_routines_and_keeps_going_past_a_bad_one(settings, routines, tmp_path):
    state = AppState.create(settings)  # its own feature cache: other tests watch the extraction stages
    videos = [routines["video"], routines["corrupt"], routines["other"]]
    entries, _ = competition.match_uploads([str(v) for v in videos], [str(routines["commentary"])], 5)
    seen = []
    updates = list(competition.run_competition(entries, state, settings.checkpoint,
                                               lambda fraction, desc: seen.append((fraction, desc))))
    first, last = updates[0], updates[-1]
    assert [row[-1] for row in first.table] == ["queued"] * 3 and first.csv is None
    assert len(updates) == 4  # the empty table, after the first and second routines, and the final one
    assert [row[1] for row in updates[1].table] == [entries[0].sample_id, entries[1].sample_id, entries[2].sample_id]
    assert updates[1].table[1][-1] == "queued" and updates[1].table[0][2] != ""
    ranks = [row[0] for row in last.table]
    assert ranks[:2] == [1, 2] and ranks[2] == ""  # two scored, the broken file last without a rank
    broken = last.table[2]
    assert broken[1] == "broken" and broken[-1].startswith("not scored: ")
    scores = [float(row[2]) for row in last.table[:2]]
    assert scores == sorted(scores, reverse=True)
    first_routine = next(row for row in last.table if row[1] == entries[0].sample_id)
    assert "commentary" in first_routine[5]  # its commentary file was matched and used
    assert "1 could not be" in last.status
    assert all(0 <= f <= 1 for f, _ in seen) and any(d.startswith("routine 3/3") for _, d in seen)
    with open(last.csv, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == COLUMNS and len(rows) == 4
    records = json.loads(last.json.read_text())["routines"]
    assert [r["sample_id"] for r in records] == [row[1] for row in last.table]
    assert records[2]["error"] and records[0]["rank"] == 1


def test_the_competition_api_returns_the_ranked_table_and_downloads(served_app, routines, tmp_path):
    renamed = tmp_path / "skater_b.mp4"
    shutil.copy(routines["other"], renamed)
    client = Client(served_app, verbose=False)
    status, table, csv_file, json_file = client.predict(
        [handle_file(str(routines["video"])), handle_file(str(renamed))], [], api_name="/competition")
    assert status.startswith("2 of 2 routines scored")
    assert [row[1] for row in table["data"]] != [] and {row[1] for row in table["data"]} == {
        routines["video"].stem, "skater_b"}
    assert [row[0] for row in table["data"]] in ([1, 2], [1, 1])
    path = csv_file["value"] if isinstance(csv_file, dict) else csv_file
    with open(path, newline="") as handle:
        assert next(csv.reader(handle)) == COLUMNS
    assert json_file
