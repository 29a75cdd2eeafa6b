"""What every command shares: the exit-status rule, the device flag, and writing results."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# Exit status, the same for every command:
EXIT_OK = 0  # done
EXIT_SOME_FAILED = 1  # done, but some inputs failed; each is named in the command's report (extract)
EXIT_USER_ERROR = 2  # refused: a problem with the input, files or settings (argparse's usage errors too)
EXIT_INTERRUPTED = 130  # Ctrl-C


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when a GPU is visible, else CPU) | cpu | cuda | cuda:N; cuda without a GPU "
                             "is an error (default: %(default)s)")


def write_json(data: dict, path: str | Path | None) -> str:
    """The JSON text of a result; also written to `path` when given. Returns the text (for printing)."""
    text = json.dumps(data, indent=2)
    if path:
        Path(path).write_text(text + "\n")
    return text
