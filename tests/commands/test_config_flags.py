"""`train`'s model and training flags are generated from the config fields: none missing, none extra."""

import argparse

import pytest

from limssr_core.commands import build_parser
from limssr_core.commands.config_flags import ALIASES, SHORTHANDS, flag_name
from limssr_core.config import LimssrConfig, TrainingConfig, field_comments
from limssr_core.training.run import settable_fields


def train_parser() -> argparse.ArgumentParser:
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices["train"]


def group_dests(parser, title_start: str) -> set[str]:
    group = next(g for g in parser._action_groups if (g.title or "").startswith(title_start))
    return {action.dest for action in group._group_actions}


@pytest.mark.parametrize("cls, title", [(LimssrConfig, "model"), (TrainingConfig, "training")])
def test_every_settable_field_has_exactly_one_flag_and_every_flag_a_field(cls, title):
    fields = {f.name for f in settable_fields(cls)}
    dests = group_dests(train_parser(), title)
    shorthands = set(SHORTHANDS) if cls is LimssrConfig else set()
    assert dests - shorthands == fields
    for shorthand in shorthands & dests:
        assert set(SHORTHANDS[shorthand]) <= fields


def test_flag_help_and_default_come_from_the_field():
    parser = train_parser()
    by_dest = {a.dest: a for a in parser._actions}
    comments = field_comments(LimssrConfig) | field_comments(TrainingConfig)
    for cls in (LimssrConfig, TrainingConfig):
        for field in settable_fields(cls):
            action = by_dest[field.name]
            assert flag_name(field.name) in action.option_strings
            assert comments[field.name] and action.help.startswith(comments[field.name].replace("%", "%%"))
    assert "(default: 4)" in by_dest["num_fusion_tokens"].help
    assert by_dest["num_fusion_tokens"].option_strings == ["--num-fusion-tokens", *ALIASES["num_fusion_tokens"]]


def test_flags_not_given_leave_the_preset_and_field_defaults_in_charge():
    args = train_parser().parse_args(["--data", "d", "--out", "o", "--fusion-tokens", "6", "--precision", "bf16",
                                      "--lora-targets", "q_proj,v_proj", "--no-compile"])
    assert args.num_fusion_tokens == 6 and args.mixed_precision == "bf16" and args.compile is False
    assert args.lora_targets == ["q_proj", "v_proj"]
    assert not hasattr(args, "epochs") and not hasattr(args, "lora_r")  # not given: preset / field default


def test_refit_flags_take_their_choices_only(capsys):
    args = train_parser().parse_args(["--data", "d", "--out", "o", "--refit", "off", "--refit-keep", "refit"])
    assert args.refit == "off" and args.refit_keep == "refit"
    for wrong in (["--refit"], ["--refit", "yes"], ["--refit-keep", "first"]):  # the flag takes a value since `auto`
        with pytest.raises(SystemExit):
            train_parser().parse_args(["--data", "d", "--out", "o", *wrong])
    assert "invalid choice" in capsys.readouterr().err
