"""Routine plans and the score formula (pure functions; no media here).

A routine is planned first (`plan_routine`) from a handful of latent quality factors, then rendered (video, music,
commentary) from the plan alone. The score is a fixed function of the plan (`formula_score`), documented in
docs/synthetic_routines.md:

    score = clip(10 + 24 D + 22 S + 22 T + 22 P - 8 F, 0, 100)

    D  difficulty   mean over elements of (level - 1) / 3, level in 1..4         (video, commentary)
    S  smoothness   latent smoothness in [0, 1] (jitter and jerky motion)       (video, flow)
    T  timing       1 - mean |offset of movement accents from the beat| / (0.24 beat period), clipped to [0, 1]
                                                                                (video + audio together)
    P  performance  latent energy in [0, 1]                                     (audio, commentary)
    F  falls        number of elements that end in a fall                       (video, audio, commentary)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

FPS = 25
SAMPLE_RATE = 44100
SCORE_RANGE = (0.0, 100.0)
SPLIT_FRACTIONS = (0.7, 0.15, 0.15)  # train, val, test

# Score weights (points). Without falls the maximum is BASE + sum of the four weights = 100.
BASE_POINTS = 10.0
WEIGHTS = {"difficulty": 24.0, "smoothness": 22.0, "timing": 22.0, "performance": 22.0}
FALL_PENALTY = 8.0
TIMING_TOLERANCE_BEATS = 0.24  # mean |offset| (in beat periods) at which T reaches 0
MAX_TIMING_SIGMA_BEATS = 0.3  # offset spread (in beat periods) of the least musical performer
TIMING_AR = 0.7  # beat-to-beat correlation of timing offsets (a performer off the music stays off for a while)

ELEMENT_TYPES = ("jump", "spin", "leap", "pose")
ELEMENT_PROBS = (0.35, 0.25, 0.2, 0.2)
FALL_TYPE_RISK = {"jump": 1.2, "leap": 0.8, "spin": 0.4, "pose": 0.6}
DISCIPLINES = ("skating", "gymnastics")

INTRO_S = 1.2  # opening pose before the first glide
OUTRO_S = 1.6  # closing pose
FALL_DOWN_S = 0.25  # from losing balance to the impact
FALL_LIE_S = 1.0  # on the ground
FALL_UP_S = 0.7  # getting up
FALL_EXTRA_S = FALL_DOWN_S + FALL_LIE_S + FALL_UP_S


@dataclass
class Element:
    """One element. `peak` is its musical accent (jump/leap landing, spin entry, pose hit): beat time + offset."""

    type: str  # jump | spin | leap | pose
    level: int  # 1..4 (jumps: rotations in the air; spins: revolutions / 2 - 1; leaps: height/split; poses: leg)
    name: str  # e.g. "lutz", "camel spin", "split leap"
    beat: int  # index into RoutinePlan.beat_times of the beat the peak is aimed at
    offset: float  # seconds, peak - beat time (timing error)
    start: float
    peak: float
    end: float  # includes the fall sequence when `fall`
    fall: bool = False
    fall_time: float | None = None  # moment of impact with the ground


@dataclass
class Latents:
    """Per-routine latent quality factors, all in [0, 1] except `fall_rate`."""

    ambition: float  # drives element levels
    fall_rate: float  # base per-element fall probability (scaled by level and element type)
    musicality: float  # 1 = on the beat; drives the spread of timing offsets
    smoothness: float  # 1 = fluid; 0 = jittery, stop-motion movement
    performance: float  # energy: music loudness and tempo, crowd, commentary tone


@dataclass
class RoutinePlan:
    sample_id: str
    seed: int
    index: int
    discipline: str
    duration_s: float  # a whole number of frames at FPS
    fps: int
    sample_rate: int
    tempo_bpm: float
    beat_times: list[float]
    beat_offsets: list[float]  # per beat: offset of the performer's movement accent from that beat (seconds)
    accented: list[bool]  # per beat: whether the performer marks it (glide stride or element peak)
    elements: list[Element]
    latents: Latents
    key_midi: int  # tonic of the music
    costume_hue: int  # 0..179 (OpenCV hue)
    split: str = "train"
    score: float = 0.0
    components: dict[str, float] = field(default_factory=dict)

    @property
    def beat_period(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def n_frames(self) -> int:
        return int(round(self.duration_s * self.fps))

    @property
    def n_falls(self) -> int:
        return sum(e.fall for e in self.elements)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "RoutinePlan":
        data = dict(data)
        data["elements"] = [Element(**e) for e in data["elements"]]
        data["latents"] = Latents(**data["latents"])
        return cls(**data)


NAMES = {
    "skating": {
        "jump": ("toe loop", "salchow", "loop", "flip", "lutz", "axel"),
        "spin": ("upright spin", "sit spin", "camel spin", "flying camel spin"),  # by level (the drawn position)
        "leap": ("split jump", "stag jump", "waltz jump"),
        "pose": ("spiral", "spread eagle", "Ina Bauer"),
    },
    "gymnastics": {
        "jump": ("cossack jump", "ring jump", "tuck jump", "sissone"),
        "spin": ("passe turn", "sitting pivot", "attitude turn", "illusion turn"),  # by level
        "leap": ("split leap", "stag leap", "switch leap"),
        "pose": ("arabesque balance", "passe balance", "front split balance"),
    },
}


def _element_timing(kind: str, level: int) -> tuple[float, float]:
    """(seconds before the peak, seconds after the peak) of a clean element."""
    if kind == "jump":
        return 0.4 + air_time(kind, level), 0.45
    if kind == "leap":
        return 0.3 + air_time(kind, level), 0.35
    if kind == "spin":
        return 0.3, spin_revolutions(level) / SPIN_RATE + 0.3
    return 0.45, 1.6  # pose: move into it, hold, leave


SPIN_RATE = 2.5  # revolutions per second


def air_time(kind: str, level: int) -> float:
    return 0.3 + 0.08 * level if kind == "jump" else 0.45


def spin_revolutions(level: int) -> int:
    return 2 + 2 * level


def _ar_offsets(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """AR(1) offsets with stationary standard deviation sigma."""
    eps = rng.standard_normal(n)
    out = np.empty(n)
    for i in range(n):
        out[i] = sigma * eps[i] if i == 0 else TIMING_AR * out[i - 1] + np.sqrt(1 - TIMING_AR**2) * sigma * eps[i]
    return out


def plan_routine(seed: int, index: int, *, min_seconds: float = 20.0, max_seconds: float = 40.0) -> RoutinePlan:
    """The plan of routine `index` for `seed` (independent of how many routines are generated)."""
    rng = np.random.default_rng([seed, index, 0])
    lat = Latents(
        ambition=float(rng.random()),
        fall_rate=float(rng.uniform(0.0, 0.22)),
        musicality=float(rng.random()),
        smoothness=float(rng.random()),
        performance=float(rng.random()),
    )
    discipline = DISCIPLINES[int(rng.integers(len(DISCIPLINES)))]
    n_frames = int(round(rng.uniform(min_seconds, max_seconds) * FPS))
    duration = n_frames / FPS
    tempo = float(np.clip(84 + 56 * lat.performance + rng.normal(0, 6), 76, 150))
    period = 60.0 / tempo
    first = float(rng.uniform(0.2, period))
    beat_times = np.arange(first, duration - 1e-6, period)
    sigma = (1.0 - lat.musicality) * MAX_TIMING_SIGMA_BEATS * period
    offsets = np.clip(_ar_offsets(rng, len(beat_times), sigma), -0.45 * period, 0.45 * period)

    elements: list[Element] = []
    t = INTRO_S + rng.uniform(0.3, 1.0)
    names = NAMES[discipline]
    while True:
        kind = ELEMENT_TYPES[int(rng.choice(len(ELEMENT_TYPES), p=ELEMENT_PROBS))]
        level = int(np.clip(np.rint(1 + 3 * lat.ambition + rng.normal(0, 0.6)), 1, 4))
        name = names[kind][int(rng.integers(len(names[kind])))]
        if kind == "spin":
            name = names[kind][level - 1]
        pre, post = _element_timing(kind, level)
        gap = int(rng.integers(2, 5)) * period
        candidates = np.nonzero(beat_times >= t + gap + pre)[0]
        if len(candidates) == 0:
            break
        beat = int(candidates[0])
        peak = float(beat_times[beat] + offsets[beat])
        p_fall = min(0.9, lat.fall_rate * (0.6 + 0.2 * level) * FALL_TYPE_RISK[kind])
        fall = bool(rng.random() < p_fall)
        if fall:  # jumps and leaps go down on the landing, spins and poses at their end
            fall_start = peak if kind in ("jump", "leap") else peak + post - 0.3
            end = fall_start + FALL_EXTRA_S + 0.2
            fall_time = fall_start + FALL_DOWN_S
        else:
            end, fall_time = peak + post, None
        if end > duration - OUTRO_S:
            break
        elements.append(Element(kind, level, name, beat, float(offsets[beat]), peak - pre, peak, end, fall,
                                fall_time))
        t = end

    accented = _accented_beats(beat_times, elements, duration)
    plan = RoutinePlan(
        sample_id=f"routine_{index:04d}", seed=seed, index=index, discipline=discipline, duration_s=duration,
        fps=FPS, sample_rate=SAMPLE_RATE, tempo_bpm=tempo, beat_times=[float(b) for b in beat_times],
        beat_offsets=[float(o) for o in offsets], accented=accented, elements=elements, latents=lat,
        key_midi=int(rng.integers(55, 67)), costume_hue=int(rng.integers(0, 180)),
    )
    plan.components = score_components(plan)
    plan.score = formula_score(plan)
    return plan


def _accented_beats(beat_times: np.ndarray, elements: list[Element], duration: float) -> list[bool]:
    """Glide strides mark every beat between elements; an element marks only its own peak beat."""
    out = []
    for i, b in enumerate(beat_times):
        if b < INTRO_S or b > duration - OUTRO_S:
            out.append(False)
            continue
        inside = [e for e in elements if e.start - 0.1 <= b <= e.end + 0.1]
        out.append(not inside or any(e.beat == i for e in inside))
    return out


def score_components(plan: RoutinePlan) -> dict[str, float]:
    """D, S, T, P in [0, 1] and the fall count F (see the module docstring)."""
    levels = [e.level for e in plan.elements]
    difficulty = float(np.mean([(lv - 1) / 3 for lv in levels])) if levels else 0.0
    offs = np.abs(np.asarray(plan.beat_offsets))[np.asarray(plan.accented, dtype=bool)]
    mean_off = float(offs.mean()) if offs.size else 0.0
    timing = float(np.clip(1.0 - mean_off / (TIMING_TOLERANCE_BEATS * plan.beat_period), 0.0, 1.0))
    return {"difficulty": difficulty, "smoothness": float(plan.latents.smoothness), "timing": timing,
            "performance": float(plan.latents.performance), "falls": float(plan.n_falls)}


def formula_score(plan: RoutinePlan) -> float:
    """The documented score in SCORE_RANGE, rounded to 2 decimals."""
    c = score_components(plan)
    raw = BASE_POINTS + sum(WEIGHTS[k] * c[k] for k in WEIGHTS) - FALL_PENALTY * c["falls"]
    return round(float(np.clip(raw, *SCORE_RANGE)), 2)


def assign_splits(n: int, seed: int) -> list[str]:
    """Deterministic train/val/test split of n routines, roughly 70/15/15 (at least one val and test from n = 3)."""
    rng = np.random.default_rng([seed, 0x5EED])
    n_val = max(1, round(SPLIT_FRACTIONS[1] * n)) if n >= 3 else 0
    n_test = max(1, round(SPLIT_FRACTIONS[2] * n)) if n >= 3 else 0
    names = ["val"] * n_val + ["test"] * n_test + ["train"] * (n - n_val - n_test)
    splits = [""] * n
    for position, i in enumerate(rng.permutation(n)):
        splits[int(i)] = names[position]
    return splits
