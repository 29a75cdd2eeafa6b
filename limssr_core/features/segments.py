"""Pure segmentation and timeline functions (no media, no models).

A sample's timeline is cut into fixed windows of `segment_frames` frames at the video's own frame rate, like the
benchmark releases (e.g. 32 frames). Audio and timed commentary are placed on the same windows by time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    index: int
    start_frame: int  # inclusive, in constant-rate output frames
    end_frame: int  # exclusive
    start_s: float
    end_s: float

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame


def segment_bounds(num_frames: int, segment_frames: int, fps: float, min_tail: float = 0.5) -> list[Segment]:
    """Fixed windows of `segment_frames` frames.

    A trailing partial window is kept when it has at least `min_tail * segment_frames` frames; a clip shorter than
    one window becomes a single (short) segment. Zero frames gives an empty list.
    """
    if segment_frames < 1:
        raise ValueError(f"segment_frames must be >= 1, got {segment_frames}")
    if num_frames <= 0 or fps <= 0:
        return []
    starts = list(range(0, num_frames, segment_frames))
    last_len = num_frames - starts[-1]
    if len(starts) > 1 and last_len < segment_frames and last_len < min_tail * segment_frames:
        starts.pop()
    out = []
    for i, start in enumerate(starts):
        end = min(start + segment_frames, num_frames)
        out.append(Segment(i, start, end, start / fps, end / fps))
    return out


def time_windows(duration_s: float, window_s: float, min_tail: float = 0.5) -> list[Segment]:
    """Windows of `window_s` seconds over a duration (audio-only inputs have no video frames to count)."""
    if duration_s <= 0 or window_s <= 0:
        return []
    count = int(np.floor(duration_s / window_s))
    tail = duration_s - count * window_s
    if count == 0 or tail >= min_tail * window_s:
        count += 1
    return [Segment(i, 0, 0, i * window_s, min((i + 1) * window_s, duration_s)) for i in range(count)]


def pool_segments(array: np.ndarray, target: int) -> np.ndarray:
    """Average-pool a [T, d] sequence to exactly `target` rows (adaptive pooling; T <= target is returned as is)."""
    length = array.shape[0]
    if length <= target:
        return array
    edges = np.linspace(0, length, target + 1)
    rows = []
    for i in range(target):
        lo = int(np.floor(edges[i]))
        hi = max(lo + 1, int(np.ceil(edges[i + 1])))
        rows.append(array[lo:hi].mean(axis=0))
    return np.stack(rows).astype(array.dtype, copy=False)


def apply_cap(array: np.ndarray, max_segments: int | None, policy: str) -> np.ndarray:
    """Limit a [T, d] sequence to `max_segments` rows: 'pool' averages neighbours, 'crop' keeps the first rows."""
    if not max_segments or array.shape[0] <= max_segments:
        return array
    if policy == "pool":
        return pool_segments(array, max_segments)
    if policy == "crop":
        return array[:max_segments]
    raise ValueError(f"segment cap policy must be 'pool' or 'crop', got {policy!r}")


def constant_rate_indices(timestamps: np.ndarray, fps: float) -> np.ndarray:
    """Map a constant-rate grid at `fps` onto decoded frames (nearest earlier-or-equal frame by timestamp).

    Used for variable-frame-rate video, so that every window covers the same span of time. Returns, for each grid
    frame k (time k / fps from the first frame), the index of the decoded frame shown at that time.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size == 0:
        return np.zeros(0, dtype=np.int64)
    ts = ts - ts[0]
    count = int(np.floor(ts[-1] * fps + 1e-6)) + 1
    grid = np.arange(count) / fps
    idx = np.searchsorted(ts, grid + 1e-6, side="right") - 1
    return np.clip(idx, 0, ts.size - 1).astype(np.int64)


def is_variable_rate(timestamps: np.ndarray, tolerance: float = 0.1) -> bool:
    """True when frame durations differ from their median by more than `tolerance` (relative) for >2% of frames."""
    ts = np.sort(np.asarray(timestamps, dtype=np.float64))
    if ts.size < 3:
        return False
    deltas = np.diff(ts)
    median = float(np.median(deltas))
    if median <= 0:
        return False
    off = np.abs(deltas - median) > tolerance * median
    return bool(off.mean() > 0.02)


def overlap_weights(cue_spans: list[tuple[float, float]], segments: list[Segment]) -> np.ndarray:
    """[T, n_cues] seconds of overlap between each segment and each cue span."""
    weights = np.zeros((len(segments), len(cue_spans)), dtype=np.float64)
    for j, (lo, hi) in enumerate(cue_spans):
        for seg in segments:
            weights[seg.index, j] = max(0.0, min(hi, seg.end_s) - max(lo, seg.start_s))
    return weights


def place_on_timeline(
    cue_spans: list[tuple[float, float]], embeddings: np.ndarray, segments: list[Segment]
) -> np.ndarray:
    """Put timed text embeddings [n_cues, d] onto the segments -> [T, d].

    A segment takes the overlap-weighted mean of the cues it overlaps; a segment no cue overlaps takes the cue
    nearest to it in time (commentary is sparse; we never write zeros as if they were data).
    """
    if not segments or embeddings.shape[0] == 0:
        return np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 0), dtype=np.float32)
    weights = overlap_weights(cue_spans, segments)
    centres = np.array([(lo + hi) / 2 for lo, hi in cue_spans])
    for seg in segments:
        if weights[seg.index].sum() <= 0:
            mid = (seg.start_s + seg.end_s) / 2
            weights[seg.index, int(np.argmin(np.abs(centres - mid)))] = 1.0
    weights /= weights.sum(axis=1, keepdims=True)
    return (weights @ embeddings.astype(np.float64)).astype(np.float32)


def segment_seconds(meta: dict) -> float | None:
    """Seconds per feature segment of an extracted sample (`extract_sample` meta): frames per segment at its frame
    rate, stretched when more segments than `max_segments` were pooled down to the cap (policy "pool")."""
    segment = meta.get("segment", {})
    if not segment.get("frames") or not segment.get("fps"):
        return None
    seconds = segment["frames"] / segment["fps"]
    count, cap = segment.get("count") or 0, segment.get("max_segments")
    if segment.get("policy") == "pool" and cap and count > cap:
        seconds *= count / cap
    return seconds


def untimed_modalities(meta: dict) -> tuple[str, ...]:
    """Modalities of an extracted sample that are not on the video's timeline: plain-text commentary (one vector per
    sentence, said at no known moment)."""
    return ("commentary",) if meta.get("commentary", {}).get("kind") == "plain" else ()
