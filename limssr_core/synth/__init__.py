"""Synthetic routines: rendered performer + synthesized music + commentary + a documented score.

    python -m limssr_core synth-routines --out DIR --n N --seed S

See docs/synthetic_routines.md for the score formula and which modality shows which factor.
"""

from limssr_core.synth.generate import generate_routines, read_plans, render_routine
from limssr_core.synth.routines import SCORE_RANGE, Element, Latents, RoutinePlan, plan_routine, formula_score

__all__ = [
    "SCORE_RANGE",
    "Element",
    "Latents",
    "RoutinePlan",
    "generate_routines",
    "plan_routine",
    "read_plans",
    "render_routine",
    "formula_score",
]
