"""scripts/build_demo_checkpoint.py from an extracted dataset: train, export float16, re-evaluate the export."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_demo_checkpoint.py"


def load_script():
    spec = importlib.util.spec_from_file_location("build_demo_checkpoint", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(*args: str) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_build_from_features_then_reevaluate_the_export(synth_dataset, tmp_path):
    export = tmp_path / "export"
    run_script("--features", str(synth_dataset), "--work", str(tmp_path / "work"), "--out", str(export),
               "--backbone", "tiny-random", "--length", "4", "--epochs", "2", "--lr", "3e-4", "--dropout", "0.2",
               "--lora-r", "4", "--weight-decay", "0.001", "--batch-size", "8", "--device", "cpu", "--no-progress")
    card = (export / "README.md").read_text()
    assert "not a judging model" in card
    assert ("--epochs 2 --lr 0.0003 --weight-decay 0.001 --dropout 0.2 --lora-r 4 --batch-size 8 --backbone "
            "tiny-random --length 4 --precision bf16") in card
    assert "make demo-checkpoint" not in card  # not the default recipe
    assert card.startswith("---\n") and "model-index" in card and not (export / "MODEL_CARD.md").exists()
    config = json.loads((export / "limssr_config.json").read_text())
    assert config["lora_r"] == 4 and config["projector_dropout"] == 0.2
    assert config["training"]["mixed_precision"] == "bf16"  # the recipe's precision, on CPU too
    shipped = json.loads((export / "test_evaluation.json").read_text())
    assert (export / "baseline.safetensors").is_file() and card.count("## Against the built-in baseline") == 1
    assert shipped["subsets"][-1]["n"] > 0

    out = run_script("--reevaluate", "--features", str(synth_dataset), "--out", str(export))
    assert "Full set" in out
    card = (export / "README.md").read_text()
    assert card.count("## Evaluation on the test split") == 1
    assert "float16 weights as shipped" in card
    # the baseline's section stays, once, after the test table, and now beside the float16 figures
    assert card.count("## Against the built-in baseline") == 1
    assert card.index("## Against the built-in baseline") > card.index("## Evaluation on the test split")
    comparison = card.split("## Against the built-in baseline")[1]
    full_row = next(line for line in comparison.splitlines() if line.startswith("| **Full set**"))
    assert full_row.split("|")[3].strip() == f"{reevaluated_full(export):.3f}"  # LIMSSR's column: the float16 figure
    reevaluated = json.loads((export / "test_evaluation.json").read_text())
    assert reevaluated["subsets"][-1]["n"] == shipped["subsets"][-1]["n"]
    # float16 weights on CPU against the float32 weights they came from: the same ranking up to one swap of two
    # neighbours (a near-tie float16 rounding may flip; on 6 test routines one swap moves rho by 0.057), near-equal
    # errors
    n = shipped["subsets"][-1]["n"]  # the full set: the last subset
    one_swap = 6 * 2 / (n * (n ** 2 - 1))
    assert abs(reevaluated["full"]["spearman"] - shipped["full"]["spearman"]) <= one_swap + 1e-9
    assert abs(reevaluated["full"]["mse"] - shipped["full"]["mse"]) <= 0.05 * shipped["full"]["mse"]


def reevaluated_full(export: Path) -> float:
    return json.loads((export / "test_evaluation.json").read_text())["full"]["spearman"]


def test_replace_section_replaces_in_place_or_inserts_after_its_anchor():
    replace_section = load_script().replace_section
    card = "# T\n\n## A\n\nold a\n\n## B\n\nb\n"
    assert replace_section(card, "## A", "## A\n\nnew a") == "# T\n\n## A\n\nnew a\n\n## B\n\nb\n"
    assert replace_section(card, "## B", "## B\n\nnew b") == "# T\n\n## A\n\nold a\n\n## B\n\nnew b\n"
    assert replace_section(card, "## C", "## C\n\nc", after="## A") == (
        "# T\n\n## A\n\nold a\n\n## C\n\nc\n\n## B\n\nb\n")
    assert replace_section(card, "## C", "## C\n\nc", after="## B") == card + "\n## C\n\nc\n"
    assert replace_section(card, "## C", "## C\n\nc") == card + "\n## C\n\nc\n"
    assert replace_section(card, "## A", "") == "# T\n\n## B\n\nb\n"
    assert replace_section(card, "## B", "") == "# T\n\n## A\n\nold a\n"
    assert replace_section("# T\n\n### A\n\nx\n", "## A", "## A\n\ny") == "# T\n\n### A\n\nx\n\n## A\n\ny\n"
    # a card as the demo build writes it, then re-evaluated twice: the same card
    real = "# T\n\n## Evaluation on the test split\n\n| t |\n\n## Against the built-in baseline\n\n| old |\n"
    once = replace_section(real, "## Against the built-in baseline", "## Against the built-in baseline\n\n| new |",
                           after="## Evaluation on the test split")
    assert once == real.replace("| old |", "| new |") and replace_section(
        once, "## Against the built-in baseline", "## Against the built-in baseline\n\n| new |") == once
