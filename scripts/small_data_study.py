"""The small-data study of issue #13 (docs/method.md, "Small data"): LIMSSR vs the built-in baseline at N = 60, 200.

    .venv/bin/python scripts/small_data_study.py --work build/small_data            # data, then every run
    .venv/bin/python scripts/small_data_study.py --work build/small_data --only data  # render + extract only
    .venv/bin/python scripts/small_data_study.py --work build/small_data --subsets 60/default,200/default  # per subset

The routines are those of the demo build (`scripts/build_demo_checkpoint.py`: 1200 synthetic routines, seed 0), of
which only the needed ones are rendered: its 180 test routines and the first 200 of its training routines (by
index). Dataset views cut `labels.csv` to the first N training rows plus the same 180 test rows, with no
`split=val` rows, so validation comes out of the N routines themselves. Each run trains with the library's
defaults plus the recipe's settings, `smollm2-135m`, `fixed:0.3`, and records the test table of the model and of
the built-in baseline (fitted under the same training masks), with its wall time. Every stage is resumable; the
results go to `<work>/results.json` and, with `--report`, to a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limssr_core.data.dataset import load_dataset  # noqa: E402
from limssr_core.data.generic import LabelRow, read_labels, write_labels  # noqa: E402

SEED, DEMO_N, TRAIN_ROWS = 0, 1200, 200
LENGTH = "video=32,flow=32,audio=32,commentary=16"  # the demo build's T per modality
SIZES = (60, 200)
# name -> (model settings, training settings) on top of the library defaults; "default" is what `train` does.
# Since 2026-12-06 the library refits by default where validation is carved (`--refit auto`): every recipe here
# that keeps one model by its best epoch is then a refitted run; results recorded before that date are first runs.
RECIPES: dict[str, tuple[dict, dict]] = {
    "default": ({}, {}),
    # which weights are kept (training/averaging.py): the best epoch (the default), or the second half's mean
    "best-epoch": ({}, {"keep_weights": "best-epoch"}),
    "average": ({}, {"keep_weights": "average"}),
    # the first study's "default"; its "no-standardise" is today's default
    "standardise": ({"standardise_features": True}, {}),
    "modality-dropout": ({}, {"modality_dropout": 0.3}),
    # less capacity and a shorter run for a few dozen routines (the default run fits 51 routines by epoch 14 of 30):
    # LoRA rank 4, the RG preset's projector dropout, 15 epochs, the second half's weights averaged
    "low-capacity": ({"lora_r": 4, "lora_alpha": 8, "projector_dropout": 0.35}, {"epochs": 15,
                                                                                 "keep_weights": "average"}),
    # no dropout on the LoRA branch: its random masks cost about a third of a CPU forward pass (issue #13's 5 minutes)
    "no-lora-dropout": ({"lora_dropout": 0.0}, {}),
    # run-to-run noise: the default with another seed (weights, batch order, crops, the fixed:0.3 masks and the
    # carved validation split all change, so the baseline is refitted under its own masks)
    "seed-1": ({}, {"seed": 1}),
    # crop augmentation: the demo routines (16-31 segments) fit one T = 32 block, so full crops show every epoch the
    # same sequences; each training crop here spans a random 60-100 % of the routine (test: the whole routine)
    "crop-60": ({}, {"min_crop_cover": 0.6}),
    "crop-60-seed-1": ({}, {"min_crop_cover": 0.6, "seed": 1}),  # beside default-seed-1
    # a K-fold ensemble in one checkpoint (training/folds.py): 3 members, each selected on its own held-out fold
    "folds-3": ({}, {"folds": 3}),
    # the same with `--keep-weights auto`: 20 samples per held-out fold are below its 40, so each member keeps the
    # mean of its second half's weights and validates once (a third of the time of validating every epoch)
    "folds-3-auto": ({}, {"folds": 3, "keep_weights": "auto"}),
    # the ablation: the same sequence and training, the LLM body replaced by an identity (see IdentityBody)
    "identity-body": ({"lora_targets": ["q_proj"]}, {}),
    # after the best epoch is chosen on the carved validation split, train again on all N up to it (training/refit.py);
    # the library's default (`--refit auto`) since 2026-12-06, so "default" is the same recipe from then on
    "refit": ({}, {"refit": "on"}),
    # the first run alone (the default before 2026-12-06): the epoch chosen on the carved split, weights of 85 % of N
    "no-refit": ({}, {"refit": "off"}),
    # the fusion-token regulariser at a tenth (a hundredth) of its weight: at N = 60 the published triplet form (about
    # 1.0 at the start, weight 1) outweighs 10 x the score loss (0.12-0.17) until it is driven to 0 around epochs
    # 11-14 (the 2026-12-07 runs' metrics.csv)
    "fusion-reg-0.1": ({"fusion_reg_weight": 0.1}, {}),
    "fusion-reg-0.01": ({"fusion_reg_weight": 0.01}, {}),
    # run-to-run noise of the above: weight 0.1 with another seed (masks, split and baseline change with it)
    "fusion-reg-0.1-seed-1": ({"fusion_reg_weight": 0.1}, {"seed": 1}),
    "default-seed-1": ({}, {"seed": 1}),  # the default's draw under the same seed, beside the line above
    # more refitted models (training.refits): two more beside the default's pair, other initial weights and batch
    # order on the same samples and masks; the study scores every member once and each mean of them (run_members)
    "refits-3-seed-1": ({}, {"seed": 1, "refits": 3}),
    "refits-3": ({}, {"refits": 3}),
    # half the peak learning rate (1e-4 instead of 2e-4): at N = 60 a run takes 7-8 optimiser steps an epoch and the
    # refitted models' figures vary by their initial weights as much as any recipe; a gentler step for few samples
    "lr-1e-4": ({}, {"lr": 1e-4}),
    # the other way: twice the peak learning rate (at 1e-4 the regulariser's phase lasted to epoch 19 and seed 0 fell
    # to 0.424 / 0.336 against the default's 0.596 / 0.437)
    "lr-4e-4": ({}, {"lr": 4e-4}),
    "lr-4e-4-seed-1": ({}, {"lr": 4e-4, "seed": 1}),
    "lr-8e-4": ({}, {"lr": 8e-4}),  # the trend on seed 0 beyond 4e-4
    # principal components (model/projector.py): each modality wider than 64 features enters its projector as the
    # training split's 64 principal components; at N = 60 the model trails the baseline most on the widest inputs
    # (video 1280, commentary 384) and matches it on the narrow ones (flow 128, audio 140)
    "components-64": ({"feature_components": 64}, {}),
    # a third seed for 4e-4, beside the default on the same seed (masks, split and baseline change with it)
    "default-seed-2": ({}, {"seed": 2}),
    "lr-4e-4-seed-2": ({}, {"lr": 4e-4, "seed": 2}),
    # our cosine-hinge regulariser in place of the published triplet: it does not pull a token index's states of
    # different routines together
    "cosine-hinge": ({"fusion_reg": "cosine-hinge"}, {}),
    # commentary read as one token: each routine's sentence vectors averaged (the direction a ridge reads at 0.33),
    # in a view of its own (commentary_mean_view) with T = 1 for commentary; the baseline then sees that mean only
    "commentary-mean": ({}, {}),
}
POOLED_LENGTH = LENGTH.replace("commentary=16", "commentary=1")  # the commentary-mean recipe's T per modality


class IdentityBody(torch.nn.Module):
    """The ablation's body: returns its input sequence (the prompt-framed embeddings) as the hidden states.

    It keeps the embedded backbone's frozen embedding table (so the prompt tokens are the same) and one unused
    `q_proj` so LoRA attaches as usual; nothing else of the LLM is left, so what the heads see is the projected
    features, placeholders and fusion-token embeddings themselves.
    """

    def __init__(self, embeddings: torch.nn.Embedding):
        super().__init__()
        self.embed_tokens = embeddings
        self.q_proj = torch.nn.Linear(1, 1)
        self.config = None

    def get_input_embeddings(self) -> torch.nn.Embedding:
        return self.embed_tokens

    def forward(self, inputs_embeds, attention_mask=None, **_):
        from types import SimpleNamespace

        return SimpleNamespace(last_hidden_state=inputs_embeds)  # [B, L, D] unchanged


def identity_backbone():
    from limssr_core.model.backbone import SMOLLM2, Backbone, load_backbone

    real = load_backbone(SMOLLM2)
    body = IdentityBody(real.body.get_input_embeddings())
    body.requires_grad_(False)
    identity = dict(real.identity, name="identity-body", num_layers=0, fingerprint="identity-" + real.identity[
        "fingerprint"])
    return Backbone(body, real.tokenizer, identity)


def render_subset(routines: Path) -> None:
    """Render the demo build's test routines and its first TRAIN_ROWS training routines (resumable)."""
    from concurrent.futures import ProcessPoolExecutor

    from limssr_core.synth.generate import render_routine, write_labels_csv
    from limssr_core.synth.routines import assign_splits, plan_routine

    plans = [plan_routine(SEED, i) for i in range(DEMO_N)]
    for plan, split in zip(plans, assign_splits(DEMO_N, SEED)):
        plan.split = split
    chosen = [p for p in plans if p.split == "test"] + [p for p in plans if p.split == "train"][:TRAIN_ROWS]
    routines.mkdir(parents=True, exist_ok=True)
    todo = [p for p in chosen if not (routines / f"{p.sample_id}.txt").is_file()]
    with ProcessPoolExecutor(max_workers=2) as pool:
        for done, _ in enumerate(pool.map(render_routine, todo, [routines] * len(todo),
                                          [(320, 240)] * len(todo)), 1):
            if done % 20 == 0:
                print(f"rendered {done}/{len(todo)}", flush=True)
    write_labels_csv(routines / "labels.csv", chosen)


