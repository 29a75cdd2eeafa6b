"""scripts/timing_probe.py: the phase-locking statistic on signals with a known phase relation."""

import importlib.util
from pathlib import Path

import numpy as np

spec = importlib.util.spec_from_file_location(
    "timing_probe", Path(__file__).resolve().parents[2] / "scripts" / "timing_probe.py")
timing_probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(timing_probe)


def test_constant_lag_locks_and_wandering_lag_does_not():
    beat_hz, times = 2.0, (np.arange(32 * 20) + 1) / timing_probe.FPS
    onsets = np.cos(2 * np.pi * beat_hz * times)
    on_the_beat = np.cos(2 * np.pi * beat_hz * times - 0.8)  # a constant lag: the same in every segment
    rng = np.random.default_rng(0)
    drift = np.repeat(rng.uniform(0, 2 * np.pi, 20), 32)  # a new lag in every segment
    off_the_beat = np.cos(2 * np.pi * beat_hz * times - drift)
    assert timing_probe.phase_locking(on_the_beat, onsets, times, beat_hz) > 0.99
    assert timing_probe.phase_locking(off_the_beat, onsets, times, beat_hz) < 0.5
