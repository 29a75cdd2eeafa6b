"""Bad text is never scored as text: undecodable bytes, control characters, subtitles without a cue; long text is
cut with a warning (no model needed for these checks)."""

import os

from limssr_core.features.commentary import MAX_CHARS, cap_text, garbage_share, read_text_file, text_problem


def test_random_bytes_are_not_text(tmp_path):
    path = tmp_path / "noise.srt"
    path.write_bytes(os.urandom(4000))
    text = read_text_file(path)
    assert garbage_share(text) > 0.05
    assert "not readable text" in text_problem(text, is_subtitle_file=True)


def test_control_characters_are_refused_and_clean_text_passes():
    assert "control characters" in text_problem("Clean jump.\x00\x01\x02\x03\x04\x05 " * 3, False)
    assert text_problem("A clean triple lutz.\nA shaky landing.\tThen a spin.", False) is None


def test_a_subtitle_file_needs_a_valid_cue():
    assert "without a single valid cue" in text_problem("1\nno time here\n\n2\nnor here\n", True)
    assert text_problem("1\nno time here\n", False) is None  # plain text is fine when it is not an .srt
    assert text_problem("1\n00:00:01,000 --> 00:00:02,000\nA jump.\n", True) is None


def test_long_commentary_is_cut_with_a_warning_that_says_what():
    text = ("A sentence about the routine.\n" * 2000)
    kept, warning = cap_text(text)
    assert len(kept) <= MAX_CHARS and kept.endswith(".") and str(len(text)) in warning
    assert cap_text("short") == ("short", None)


def test_extraction_marks_bad_commentary_missing_with_its_reason(media, tmp_path):
    from limssr_core.features import extract_sample

    noise = tmp_path / "noise.srt"
    noise.write_bytes(os.urandom(3000))
    result = extract_sample(media["normal"], commentary_path=noise, modalities=("commentary",))
    status = result.status["commentary"]
    assert not status.present and status.kind == "degraded" and "not readable text" in status.reason
    assert "commentary" not in result.features and any("not readable" in w for w in result.meta["warnings"])
