"""Command-line flags generated from the config dataclasses: one flag per settable field, its help the field's
comment, its default the field's default. A flag cannot drift from its field because it is made from it.

Flag names are the field names with dashes (`lora_r` -> `--lora-r`); `ALIASES` keeps a few shorter spellings, and
`SHORTHANDS` sets several fields at once. Flags default to "not given", so that a preset fills in what the user
left out and explicit flags win.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing

from limssr_core.config import REFIT_CHOICES, REFIT_KEEP_CHOICES, TRAIN_ATTENTION_CHOICES, field_comments
from limssr_core.training.averaging import KEEP_CHOICES

ALIASES = {"num_fusion_tokens": ("--fusion-tokens",), "mixed_precision": ("--precision",),
           "prompt_style": ("--prompt",)}
SHORTHANDS = {"dropout": ("projector_dropout", "head_dropout")}  # flag dest -> the fields it sets
CHOICES = {"fusion_reg": ("triplet", "cosine-hinge"), "prompt_style": ("studio", "paper"), "select_on": ("val", "test"),
           "select_metric": ("average", "full"), "keep_weights": KEEP_CHOICES, "refit": REFIT_CHOICES,
           "refit_keep": REFIT_KEEP_CHOICES, "train_attention": TRAIN_ATTENTION_CHOICES,
           "mixed_precision": ("auto", "no", "bf16", "fp16"), "log_with": ("none", "tensorboard", "trackio", "wandb")}


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _argument_kwargs(field: dataclasses.Field, hint) -> dict:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    if origin in (list, tuple) or (args and any(typing.get_origin(a) in (list, tuple) for a in args)):
        return {"type": _comma_list, "metavar": "A,B,..."}
    base = next((a for a in args if a is not type(None)), hint) if args else hint
    kwargs = {"type": base}
    if field.name in CHOICES:
        kwargs["choices"] = CHOICES[field.name]
    return kwargs


def _default_text(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return ""
    if isinstance(value, (list, tuple)):
        value = ",".join(map(str, value))
    text = str(value)
    return f" (default: {text})" if len(text) <= 40 else ""


def add_config_flags(group: argparse._ArgumentGroup, cls: type, fields: list[dataclasses.Field]) -> list[str]:
    """Add one flag per field to `group`; returns the dests added (the field names)."""
    comments = field_comments(cls)
    hints = typing.get_type_hints(cls)
    for field in fields:
        help_text = comments.get(field.name, "").replace("%", "%%") + _default_text(field)
        group.add_argument(flag_name(field.name), *ALIASES.get(field.name, ()), dest=field.name,
                           default=argparse.SUPPRESS, help=help_text, **_argument_kwargs(field, hints[field.name]))
    return [f.name for f in fields]


def given(args: argparse.Namespace, names: list[str]) -> dict:
    """The subset of `names` the user actually passed on the command line."""
    return {name: getattr(args, name) for name in names if hasattr(args, name)}
