"""The bundled example routines (assets/examples/, written by scripts/make_examples.py) and what to expect of each.

`examples.json` records each example's true score (the generator's documented formula) and the bundled checkpoint's
prediction with that checkpoint's fingerprint; `load_examples` reads it, and `is_current` tells whether the record
was made with the checkpoint now on disk (after a rebuild it is stale until `make_examples.py --record` runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app.catalog import BUNDLED_PATH, REPO_ROOT
from limssr_core.model.checkpoint import checkpoint_fingerprint

EXAMPLES_DIR = REPO_ROOT / "assets" / "examples"
RECORD_NAME = "examples.json"


@dataclass(frozen=True)
class Example:
    name: str  # strong | middling | with_a_fall
    video: Path
    commentary: Path | None  # a plain-text commentary file beside the video
    seconds: float
    falls: int
    true_score: float  # the generator's formula (docs/synthetic_routines.md)
    predicted_score: float  # the bundled checkpoint's prediction when the record was made

    @property
    def label(self) -> str:
        return f"{self.name.replace('_', ' ')} (true {self.true_score:.1f})"


@dataclass(frozen=True)
class ExampleRecord:
    examples: list[Example]
    checkpoint_fingerprint: str  # of the checkpoint the predictions were recorded with


def load_examples(folder: Path = EXAMPLES_DIR) -> ExampleRecord | None:
    """The recorded examples whose files are all present; None when there is no record."""
    path = Path(folder) / RECORD_NAME
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    examples = []
    for entry in raw["examples"]:
        video = Path(folder) / entry["video"]
        commentary = Path(folder) / entry["commentary"] if entry.get("commentary") else None
        if not video.is_file() or (commentary is not None and not commentary.is_file()):
            continue
        examples.append(Example(entry["name"], video, commentary, float(entry["seconds"]), int(entry["falls"]),
                                float(entry["true_score"]), float(entry["predicted_score"])))
    return ExampleRecord(examples, raw["checkpoint_fingerprint"])


def is_current(record: ExampleRecord, checkpoint: Path = BUNDLED_PATH) -> bool:
    """Whether the recorded predictions were made with this checkpoint's present weights and config."""
    return checkpoint_fingerprint(checkpoint) == record.checkpoint_fingerprint


def examples_note(record: ExampleRecord, current: bool) -> str:
    """Markdown under the examples: each one's true score and the prediction to expect."""
    lines = ["| example | length | falls | true score | bundled checkpoint's prediction |", "|---|---|---|---|---|"]
    for ex in record.examples:
        lines.append(f"| {ex.name.replace('_', ' ')} | {ex.seconds:.0f} s | {ex.falls} | {ex.true_score:.1f} | "
                     f"{ex.predicted_score:.1f} |")
    text = ("Synthetic routines made by this project's generator; their true score is the generator's formula. "
            "An example's first click scores it (about a minute on a CPU); later clicks show the stored result.\n\n"
            + "\n".join(lines))
    if not current:
        text += ("\n\n*These predictions were recorded with another build of the bundled checkpoint "
                 "(run `scripts/make_examples.py --record`).*")
    return text
