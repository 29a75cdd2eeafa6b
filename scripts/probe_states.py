"""Where does a modality's score signal get lost inside a trained checkpoint? Ridge probes on its internal states.

    .venv/bin/python scripts/probe_states.py CHECKPOINT DATASET --present commentary

Every training and test sample is run with only the `--present` modalities observed. For each stage of the model a
ridge regression (scikit-learn RidgeCV, standardised inputs, strength by leave-one-out on the training split) is
fitted on the training samples' states and scored (Spearman) on the test split:

- `pooled input`: the per-modality mean and std over segments of the raw features (the built-in baseline's view);
- `block states`: the body's last hidden states averaged over each present modality's block;
- `fusion states`: the K fusion tokens' last hidden states, averaged;
- `model score`: the checkpoint's own prediction (no probe fitted: its Spearman as it is).

The probes see every training sample under the probed subset, which the model itself rarely did (its training
masks), so they bound what a head could read from each stage. Used in docs/method.md (small data).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.linear_model import RidgeCV

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limssr_core.data.dataset import load_dataset  # noqa: E402
from limssr_core.evaluation.baseline import ALPHAS, pooled_statistics  # noqa: E402
from limssr_core.model.checkpoint import load_checkpoint  # noqa: E402
from limssr_core.model.runner import run_batches  # noqa: E402


def stage_states(model, samples, mask: tuple[bool, ...]) -> dict[str, np.ndarray]:
    """stage name -> [N, features] for `samples` run under `mask`."""
    present = [j for j, seen in enumerate(mask) if seen]
    captured = {}
    read_out = model.read_out

    def capturing_read_out(hidden, layouts, batch):  # hidden: [B, L, D]
        out = read_out(hidden, layouts, batch)
        pooled = torch.bmm(model.block_pooling(layouts, hidden.shape[1]).to(hidden.device), hidden)  # [B, M, D]
        captured["block states"] = pooled[:, present].flatten(1)
        captured["fusion states"] = out.fusion_states.mean(dim=1)  # [B, D]
        return out

    model.read_out = capturing_read_out
    rows: dict[str, list[np.ndarray]] = {"pooled input": [], "block states": [], "fusion states": [],
                                         "model score": []}
    try:
        for chunk, out in run_batches(model, samples, [mask] * len(samples)):
            for name in ("block states", "fusion states"):
                rows[name].append(captured[name].float().cpu().numpy())
            rows["model score"].append(out.y.float().cpu().numpy()[:, None])
            rows["pooled input"].append(np.stack([np.concatenate([
                pooled_statistics(np.asarray(s.features[model.config.modality_names[j]], dtype=np.float64))
                for j in present]) for s in chunk]))
    finally:
        model.read_out = read_out
    return {name: np.concatenate(parts) for name, parts in rows.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("dataset", help="a dataset with train and test splits")
    parser.add_argument("--present", default="commentary", help="comma-separated modalities observed")
    args = parser.parse_args()
    model = load_checkpoint(args.checkpoint)
    if hasattr(model, "members"):  # an ensemble (a refitted pair: its refitted model is member 1)
        print(f"{args.checkpoint} is an ensemble of {len(model.members)}: probing member 1")
        model = model.members[0]
    dataset = load_dataset(args.dataset, progress=False)
    names = model.config.modality_names
    present = args.present.split(",")
    unknown = set(present) - set(names)
    if unknown:
        raise SystemExit(f"--present: {sorted(unknown)} are not modalities of the checkpoint {names}")
    mask = tuple(name in present for name in names)
    train, test = dataset.split("train"), dataset.split("test")
    y_train = np.array([s.target for s in train])
    y_test = np.array([s.target for s in test])
    fitted, scored = stage_states(model, train, mask), stage_states(model, test, mask)
    print(f"{args.checkpoint}: only {'+'.join(present)} observed; {len(train)} train, {len(test)} test samples")
    print("| stage | features | ridge strength | test Spearman |\n|---|---|---|---|")
    for stage in fitted:
        if stage == "model score":
            rho = spearmanr(scored[stage][:, 0], y_test)[0]
            print(f"| {stage} | 1 | (none: the model's own score) | {rho:.3f} |")
            continue
        mean, scale = fitted[stage].mean(axis=0), fitted[stage].std(axis=0) + 1e-6
        ridge = RidgeCV(alphas=ALPHAS).fit((fitted[stage] - mean) / scale, y_train)
        rho = spearmanr(ridge.predict((scored[stage] - mean) / scale), y_test)[0]
        print(f"| {stage} | {fitted[stage].shape[1]} | {ridge.alpha_:g} | {rho:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