def dataset_view(features: Path, out: Path, n_train: int) -> Path:
    """A dataset folder holding the first n_train training rows and every test row (feature folders linked)."""
    rows = read_labels(features)
    train = [r for r in rows if r.split == "train"][:n_train]
    test = [r for r in rows if r.split == "test"]
    if len(train) < n_train:
        raise SystemExit(f"{features}: only {len(train)} training rows, {n_train} asked")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(features / "dataset.json", out / "dataset.json")
    link = out / "features"  # every feature file of the full extraction; labels.csv decides what is used
    if not link.exists():
        os.symlink((features / "features").resolve(), link)
    write_labels(out, [LabelRow(r.sample_id, r.score, r.split) for r in train + test])
    return out


def commentary_mean_view(view: Path, out: Path) -> Path:
    """A copy of `view` whose commentary is each sample's mean sentence vector ([1, 384]); other modalities linked."""
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    for name in ("dataset.json", "labels.csv"):
        shutil.copy2(view / name, out / name)
    (out / "features").mkdir(exist_ok=True)
    for folder in (view / "features").resolve().iterdir():
        target = out / "features" / folder.name
        if folder.name != "commentary":
            if not target.exists():
                os.symlink(folder, target)
            continue
        target.mkdir(exist_ok=True)
        for array in folder.glob("*.npy"):
            if not (target / array.name).exists():
                np.save(target / array.name, np.load(array).mean(axis=0, keepdims=True))
    return out


