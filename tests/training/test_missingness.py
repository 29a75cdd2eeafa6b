import numpy as np
import pytest

from limssr_core.data.collate import Sample
from limssr_core.errors import LimssrError
from limssr_core.training.missingness import MaskPolicy, MissingnessMode, fixed_patterns

NAMES = ["video", "audio", "text"]


def samples(n, absent=None):
    absent = absent or {}
    return [Sample(f"s{i}", {m: np.zeros((2, 1), np.float32) for m in NAMES if m not in absent.get(i, ())}, 0.5,
                   "train") for i in range(n)]


def test_parse_modes():
    assert MissingnessMode.parse("dataset").kind == "dataset"
    assert MissingnessMode.parse("fixed:0.3") == MissingnessMode("fixed", 0.3)
    assert MissingnessMode.parse("per-batch").kind == "per-batch"
    for bad in ("fixed:1.5", "fixed:x", "random"):
        with pytest.raises(LimssrError):
            MissingnessMode.parse(bad)


def test_fixed_patterns_keep_one_pattern_per_sample_at_the_rate():
    data = samples(2000)
    patterns = fixed_patterns(data, NAMES, 0.3, seed=0)
    masks = np.array([patterns[s.sample_id] for s in data])
    assert masks.any(axis=1).all()
    assert 0.25 < 1 - masks.mean() < 0.35
    policy = MaskPolicy(MissingnessMode("fixed", 0.3), data, NAMES, seed=0)
    assert policy.masks(data[:5]) == policy.masks(data[:5]) == [patterns[s.sample_id] for s in data[:5]]
    assert fixed_patterns(data, NAMES, 0.3, seed=0) == patterns


def test_fixed_patterns_never_observe_what_is_absent_on_disk():
    data = samples(50, absent={i: ("audio",) for i in range(50)})
    patterns = fixed_patterns(data, NAMES, 0.5, seed=1)
    assert all(not mask[1] for mask in patterns.values())


def test_dataset_mode_uses_what_is_on_disk():
    data = samples(3, absent={1: ("video", "text")})
    policy = MaskPolicy(MissingnessMode("dataset"), data, NAMES, seed=0)
    assert policy.masks(data) == [(True, True, True), (False, True, False), (True, True, True)]


def test_per_batch_mode_applies_one_subset_to_the_whole_batch():
    data = samples(8)
    policy = MaskPolicy(MissingnessMode("per-batch"), data, NAMES, seed=0)
    seen = set()
    for _ in range(60):
        masks = policy.masks(data)
        assert len(set(masks)) == 1 and any(masks[0])
        seen.add(masks[0])
    assert len(seen) == 7


def test_fixed_patterns_depend_on_the_sample_id_not_the_list_order():
    data = samples(40)
    forward = fixed_patterns(data, NAMES, 0.4, seed=3)
    backward = fixed_patterns(list(reversed(data)), NAMES, 0.4, seed=3)
    assert forward == backward
    assert fixed_patterns(data[:10], NAMES, 0.4, seed=3) == {k: forward[k] for k in list(forward)[:10]}
    assert fixed_patterns(data, NAMES, 0.4, seed=4) != forward


def test_effective_missing_rate():
    data = samples(500)
    policy = MaskPolicy(MissingnessMode("fixed", 0.3), data, NAMES, seed=0)
    assert 0.25 < policy.effective_missing_rate(data) < 0.35
    assert MaskPolicy(MissingnessMode("dataset"), data, NAMES, seed=0).effective_missing_rate(data) == 0.0


def test_modality_dropout_withholds_only_what_the_mode_shows_afresh_each_step():
    data = samples(2000, absent={i: ("text",) for i in range(0, 2000, 2)})
    plain = MaskPolicy(MissingnessMode("fixed", 0.3), data, NAMES, seed=0)
    policy = MaskPolicy(MissingnessMode("fixed", 0.3), data, NAMES, seed=0, modality_dropout=0.4)
    shown = np.array(plain.masks(data))
    first, second = np.array(policy.masks(data)), np.array(policy.masks(data))
    assert not (first & ~shown).any()  # never reveals a modality the mode withholds (or the disk lacks)
    assert first.any(axis=1).all() and second.any(axis=1).all()  # keeps at least one
    assert (first != second).any()  # drawn afresh every step
    dropped = 1 - first[shown].mean()
    assert 0.25 < dropped < 0.4  # about the rate, a little less where it had to keep the only one
    assert policy.observed(data[0]) == plain.observed(data[0])  # what training sees of the data is unchanged
    with pytest.raises(LimssrError, match="modality-dropout"):
        MaskPolicy(MissingnessMode("dataset"), data, NAMES, seed=0, modality_dropout=1.0)
