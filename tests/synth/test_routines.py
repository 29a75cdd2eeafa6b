"""Plans and the score formula (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from limssr_core.synth.commentary import LEVEL_WORDS, ROTATIONS, write_commentary
from limssr_core.synth.routines import SCORE_RANGE, assign_splits, plan_routine, score_components, formula_score


def test_plan_is_deterministic_per_seed_and_index():
    a, b = plan_routine(3, 5), plan_routine(3, 5)
    assert a.to_json() == b.to_json()
    assert plan_routine(4, 5).to_json() != a.to_json()
    assert plan_routine(3, 6).to_json() != a.to_json()


def test_plan_respects_duration_and_frame_grid():
    for i in range(20):
        p = plan_routine(0, i, min_seconds=20, max_seconds=40)
        assert 20 - 0.04 <= p.duration_s <= 40 + 0.04
        assert p.n_frames == pytest.approx(p.duration_s * p.fps)
        assert p.elements, "a 20-40 s routine has elements"
        for prev, e in zip(p.elements, p.elements[1:]):
            assert prev.end <= e.start
        assert all(e.end <= p.duration_s for e in p.elements)
        assert SCORE_RANGE[0] <= p.score <= SCORE_RANGE[1]


def test_score_matches_hand_computation(make_plan):
    plan = make_plan(levels=(1, 4, 3), fall_on=1, offset=0.05, smoothness=0.5, performance=0.25)
    d = (0 + 1 + 2 / 3) / 3
    t = 1 - 0.05 / (0.24 * 0.5)
    expected = 10 + 24 * d + 22 * 0.5 + 22 * t + 22 * 0.25 - 8 * 1
    assert formula_score(plan) == pytest.approx(round(expected, 2), abs=1e-9)
    c = score_components(plan)
    assert c == pytest.approx({"difficulty": d, "smoothness": 0.5, "timing": t, "performance": 0.25, "falls": 1})


def test_score_is_clipped_to_range(make_plan):
    best = make_plan(levels=(4, 4, 4), fall_on=None, offset=0.0, smoothness=1.0, performance=1.0)
    assert formula_score(best) == SCORE_RANGE[1]
    worst = make_plan(levels=(1, 1, 1), fall_on=None, offset=0.2, smoothness=0.0, performance=0.0)
    for e in worst.elements:
        e.fall = True
    assert formula_score(worst) == SCORE_RANGE[0]


@pytest.mark.parametrize("change, direction", [
    (dict(levels=(3, 4, 3)), +1),  # harder elements
    (dict(fall_on=None), +1),  # no fall
    (dict(offset=0.1), -1),  # further off the beat
    (dict(smoothness=0.9), +1),
    (dict(performance=0.8), +1),
])
def test_each_factor_moves_the_score_in_the_documented_direction(make_plan, change, direction):
    base = make_plan()
    assert np.sign(formula_score(make_plan(**change)) - formula_score(base)) == direction


def test_factors_have_comparable_weight_over_many_plans():
    plans = [plan_routine(1, i) for i in range(400)]
    scores = np.array([p.score for p in plans])
    for name, sign in (("difficulty", 1), ("smoothness", 1), ("timing", 1), ("performance", 1), ("falls", -1)):
        values = np.array([p.components[name] for p in plans])
        r = sign * np.corrcoef(values, scores)[0, 1]
        assert 0.25 < r < 0.7, (name, r)  # every factor matters, none explains everything
    assert scores.std() > 8


def test_splits_are_deterministic_and_roughly_70_15_15():
    s = assign_splits(200, 3)
    assert s == assign_splits(200, 3)
    assert (s.count("train"), s.count("val"), s.count("test")) == (140, 30, 30)
    assert sorted(assign_splits(3, 0)) == ["test", "train", "val"]


def test_commentary_mentions_falls_and_names_difficulty():
    with_fall, mentioned = 0, 0
    level_hits = []
    for i in range(300):
        p = plan_routine(2, i)
        text = write_commentary(p)
        assert text == write_commentary(p)  # deterministic
        if p.n_falls:
            with_fall += 1
            mentioned += "fall" in text.lower()
        words_hard = sum(text.count(w) for w in (*LEVEL_WORDS[3], *LEVEL_WORDS[4], ROTATIONS[3], ROTATIONS[4]))
        words_easy = sum(text.count(w) for w in (*LEVEL_WORDS[1], ROTATIONS[1], *LEVEL_WORDS[2], ROTATIONS[2]))
        level_hits.append((words_hard - words_easy, p.components["difficulty"]))
    assert with_fall > 50 and mentioned / with_fall > 0.8
    hits = np.array(level_hits)
    assert np.corrcoef(hits[:, 0], hits[:, 1])[0, 1] > 0.5  # commentary alone says a lot about difficulty