def run_one(view: Path, run: Path, recipe: str, precision: str) -> dict:
    from limssr_core.training.run import build_config, train

    model_settings, training_settings = RECIPES[recipe]
    length = LENGTH
    if recipe == "commentary-mean":
        view, length = commentary_mean_view(view, view.parent / f"{view.name}-commentary-mean"), POOLED_LENGTH
    dataset = load_dataset(view, progress=False)
    config = build_config(dataset, length=length, model=dict(model_settings),
                          training={"train_missing": "fixed:0.3", "seed": SEED, "mixed_precision": precision}
                          | training_settings)
    if recipe == "identity-body":
        return run_identity(config, dataset, run)
    if config.training.refits > 1:
        return run_members(config, dataset, run)
    result = train(config, dataset, run, device="cpu", resume=run.exists(), progress=False)
    seconds = sum(row["seconds"] for row in result.history)
    return {"model": result.test_summary, "baseline": result.baseline_summaries.get("test"),
            "best_epoch": result.best_epoch, "keep": result.keep, "train_seconds": round(seconds, 1)}


def run_identity(config, dataset, run: Path) -> dict:
    """Train and test with the identity body, as `train` would with the real one: the same selection rule and, where
    the library refits (`--refit auto` on a carved split), the refit and the pair; the baseline is the default
    run's. A pair's "members" are its refitted model and its first run, each alone."""
    from limssr_core.evaluation.evaluate import evaluate_model
    from limssr_core.model.checkpoint import load_checkpoint
    from limssr_core.model.ensemble import LimssrEnsemble
    from limssr_core.training.refit import refit_applies, train_with_refit
    from limssr_core.training.trainer import Trainer

    if refit_applies(config.training, dataset):
        _, result, _ = train_with_refit(config, dataset, run, backbone=identity_backbone(), device="cpu",
                                        resume=run.exists(), progress=False)
    else:
        result = Trainer(config, dataset, run, backbone=identity_backbone(), progress=False, device="cpu").fit(
            resume=run.exists())
    model = load_checkpoint(run, backbone=identity_backbone())
    test = dataset.split("test")
    summary, _ = evaluate_model(model, test, progress=False)
    row = {"model": summary, "baseline": None, "best_epoch": result.best_epoch, "keep": result.keep,
           "train_seconds": round(sum(row["seconds"] for row in result.history), 1)}
    if isinstance(model, LimssrEnsemble):
        row["members"] = {name: evaluate_model(member, test, progress=False)[0]
                          for name, member in zip(("refitted", "first run"), model.members)}
    return row


