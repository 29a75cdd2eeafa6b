"""`python -m limssr_core COMMAND`: every command-line entry point, one module per command.

The library (everything outside this package) takes values, returns values and raises; only commands parse
arguments and print. Every user-facing problem is a `LimssrError`, printed as `error: ...` on stderr, never a
traceback. Exit status, the same for every command (`common.py`): 0 done; 1 done but some inputs failed (named in
the command's report); 2 refused (bad input, files or settings, usage errors included); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys

from limssr_core.commands import (
    calibrate,
    convert,
    demo,
    evaluate,
    extract,
    predict,
    push,
    score,
    synth_diagnose,
    synth_features,
    synth_routines,
    train,
)
from limssr_core.commands.common import EXIT_INTERRUPTED, EXIT_USER_ERROR
from limssr_core.errors import LimssrError

COMMANDS = (synth_features, convert, train, evaluate, calibrate, predict, score, push, demo, synth_routines, extract,
            synth_diagnose)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m limssr_core", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = subparsers.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from tqdm.contrib.logging import logging_redirect_tqdm

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr, force=True)
    for noisy in ("httpx", "urllib3", "huggingface_hub", "accelerate", "transformers", "peft"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        with logging_redirect_tqdm():
            return int(args.run(args) or 0)
    except LimssrError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
