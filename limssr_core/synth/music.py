"""Plan -> stereo soundtrack (float32, [2, n], SAMPLE_RATE): music on the beat grid, crowd, and fall impacts.

- Music: a kick on every beat, a hi-hat between beats, a chord pad (I-V-vi-IV, one chord per bar) and a plucked
  pentatonic melody. Performance (energy) sets the tempo (in the plan), the loudness and the melody's brightness.
- Crowd: a low murmur throughout, applause after each clean element (louder for harder elements and a more
  energetic performance), a final ovation scaled by performance, and none after a fall.
- Falls: a low thud (decaying ~55 Hz tone plus a noise burst) at each `fall_time`, louder than the music.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from limssr_core.synth.routines import RoutinePlan

PENTATONIC = (0, 2, 4, 7, 9)
PROGRESSION = (0, 7, 9, 5)  # I V vi IV, as semitones above the tonic (vi is minor)


def _midi_hz(m: float) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


def _lowpass(x: np.ndarray, alpha: float) -> np.ndarray:
    """One-pole low-pass, alpha in (0, 1] (smaller = darker)."""
    return lfilter([alpha], [1, alpha - 1], x)


def _add(track: np.ndarray, sound: np.ndarray, at: float, sr: int, gain: tuple[float, float]) -> None:
    """Mix a mono sound into the stereo track at time `at` with (left, right) gains, cropping at the ends."""
    i = int(round(at * sr))
    if i >= track.shape[1] or i + len(sound) <= 0:
        return
    lo, hi = max(i, 0), min(i + len(sound), track.shape[1])
    seg = sound[lo - i:hi - i]
    track[0, lo:hi] += gain[0] * seg
    track[1, lo:hi] += gain[1] * seg


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.16 * sr)) / sr
    freq = 50 + 90 * np.exp(-t / 0.03)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.05)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.05 * sr)) / sr
    noise = rng.standard_normal(len(t))
    noise = noise - _lowpass(noise, 0.3)  # high-pass
    return 0.5 * noise * np.exp(-t / 0.012)


def _pluck(freq: float, dur: float, sr: int, harmonics: int) -> np.ndarray:
    t = np.arange(int(dur * sr)) / sr
    out = sum(np.sin(2 * np.pi * freq * h * t) / h ** 1.3 for h in range(1, harmonics + 1))
    attack = np.minimum(1.0, t / 0.005)
    return out * attack * np.exp(-t / (0.25 * dur + 0.05))


def _pad(root_midi: float, minor: bool, dur: float, sr: int) -> np.ndarray:
    t = np.arange(int(dur * sr)) / sr
    third = 3 if minor else 4
    out = sum(np.sin(2 * np.pi * _midi_hz(root_midi + iv) * t) for iv in (0, third, 7, 12))
    env = np.minimum(1.0, t / 0.15) * np.minimum(1.0, (dur - t) / 0.2)
    return out * env / 4


def thud(sr: int, rng: np.random.Generator) -> np.ndarray:
    """The sound of a body hitting the ice or the mat."""
    t = np.arange(int(0.45 * sr)) / sr
    tone = np.sin(2 * np.pi * (55 + 30 * np.exp(-t / 0.04)) * t) * np.exp(-t / 0.09)
    noise = _lowpass(rng.standard_normal(len(t)), 0.08) * np.exp(-t / 0.05) * 2.5
    return tone + noise


def _applause(dur: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Clapping: dense random short bursts of band-passed noise, with a swell and fade."""
    n = int(dur * sr)
    noise = rng.standard_normal(n)
    noise = _lowpass(noise - _lowpass(noise, 0.15), 0.6)
    claps = np.zeros(n)
    idx = rng.integers(0, n, int(dur * 60))
    claps[idx] = rng.uniform(0.5, 1.0, len(idx))
    env_claps = lfilter([1.0], [1.0, -np.exp(-1 / (0.01 * sr))], claps)
    t = np.arange(n) / sr
    swell = np.minimum(1.0, t / 0.25) * np.minimum(1.0, (dur - t) / (0.4 * dur))
    return noise * (0.3 + env_claps) * swell


def synthesize_audio(plan: RoutinePlan) -> np.ndarray:
    """The routine's soundtrack, float32 [2, n_samples] in [-1, 1], exactly as long as the video."""
    sr = plan.sample_rate
    rng = np.random.default_rng([plan.seed, plan.index, 1])
    n = int(round(plan.duration_s * sr))
    music = np.zeros((2, n))
    perf = plan.latents.performance
    beats = np.asarray(plan.beat_times)
    period = plan.beat_period

    kick, hat = _kick(sr), _hat(sr, rng)
    for i, b in enumerate(beats):
        _add(music, kick * (1.0 if i % 4 == 0 else 0.75), b, sr, (0.9, 0.9))
        _add(music, hat, b + period / 2, sr, (0.25, 0.35))
    # chords: one per bar of 4 beats
    tonic = plan.key_midi - 12
    for bar, b in enumerate(beats[::4]):
        step = PROGRESSION[bar % len(PROGRESSION)]
        _add(music, _pad(tonic + step, step == 9, 4 * period, sr), b, sr, (0.35, 0.25))
    # melody: a note on most beats and some half beats
    harmonics = 2 + int(round(5 * perf))
    degree = 2
    for b in beats:
        for sub in (0.0, 0.5):
            if (sub and rng.random() > 0.35) or (not sub and rng.random() > 0.85):
                continue
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 9))
            midi = plan.key_midi + 12 * (degree // 5) + PENTATONIC[degree % 5]
            note = _pluck(_midi_hz(midi), period * (0.5 if sub else 0.9), sr, harmonics)
            _add(music, note, b + sub * period, sr, (0.25, 0.4))
    music *= 10 ** ((-24 + 14 * perf) / 20) / max(1e-9, np.abs(music).max())  # peak -24..-10 dBFS by energy

    crowd = np.zeros((2, n))
    murmur = _lowpass(rng.standard_normal((2, n)), 0.05)
    crowd += 0.004 * murmur / max(1e-9, murmur.std())
    for e in plan.elements:
        if e.fall:
            continue
        level = 0.015 + 0.02 * (e.level / 4) * (0.4 + perf)
        _add(crowd, _applause(1.6, sr, rng) * level, e.end, sr, (1.0, 0.9))
    finale = 0.02 + 0.06 * perf
    tail = max(0.5, plan.duration_s - (plan.elements[-1].end if plan.elements else 0.0) - 0.8)
    _add(crowd, _applause(tail, sr, rng) * finale, plan.duration_s - tail, sr, (0.95, 1.0))

    impacts = np.zeros((2, n))
    for e in plan.elements:
        if e.fall and e.fall_time is not None:
            _add(impacts, 0.45 * thud(sr, rng), e.fall_time, sr, (1.0, 1.0))
    out = np.tanh(music + crowd + impacts)
    return out.astype(np.float32)