def run_members(config, dataset, run: Path) -> dict:
    """Train a run with several refitted models (`--refits N`) as `train` would, then score its members on test in one
    pass (each (sample, subset) once per member) and every mean of them that the study reads: each alone, the pair
    (refit 1 + first run, the default), the pair plus 1 .. N - 1 more refits, and the refits alone. `train`'s own
    test table is the mean of all members ("all" here); the baseline is that of the run with the same seed."""
    import numpy as np

    from limssr_core.evaluation.evaluate import evaluate_predictor
    from limssr_core.model.checkpoint import load_checkpoint
    from limssr_core.model.runner import run_batches
    from limssr_core.training.refit import train_with_refit

    _, result, _ = train_with_refit(config, dataset, run, device="cpu", resume=run.exists(), progress=False)
    model = load_checkpoint(run)
    names, test = model.config.modality_names, dataset.split("test")
    cache: dict[tuple, np.ndarray] = {}  # (sample id, mask) -> every member's normalised prediction [K]

    def predict_all(samples, masks):
        ys = np.concatenate([out.member_y.float().numpy() for _, out in run_batches(model, samples, masks)])
        cache.update({(s.sample_id, m): y for s, m, y in zip(samples, masks, ys)})
        return ys.mean(1)

    everyone, _ = evaluate_predictor(predict_all, test, names, model.config, progress=False)
    count = len(model.members)
    names_in_load_order = ["refit 1", "first run"] + [f"refit {k}" for k in range(2, count)]
    chosen = {name: (k,) for k, name in enumerate(names_in_load_order)} | {"pair": (0, 1)}
    chosen |= {f"pair + {k - 2} refit{'s' if k > 3 else ''}": tuple(range(k)) for k in range(3, count + 1)}
    chosen["refits only"] = (0,) + tuple(range(2, count))
    members = {}
    for label, picked in chosen.items():
        members[label], _ = evaluate_predictor(
            lambda samples, masks, picked=picked: np.array([cache[(s.sample_id, m)][list(picked)].mean()
                                                            for s, m in zip(samples, masks)]),
            test, names, model.config, progress=False)
    return {"model": everyone, "baseline": None, "best_epoch": result.best_epoch, "keep": result.keep,
            "train_seconds": round(sum(row["seconds"] for row in result.history), 1), "members": members}


def figures(summary: dict) -> tuple[float, float]:
    return summary["full"]["spearman"], summary["average_incomplete"]["spearman"]


def kept(row: dict) -> str:
    if str(row.get("keep", "")).startswith("ensemble"):
        return row["keep"]
    if row.get("keep") == "average":
        from limssr_core.training.averaging import first_averaged_epoch

        return f"mean of epochs {first_averaged_epoch(row['best_epoch']) + 1}-{row['best_epoch']}"
    if row.get("keep") == "refit":  # refitted up to the first run's epoch; scored as the pair unless refit_keep refit
        return f"refit to epoch {row['best_epoch']}"
    return f"epoch {row['best_epoch']}"


