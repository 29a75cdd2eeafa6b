"""`score`: a start list of unlabelled videos -> a ranked table; a bad file gets its row; reruns resume."""

import csv

import pytest

from limssr_core.commands import main
from tests.conftest import save_default_modalities_checkpoint


@pytest.fixture(scope="module")
def start_list(tmp_path_factory):
    from limssr_core.synth import generate_routines

    root = tmp_path_factory.mktemp("competition")
    generate_routines(root / "videos", 2, seed=8, min_seconds=5, max_seconds=6, size=(160, 120), progress=False)
    (root / "videos" / "broken.mp4").write_text("not a video\n" * 50)
    checkpoint = save_default_modalities_checkpoint(root / "ckpt")
    return root, checkpoint


def test_a_start_list_becomes_a_ranked_table_and_one_bad_file_never_stops_it(start_list, capsys):
    root, checkpoint = start_list
    out = root / "results.csv"
    assert main(["score", str(root / "videos"), "--checkpoint", str(checkpoint), "--out", str(out),
                 "--no-progress"]) == 1  # done, but one input failed
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["rank", "sample_id", "score", "interval_low", "interval_high", "percentile", "present",
                             "missing", "warnings"]
    scored = [r for r in rows if r["rank"]]
    assert [r["rank"] for r in scored] == ["1", "2"] and float(scored[0]["score"]) >= float(scored[1]["score"])
    assert scored[0]["present"] == "video+flow+audio+commentary" and scored[0]["interval_low"] == ""  # uncalibrated
    failed = [r for r in rows if not r["rank"]]
    assert [r["sample_id"] for r in failed] == ["broken"] and "not scored" in failed[0]["warnings"]
    assert "NOT SCORED" in capsys.readouterr().out

    journal = root / "results.csv.progress.jsonl"
    lines = journal.read_text().splitlines()
    assert main(["score", str(root / "videos"), "--checkpoint", str(checkpoint), "--out", str(out),
                 "--no-progress"]) == 1
    appended = journal.read_text().splitlines()[len(lines):]
    assert len(appended) == 1 and '"broken"' in appended[0]  # the scored two were resumed, not redone
    with open(out, newline="") as handle:
        assert [r["score"] for r in csv.DictReader(handle)][:2] == [r["score"] for r in scored]


def test_score_reports_writes_one_html_report_per_scored_routine(start_list, tmp_path):
    root, checkpoint = start_list
    out, reports = tmp_path / "results.csv", tmp_path / "reports"
    assert main(["score", str(root / "videos"), "--checkpoint", str(checkpoint), "--out", str(out), "--reports",
                 str(reports), "--no-progress"]) == 1
    with open(out, newline="") as handle:
        scored = [r["sample_id"] for r in csv.DictReader(handle) if r["rank"]]
    assert sorted(p.stem for p in reports.glob("*.html")) == sorted(scored)  # none for the broken file
    page = (reports / f"{scored[0]}.html").read_text()
    assert "Timeline: where the score came from" in page and page.count("plotly.js v") == 1
    assert "<td>commentary</td><td>present</td>" in page and not list(reports.glob("*.partial"))
