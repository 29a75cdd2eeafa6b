"""Where in the routine the score came from: the score change when each moment is occluded.

A moment is a window of `width` segments (default 4) every `stride` segments (default 4: the moments tile the routine,
each a distinct stretch of time, about 5 s with the bundled checkpoint) on the video's timeline, the last one flush
with the end, so the windows cover the whole routine. Overlapping moments (stride 2) would double the cost for a
smoother line of the same information: on a 3-minute routine the tiled line costs about half a scoring request
(docs/app.md, "Speed"). Occluding a moment shows the model that
modality's learned missing-token embedding at those segments (never zeros), for every present modality on the
timeline together ("all") and, on request (`per_modality`), for each one alone; a modality with another segment
count occludes the same stretch of time. Its `effect` is the routine's score minus the occluded score: positive where
the moment raised the score, negative where it lowered it. Only the scoring windows that contain the moment are
re-run, and each occluded sequence only from its first occluded position on (`model/runner.occluded_predictions`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

TIMELINE_WIDTH = 4  # segments per occluded moment
TIMELINE_STRIDE = 4  # segments between moment starts (= the width: moments tile the routine)
TOP_MOMENTS = 3
PER_MODALITY = False  # also occlude each modality alone (one line per modality; about 2-3x the combined line's cost)


@dataclass
class TimelinePoint:
    start_segment: int  # of the reference modality
    end_segment: int
    start_s: float | None  # seconds, when the segment duration is known
    end_s: float | None
    effect: dict[str, float]  # "all" and each occluded modality -> score minus occluded score (score units)


@dataclass
class Timeline:
    reference: str  # the modality whose segments the moments count in
    width: int
    stride: int
    segment_seconds: float | None
    modalities: list[str]  # occluded one by one (besides "all"); empty unless per modality was asked for
    points: list[TimelinePoint] = field(default_factory=list)
    raised: list[TimelinePoint] = field(default_factory=list)  # the moments that raised the score most
    lowered: list[TimelinePoint] = field(default_factory=list)  # and lowered it most


def moment_windows(length: int, width: int = TIMELINE_WIDTH, stride: int = TIMELINE_STRIDE) -> list[tuple[int, int]]:
    """[start, end) windows of `width` every `stride` segments covering [0, length), the last flush with the end."""
    width = max(1, min(width, length))
    starts = list(range(0, length - width + 1, max(1, stride)))
    if starts[-1] + width < length:
        starts.append(length - width)
    return [(a, a + width) for a in starts]


def scaled(window: tuple[int, int], reference_length: int, length: int) -> tuple[int, int]:
    """The same stretch of time in a modality with `length` segments."""
    a, b = window
    return math.floor(a * length / reference_length), max(math.floor(a * length / reference_length) + 1,
                                                          math.ceil(b * length / reference_length))


def occlusion_masks(window: tuple[int, int], targets: list[str], lengths: dict[str, int], reference: str
                    ) -> dict[str, np.ndarray]:
    """modality -> bool [T_m]: the segments to occlude for one moment."""
    masks = {}
    for name in targets:
        a, b = scaled(window, lengths[reference], lengths[name])
        mask = np.zeros(lengths[name], dtype=bool)
        mask[a:b] = True
        masks[name] = mask
    return masks


def top_moments(points: list[TimelinePoint], raised: bool, k: int = TOP_MOMENTS) -> list[TimelinePoint]:
    chosen = [p for p in points if (p.effect["all"] > 0 if raised else p.effect["all"] < 0)]
    return sorted(chosen, key=lambda p: -p.effect["all"] if raised else p.effect["all"])[:k]
