"""Upgrade checkpoints written by earlier versions to today's layout, in place, without retraining.

    .venv/bin/python scripts/upgrade_checkpoint.py assets/demo_checkpoint [MORE ...]

The card becomes README.md with Hub metadata, the adapter names its base model by Hub id, and limssr_config.json
drops machine paths (limssr_core.model.checkpoint.upgrade_checkpoint).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limssr_core.errors import LimssrError  # noqa: E402
from limssr_core.model.checkpoint import upgrade_checkpoint  # noqa: E402


def main(folders: list[str]) -> int:
    if not folders:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for folder in folders:
        try:
            changes = upgrade_checkpoint(folder)
        except LimssrError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"{folder}: " + ("; ".join(changes) if changes else "already up to date"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
