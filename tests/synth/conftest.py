"""Hand-made plans and a tiny generated folder shared by the synth tests."""

from __future__ import annotations

import pytest

from limssr_core.synth.routines import (
    FALL_DOWN_S,
    FALL_EXTRA_S,
    FPS,
    SAMPLE_RATE,
    Element,
    Latents,
    RoutinePlan,
    score_components,
    formula_score,
)

TINY_SIZE = (128, 96)


def hand_plan(*, levels=(1, 4, 3), fall_on: int | None = 1, offset: float = 0.05, smoothness: float = 0.5,
              performance: float = 0.25, duration: float = 8.0) -> RoutinePlan:
    """Tempo 120 (beats every 0.5 s from 0.25 s); jumps peaking on beats 4, 8, 12 (t = 2.25, 4.25, 6.25 s); every
    beat between 1.2 s and duration - 1.6 s accented with the same offset."""
    beats = [0.25 + 0.5 * i for i in range(int((duration - 0.25) / 0.5) + 1)]
    elements = []
    for k, level in enumerate(levels):
        b = 4 * (k + 1)
        peak = beats[b] + offset
        fall = fall_on == k
        end = peak + (FALL_EXTRA_S + 0.2 if fall else 0.45)
        elements.append(Element("jump", level, "lutz", b, offset, peak - 0.9, peak, end, fall,
                                peak + FALL_DOWN_S if fall else None))
    accented = [1.2 <= b <= duration - 1.6 for b in beats]
    plan = RoutinePlan(
        sample_id="routine_0000", seed=7, index=0, discipline="skating", duration_s=duration, fps=FPS,
        sample_rate=SAMPLE_RATE, tempo_bpm=120.0, beat_times=beats, beat_offsets=[offset] * len(beats),
        accented=accented, elements=elements,
        latents=Latents(ambition=0.5, fall_rate=0.1, musicality=0.5, smoothness=smoothness, performance=performance),
        key_midi=60, costume_hue=60)
    plan.components = score_components(plan)
    plan.score = formula_score(plan)
    return plan


@pytest.fixture
def make_plan():
    return hand_plan


@pytest.fixture(scope="session")
def tiny_routines(tmp_path_factory):
    """Three 4-5 s routines at 128x96 (generated once per session)."""
    from limssr_core.synth import generate_routines

    out = tmp_path_factory.mktemp("routines")
    plans = generate_routines(out, 3, seed=11, min_seconds=4, max_seconds=5, size=TINY_SIZE, progress=False)
    return out, plans
