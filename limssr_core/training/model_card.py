"""The body of a checkpoint's card (README.md, model/hub.py adds the Hub metadata): what it was trained on, how,
and its evaluation table."""

from __future__ import annotations

from limssr_core.config import LimssrConfig
from limssr_core.evaluation.metrics import comparison_table, markdown_table

TEST_HEADING = "## Evaluation on the test split"
BASELINE_HEADING = "## Against the built-in baseline"


def render_model_card(config: LimssrConfig, summary: dict, selection_split: str, kept: str, n_train: int,
                      test_summary: dict | None = None, notes: str = "", baseline: dict | None = None,
                      processes: int = 1) -> str:
    """`kept`: which weights the checkpoint holds, in words (Trainer.kept_text); `baseline`: the built-in ridge
    baseline's summaries {"select": ..., "test": ...} on the same splits; `processes`: data-parallel processes."""
    training = config.training
    lo, hi = config.score_range
    modalities = "\n".join(f"| {m.name} | {m.dim} | `{m.extractor}` | {m.length} |" for m in config.modalities)
    lines = [
        f"# LIMSSR checkpoint: {config.score_name}",
        "",
        f"Predicts **{config.score_name}** on a {lo:g}-{hi:g} scale from any non-empty subset of its modalities.",
        "",
        "## Model",
        f"- Backbone: `{config.backbone}` (fingerprint `{config.backbone_identity.get('fingerprint')}`), "
        f"LoRA r={config.lora_r}, alpha={config.lora_alpha} on {config.lora_targets}",
        f"- Fusion tokens K={config.num_fusion_tokens}; fusion regulariser: {config.fusion_reg}",
        "",
        "| modality | dim | extractor | T |",
        "|---|---|---|---|",
        modalities,
        "",
        "## Training",
        f"- Data: {config.dataset.get('name', '?')} ({n_train} training samples), "
        f"training-time missingness `{training.train_missing}`",
        f"- AdamW lr {training.lr:g}, weight decay {training.weight_decay:g}, batch {training.batch_size}, "
        f"{training.epochs} epochs (warm-up {training.warmup_epochs}), seed {training.seed}",
        f"- Processes: {processes}" + (f" (data parallel: {training.batch_size * processes} samples per step)"
                                       if processes > 1 else ""),
        f"- Kept: {kept}",
        "",
        f"## Evaluation on the selection split ({selection_split})",
        "",
        markdown_table(summary),
    ]
    if test_summary is not None:
        lines += ["", TEST_HEADING, "", markdown_table(test_summary)]
    if baseline:
        for split, key, model_summary in (("test", "test", test_summary), (selection_split, "select", summary)):
            if baseline.get(key) is not None and model_summary is not None:
                lines += ["", baseline_section(split, model_summary, baseline[key])]
                break
    if notes:
        lines += ["", "## Notes", "", notes]
    return "\n".join(lines) + "\n"


def baseline_section(split: str, model_summary: dict, baseline_summary: dict) -> str:
    """The card's "Against the built-in baseline" section: LIMSSR and the ridge baseline on one split, side by side."""
    return "\n".join([
        BASELINE_HEADING, "",
        "A ridge regression on each modality's pooled segment statistics (mean and std) with mask indicators, fitted "
        "on the same training split under the same training masks (`baseline.safetensors`; `evaluate --baseline` "
        "recomputes it on any split). Where it matches or beats LIMSSR, the LLM does not earn its keep on this data.",
        "", f"On the {split} split:", "", comparison_table(model_summary, baseline_summary)])
