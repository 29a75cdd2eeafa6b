"""Plan -> a few sentences of commentator text: informative, but noisy and incomplete on purpose.

What the commentary tells (each fact independently, with the probabilities below):
- elements by name with a difficulty word (P_ELEMENT); the level word is off by one level with P_WRONG_LEVEL;
- falls (P_FALL), and clean landings of jumps/leaps (P_CLEAN);
- timing, only when clearly good or poor (P_TIMING);
- smoothness, rarely (P_SMOOTH);
- the tone of the opening and closing remarks follows performance (energy) plus noise;
- neutral filler sentences that carry no information.
"""

from __future__ import annotations

import numpy as np

from limssr_core.synth.routines import Element, RoutinePlan

P_ELEMENT = 0.75
P_WRONG_LEVEL = 0.1
P_FALL = 0.9
P_CLEAN = 0.3
P_TIMING = 0.4
P_SMOOTH = 0.25
TONE_NOISE = 0.15

PERFORMERS = ("Mira Castell", "Jonas Ekberg", "Lena Voss", "Tomasz Rudy", "Aiko Mirren", "Sofia Delaunay",
              "Pavel Ostrin", "Nadia Kell", "Elio Brandt", "Yuna Sato", "Clara Ferro", "Marek Lind")
ROTATIONS = {1: "single", 2: "double", 3: "triple", 4: "quadruple"}
LEVEL_WORDS = {1: ("simple", "basic", "easy"), 2: ("solid", "moderate", "standard"),
               3: ("difficult", "demanding", "hard"), 4: ("very difficult", "spectacular", "extremely hard")}
OPENING = {
    "high": ("{name} takes the {floor} with real energy tonight.", "What an electric start from {name}!",
             "{name} comes out full of confidence and the arena is buzzing."),
    "mid": ("{name} begins the routine.", "Here is {name}, starting calmly.", "{name} settles into the opening."),
    "low": ("{name} starts rather cautiously.", "A quiet, subdued opening from {name}.",
            "{name} looks a little tense at the start."),
}
CLOSING = {
    "high": ("A captivating performance, the crowd is on its feet!", "Wonderful expression, the audience loved it.",
             "Full of life from start to finish."),
    "mid": ("A reasonable performance overall.", "Some nice moments in that one.", "A steady routine, no more."),
    "low": ("That lacked energy, I am afraid.", "A rather flat performance tonight.",
            "The connection with the audience never really came."),
}
FILLER = ("The music choice is a classic.", "The costume catches the light nicely.",
          "This is the second group of the evening.", "The judges will be watching closely.",
          "The {floor} looks in good condition today.", "Plenty of supporters in the stands.")
FALL_LINES = ("Oh, and {pron} falls on the {el}!", "A fall on the {el}, that will cost points.",
              "{Pron} goes down after the {el}, a hard fall.", "Unfortunately a fall there, on the {el}.")
CLEAN_LINES = ("Clean landing.", "Nicely landed.", "{Pron} lands it well.")
ELEMENT_LINES = ("Now {a} {desc}.", "{Pron} goes for {a} {desc}.", "There is {a} {desc}.",
                 "Next comes {a} {desc}.", "{a_cap} {desc} from {name}.")
TIMING_GOOD = ("Beautifully on the beat.", "Every movement lands right on the music.")
TIMING_POOR = ("{Pron} is slightly off the music there.", "The timing with the music is not quite right.")
SMOOTH_GOOD = ("Lovely flowing movement.", "So smooth between the elements.")
SMOOTH_POOR = ("The movement looks a bit jerky.", "Some shaky transitions there.")


def _article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def describe_element(e: Element, level: int, rng: np.random.Generator) -> str:
    """E.g. 'triple lutz', 'difficult camel spin', 'split leap of basic difficulty'."""
    if e.type == "jump":
        return f"{ROTATIONS[level]} {e.name}" if rng.random() < 0.7 else f"{_pick(rng, LEVEL_WORDS[level])} {e.name}"
    word = _pick(rng, LEVEL_WORDS[level])
    if rng.random() < 0.7:
        return f"{word} {e.name}"
    return f"{e.name} of {word.split()[-1]} difficulty" if level > 1 else f"{e.name}, nothing too hard"


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _tone(value: float) -> str:
    return "high" if value > 0.66 else "low" if value < 0.33 else "mid"


def write_commentary(plan: RoutinePlan) -> str:
    """The commentary text: one sentence per line."""
    rng = np.random.default_rng([plan.seed, plan.index, 4])
    name = _pick(rng, PERFORMERS)
    pron = "she" if rng.random() < 0.5 else "he"
    floor = "ice" if plan.discipline == "skating" else "floor"
    fmt = {"name": name, "pron": pron, "Pron": pron.capitalize(), "floor": floor}
    lines = [_pick(rng, OPENING[_tone(plan.latents.performance + rng.normal(0, TONE_NOISE))]).format(**fmt)]
    if rng.random() < 0.5:
        lines.append(_pick(rng, FILLER).format(**fmt))
    for i, e in enumerate(plan.elements):
        level = e.level
        if rng.random() < P_WRONG_LEVEL:
            level = int(np.clip(level + (1 if rng.random() < 0.5 else -1), 1, 4))
        desc = describe_element(e, level, rng)
        if rng.random() < P_ELEMENT:
            a = _article(desc)
            lines.append(_pick(rng, ELEMENT_LINES).format(a=a, a_cap=a.capitalize(), desc=desc, **fmt))
        if e.fall and rng.random() < P_FALL:
            lines.append(_pick(rng, FALL_LINES).format(el=e.name, **fmt))
        elif not e.fall and e.type in ("jump", "leap") and rng.random() < P_CLEAN:
            lines.append(_pick(rng, CLEAN_LINES).format(**fmt))
        if i == len(plan.elements) // 2:
            timing = plan.components.get("timing", 0.5)
            if timing > 0.75 and rng.random() < P_TIMING:
                lines.append(_pick(rng, TIMING_GOOD))
            elif timing < 0.3 and rng.random() < P_TIMING:
                lines.append(_pick(rng, TIMING_POOR).format(**fmt))
            smooth = plan.latents.smoothness
            if smooth > 0.75 and rng.random() < P_SMOOTH:
                lines.append(_pick(rng, SMOOTH_GOOD))
            elif smooth < 0.25 and rng.random() < P_SMOOTH:
                lines.append(_pick(rng, SMOOTH_POOR))
    if rng.random() < 0.3:
        lines.append(_pick(rng, FILLER).format(**fmt))
    lines.append(_pick(rng, CLOSING[_tone(plan.latents.performance + rng.normal(0, TONE_NOISE))]).format(**fmt))
    return "\n".join(lines) + "\n"