def baseline_of(results: dict, key: str) -> dict | None:
    """A run's baseline; runs that recorded none (the same masks as the size's default) show the default's."""
    return results[key]["baseline"] or results.get(f"{key.split('/')[0]}/default", {}).get("baseline")


def report(results: dict) -> str:
    hardware = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    lines = [f"Machine: {hardware}. Test: the demo build's 180 test routines; rho = Spearman.", "",
             "| N train | recipe | LIMSSR full rho | LIMSSR avg-incomplete rho | baseline full rho | "
             "baseline avg-incomplete rho | kept weights | train minutes |",
             "|---|---|---|---|---|---|---|---|"]
    for key, row in sorted(results.items(), key=lambda kv: (int(kv[0].split("/")[0]), kv[0])):
        n, recipe = key.split("/")
        full, average = figures(row["model"])
        base = baseline_of(results, key)
        base_full, base_average = figures(base) if base else (float("nan"), float("nan"))
        lines.append(f"| {n} | {recipe} | {full:.3f} | {average:.3f} | {base_full:.3f} | {base_average:.3f} | "
                     f"{kept(row)} | {row['train_seconds'] / 60:.1f} |")
    return "\n".join(lines) + "\n"


def subset_table(results: dict, keys: list[str]) -> str:
    """Spearman per modality subset of the given runs, each followed by its baseline unless an earlier column already
    shows the same one (same masks): the per-subset tables of the bench notes. A key is a results.json key, or
    KEY:MEMBER for one member of a run that recorded them (`members`, e.g. `60/refits-3:pair`)."""
    columns: list[tuple[str, dict]] = []
    for key in keys:
        run_key, _, member = key.partition(":")
        row = results[run_key]
        columns.append((key, row["members"][member] if member else row["model"]))
        base = baseline_of(results, run_key)
        if base and all(base != shown for _, shown in columns):
            columns.append((f"baseline of {run_key}", base))
    lines = ["| subset | " + " | ".join(name for name, _ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for i, subset in enumerate(columns[0][1]["subsets"]):
        cells = [f"{summary['subsets'][i]['spearman']:.3f}" for _, summary in columns]
        lines.append(f"| {' + '.join(subset['modalities'])} | " + " | ".join(cells) + " |")
    cells = ["**{:.3f} / {:.3f}**".format(*figures(summary)) for _, summary in columns]
    lines.append("| **full / avg-incomplete** | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="build/small_data")
    parser.add_argument("--only", choices=("data", "runs"), help="one stage only")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--report", help="also write the results table (markdown) to this file")
    parser.add_argument("--subsets", help="print the per-subset table of these results.json keys (KEY or "
                        "KEY:MEMBER, comma-separated) and stop")
    parser.add_argument("--precision", default="auto",
                        help="training autocast: auto (bf16 on AMX / AVX512-BF16 CPUs, else fp32) | bf16 | no")
    args = parser.parse_args()
    work = Path(args.work)
    routines, features = work / "routines", work / "features"
    if args.subsets:
        print(subset_table(json.loads((work / "results.json").read_text()), args.subsets.split(",")), end="")
        return 0
    if args.only in (None, "data"):
        from limssr_core.features import extract_dataset

        render_subset(routines)
        extract_dataset([routines], features, labels_csv=routines / "labels.csv", score_range=(0.0, 100.0),
                        progress=False)
        print(f"features ready in {features}", flush=True)
    if args.only == "data":
        return 0
    results_path = work / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    for n in map(int, args.sizes.split(",")):
        view = dataset_view(features, work / f"n{n}", n)
        for recipe in args.recipes.split(","):
            key = f"{n}/{recipe}"
            if key in results:
                continue
            print(f"training {key}", flush=True)
            results[key] = run_one(view, work / "runs" / f"n{n}-{recipe}", recipe, args.precision)
            results[key]["precision"] = args.precision
            results_path.write_text(json.dumps(results, indent=1) + "\n")
            print(f"{key}: model {figures(results[key]['model'])} in {results[key]['train_seconds']:.0f} s",
                  flush=True)
    table = report(results)
    print(table)
    if args.report:
        Path(args.report).write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
