"""Training: paper optimisation (AdamW, warm-up + cosine to 0.1 lr, clip 1.0), real training-time missingness,
model selection on a validation split, resumable after interruption (at most the current epoch is lost).

A run folder is itself the (best) checkpoint, plus `state/` for resuming and `metrics.csv`; `log_with` sends the same
per-epoch figures to an experiment tracker through accelerate (tensorboard, trackio, wandb).
"""

from __future__ import annotations

import csv
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from limssr_core.model.backbone import Backbone, attention_implementation, load_backbone, lora_inputs_uncast
from limssr_core.model.checkpoint import save_checkpoint
from limssr_core.config import LimssrConfig
from limssr_core.data.collate import Sample, collate
from limssr_core.data.dataset import FeatureDataset
from limssr_core.errors import DataError, LimssrError
from limssr_core.evaluation.evaluate import evaluate_predictor, selection_score
from limssr_core.evaluation.metrics import rho_text
from limssr_core.model.limssr import LimssrModel
from limssr_core.model.projector import principal_components, segment_statistics
from limssr_core.model.runner import normalised_predictions
from limssr_core.runtime import apply_cpu_threads, resolve_device, resolve_precision, resolve_train_attention
from limssr_core.training.averaging import WeightAverage, first_averaged_epoch, resolve_keep
from limssr_core.training.launch import EpochOrder, check_tracker, make_accelerator
from limssr_core.training.missingness import MaskPolicy, MissingnessMode
from limssr_core.training.model_card import render_model_card
from limssr_core.training.schedule import lr_lambda, warmup_steps
from limssr_core.training.splits import Splits, make_splits

log = logging.getLogger(__name__)

STATE_FILE = "state/trainer_state.pt"
REFIT_STATE_FILE = "state/refit_state.pt"  # the second run of --refit, beside the first's state
METRICS_FILE = "metrics.csv"
METRIC_COLUMNS = ["epoch", "steps", "train_loss", "score_loss", "consistency_loss", "fusion_reg", "lr",
                  "val_full_spearman", "val_average_spearman", "selection", "best", "seconds"]


@dataclass
class TrainResult:
    run_dir: Path
    best_epoch: int
    best_selection: float
    best_summary: dict
    keep: str = "best-epoch"  # best-epoch | average (training/averaging.py) | refit (training/refit.py)
    kept: str = ""  # which weights the checkpoint holds, in words (the card's "Kept" line)
    history: list[dict] = field(default_factory=list)
    test_summary: dict | None = None
    baseline_summaries: dict = field(default_factory=dict)  # the built-in baseline on "select" (and "test")
    processes: int = 1  # data-parallel processes that trained the model
    main_process: bool = True  # False in the other processes of a multi-process run (they write and report nothing)
    selection_split: str = "validation"  # what best_selection was measured on (an ensemble: out-of-fold)


@dataclass
class RefitPlan:
    """What the second run of `--refit` repeats: the first run's chosen epoch and its validation figures."""

    epochs: int  # the chosen epoch, 1-based: the refit stops after it
    summary: dict  # the first run's validation table at that epoch (the card shows it: nothing is left to validate on)
    selection: float  # its selection figure
    member: int = 1  # which of training.refits refitted models: 2.. draw their own weights, order and crops


def draw_seed(seed: int, member: int) -> int:
    """The seed of a refitted model's initial weights, batch order, crops and per-step draws: the run's own for the
    first, far from any other run's seed for the others (`EpochOrder` takes seed * 1000 + epoch). The training masks
    and the carved validation split always come from the run's seed, so every member sees the same data."""
    return seed + 7919 * (member - 1)


def resumable_state(model: LimssrModel) -> dict:
    """Everything trainable: heads, new token rows, LoRA weights, batch-norm buffers (not the frozen backbone)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
            if not k.startswith("backbone.") or "lora_" in k}


class Trainer:
    def __init__(self, config: LimssrConfig, dataset: FeatureDataset, run_dir: str | Path, *,
                 backbone: Backbone | None = None, progress: bool = True, device: str = "auto",
                 fold: int | None = None, refit: RefitPlan | None = None):
        """`fold`: train one member of a K-fold ensemble (training/folds.py), holding that fold out for selection.
        `refit`: the second run of `--refit` (training/refit.py): train + val, stopping after the chosen epoch."""
        self.config, self.dataset, self.run_dir, self.progress = config, dataset, Path(run_dir), progress
        training = config.training
        self.mode = MissingnessMode.parse(training.train_missing)
        self.splits = make_splits(dataset, config, fold)
        self.refit = refit
        if refit is not None:  # every labelled sample trains; the validation split only names the card's figures
            self.splits = Splits(self.splits.train + self.splits.select, self.splits.select, self.splits.select_name)
        self.keep = "refit" if refit is not None else resolve_keep(training.keep_weights, len(self.splits.select))
        self.state_path = self.run_dir / (REFIT_STATE_FILE if refit is not None else STATE_FILE)
        names = config.modality_names
        draws = draw_seed(training.seed, refit.member if refit is not None else 1)
        self.policy = MaskPolicy(self.mode, self.splits.train, names, training.seed, training.modality_dropout,
                                 draw_seed=draws)
        if self.mode.kind == "fixed":
            log.info("training-time missingness %s: %.1f%% of the training split's (sample, modality) pairs are "
                     "withheld", training.train_missing, 100 * self.policy.effective_missing_rate(self.splits.train))
        never = [m for m, n in self.policy.observed_counts(self.splits.train).items() if n == 0]
        if never:
            raise DataError(f"modality {never} is never observed in the training split of {dataset.root}; "
                            "a model cannot learn it (drop it from the dataset or add data)")
        device = resolve_device(device)
        if device == "cpu":
            apply_cpu_threads()
        self.tracker = check_tracker(training.log_with)
        self.accelerator = make_accelerator(device.startswith("cuda"),
                                            resolve_precision(training.mixed_precision, device),
                                            log_with=self.tracker, project_dir=self.run_dir)
        torch.manual_seed(draws)
        backbone = backbone or load_backbone(config.backbone)
        self.bf16 = self.accelerator.mixed_precision == "bf16"  # autocast's dtype in training steps and validation
        if self.bf16:
            # The frozen body is stored in bf16 (its identity was taken in fp32 at load): autocast would round every
            # weight to bf16 for every matmul anyway, so this only drops the per-step casts and halves the memory
            # the body streams through. LoRA weights, new rows and heads stay fp32 (peft keeps adapters in fp32).
            backbone.body.to(torch.bfloat16)
        self.model = LimssrModel(config, backbone)
        self.config = config = self.model.config  # bound to the backbone (identity, LoRA targets)
        if config.standardise_features:
            self.set_feature_statistics()
        if config.feature_components:
            self.set_feature_components()
        loader = torch.utils.data.DataLoader(list(range(len(self.splits.train))), batch_size=training.batch_size,
                                             sampler=EpochOrder(len(self.splits.train), draws),
                                             collate_fn=list)  # batches of training-split indices
        self.processes = self.accelerator.num_processes
        self.steps_per_epoch = math.ceil(len(self.splits.train) / (training.batch_size * self.processes))
        total = self.steps_per_epoch * training.epochs
        self.warmup_steps = warmup_steps(training.warmup_epochs, self.steps_per_epoch, total)
        self.trainable = self.model.trainable_parameters()  # clipping visits these only, not the frozen body
        self.optimizer = torch.optim.AdamW(self.trainable, lr=training.lr, weight_decay=training.weight_decay,
                                           fused=device.startswith("cuda"))  # one kernel per step on a GPU
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_lambda(total, self.warmup_steps, training.min_lr_ratio))
        self.model, self.optimizer, self.scheduler, self.loader = self.accelerator.prepare(
            self.model, self.optimizer, self.scheduler, loader)
        if training.compile:  # on its device: regional, batches padded to length buckets (model/limssr.py)
            self.unwrapped.compile_backbone()
        if self.processes > 1 and self.accelerator.is_main_process:
            log.info("training in %d processes: %d samples per step (%d per process), %d steps per epoch",
                     self.processes, training.batch_size * self.processes, training.batch_size,
                     self.steps_per_epoch)
        self.crop_rng = np.random.default_rng(draws + 2)
        self.epoch, self.best_selection, self.best_epoch, self.best_summary = 0, -math.inf, -1, {}
        self.history: list[dict] = []
        self.average = WeightAverage()  # keep_weights=average: the running mean of the late epochs' weights

    def set_feature_statistics(self) -> None:
        """Each projector's standardisation from the training split, as training sees it (model/projector.py)."""
        for j, modality in enumerate(self.config.modalities):
            mean, scale = segment_statistics(self.observed_features(j), modality.dim)
            self.model.projectors[modality.name].set_feature_statistics(mean, scale)

    def set_feature_components(self) -> None:
        """Each wide projector's principal components of the training split, as training sees it (after
        standardisation where that is on; model/projector.py)."""
        for j, modality in enumerate(self.config.modalities):
            projector = self.model.projectors[modality.name]
            if not projector.components:
                continue
            arrays = [projector.standardised(features) for features in self.observed_features(j)]
            projector.set_feature_components(*principal_components(arrays, projector.components))

    def observed_features(self, j: int) -> list[np.ndarray]:
        """Modality j's features [T_i, d] of the training samples that observe it under the training masks."""
        name = self.config.modalities[j].name
        return [s.features[name] for s in self.splits.train if self.policy.observed(s)[j]]

    @property
    def unwrapped(self) -> LimssrModel:
        return self.accelerator.unwrap_model(self.model)

    # ------------------------------------------------------------------------------------------------------------
    # resume

    def save_state(self) -> None:
        if not self.accelerator.is_main_process:
            return
        path = self.state_path
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "epoch": self.epoch, "best_selection": self.best_selection, "best_epoch": self.best_epoch,
            "best_summary": self.best_summary, "history": self.history,
            "model": resumable_state(self.unwrapped), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "crop_rng": self.crop_rng.bit_generator.state,
            "policy_rng": self.policy.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "config": self.config.to_json(), "average": self.average.to_state(),
            "refit_epochs": self.refit.epochs if self.refit is not None else 0,
        }
        tmp = path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)

    def load_state(self) -> bool:
        path = self.state_path
        if not path.is_file():
            return False
        # tensors and plain containers only: loading the state never runs code from the file
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved, current = state["config"], self.config.to_json()
        for key in ("modalities", "backbone", "num_fusion_tokens", "score_range"):
            if saved.get(key) != current.get(key):
                raise LimssrError(f"cannot resume {self.run_dir}: its {key} differs from this run's settings")
        wanted = self.refit.epochs if self.refit is not None else 0
        if state.get("refit_epochs", 0) != wanted:  # the first run chose another epoch (its settings changed)
            raise LimssrError(f"cannot resume {self.run_dir}: its refit stops after epoch {state.get('refit_epochs')}, "
                              f"the first run now chose epoch {wanted}; train into a new folder")
        for key in ("folds", "seed"):  # they decide which samples are held out
            if saved["training"].get(key, 1 if key == "folds" else 0) != current["training"][key]:
                raise LimssrError(f"cannot resume {self.run_dir}: it was trained with --{key} "
                                  f"{saved['training'].get(key)}, this run has {current['training'][key]}")
        self.unwrapped.load_state_dict(state["model"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.crop_rng.bit_generator.state = state["crop_rng"]
        self.policy.rng.bit_generator.state = state["policy_rng"]
        torch.set_rng_state(state["torch_rng"])
        self.epoch, self.best_selection = state["epoch"], state["best_selection"]
        self.best_epoch, self.best_summary, self.history = state["best_epoch"], state["best_summary"], state["history"]
        if "average" in state:
            self.average = WeightAverage.from_state(state["average"])
        self.write_metrics()  # a run stopped between an epoch's log line and its state keeps no orphan row
        return True

    # ------------------------------------------------------------------------------------------------------------
    # loop

    LOSS_PARTS = ("loss", "score", "consistency", "fusion_reg")

    def train_step(self, indices: list[int]) -> torch.Tensor:
        """One optimiser step on these training-split samples (this process's share of the global batch; DDP averages
        the gradients of all shares): the step's loss parts [4], on the device (reading them back would stall it)."""
        training = self.config.training
        chunk = [self.splits.train[i] for i in indices]
        batch = collate(chunk, self.config.modalities, self.policy.masks(chunk), rng=self.crop_rng,
                        min_cover=training.min_crop_cover)
        batch = batch.to(self.accelerator.device)
        with self.accelerator.autocast():
            out = self.model(batch, compute_loss=True)
        self.accelerator.backward(out.loss)
        if training.grad_clip:
            self.accelerator.clip_grad_norm_(self.trainable, training.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return torch.stack([out.loss.detach()] + [out.loss_parts[key].detach() for key in self.LOSS_PARTS[1:]])

    def train_epoch(self) -> dict:
        training = self.config.training
        self.model.train()
        self.loader.set_epoch(self.epoch)  # this epoch's order (EpochOrder), the same in every process
        sums = torch.zeros(len(self.LOSS_PARTS), device=self.accelerator.device)  # read once per epoch
        on_cpu = self.accelerator.device.type == "cpu"  # reading the loss back costs nothing there: show each step's
        bar = tqdm(self.loader, desc=f"epoch {self.epoch + 1}/{training.epochs}", leave=False,
                   disable=not (self.progress and self.accelerator.is_local_main_process), unit="step")
        steps = 0
        attention = resolve_train_attention(training.train_attention, self.accelerator.device.type)
        body = self.unwrapped.backbone
        with attention_implementation(body, attention), lora_inputs_uncast(body, self.bf16):
            for indices in bar:
                steps += 1
                parts = self.train_step(indices).float()
                sums += parts
                if on_cpu:
                    bar.set_postfix(loss=f"{float(parts[0]):.4f}")
        self.sync_buffers()
        means = (sums / max(1, steps)).tolist()
        return dict(zip(self.LOSS_PARTS, means)) | {"steps": steps}

    def sync_buffers(self) -> None:
        """Every process takes the main process's batch-norm statistics, so that all of them validate, average and
        save the same model (DDP sends them only at the start of each training forward, so after an epoch's last
        step each process holds its own). A single process: nothing to do."""
        if self.processes == 1:
            return
        from accelerate.utils import broadcast

        for buffer in self.unwrapped.buffers():
            buffer.copy_(broadcast(buffer.detach().clone(), from_process=0))

    def fit(self, resume: bool = False) -> TrainResult:
        training = self.config.training
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.load_state() and self.accelerator.is_main_process:
            log.info("resuming %s after epoch %d (best so far: epoch %d)", self.run_dir, self.epoch,
                     self.best_epoch + 1)
        if self.tracker is not None:
            hparams = {k: v for k, v in vars(training).items() if isinstance(v, (int, float, str, bool))}
            hparams |= {"backbone": self.config.backbone, "lora_r": self.config.lora_r,
                        "num_fusion_tokens": self.config.num_fusion_tokens, "processes": self.accelerator.num_processes}
            self.accelerator.init_trackers(self.run_dir.name, config=hparams)
        last = self.refit.epochs if self.refit is not None else training.epochs  # the schedule spans training.epochs
        while self.epoch < last:
            started = time.time()
            losses = self.train_epoch()
            if self.keep == "best-epoch" and self.after_warmup(self.epoch):
                summary, selection, improved = self.validate_epoch()
            else:
                summary, selection, improved = None, math.nan, False
                if self.keep == "average" and self.epoch >= first_averaged_epoch(training.epochs):
                    self.average.update(resumable_state(self.unwrapped))
            row = {
                "epoch": self.epoch + 1, "steps": losses["steps"], "train_loss": losses["loss"],
                "score_loss": losses["score"], "consistency_loss": losses["consistency"],
                "fusion_reg": losses["fusion_reg"], "lr": self.scheduler.get_last_lr()[0],
                # nan when not validated (keep_weights=average) or collapsed ("constant": evaluation gives no rho)
                "val_full_spearman": summary["full"]["spearman"] if summary else math.nan,
                "val_average_spearman": summary["average_incomplete"]["spearman"] if summary else math.nan,
                "selection": selection, "best": int(improved), "seconds": round(time.time() - started, 2),
            }
            self.history.append(row)
            self.log(row, summary)
            self.epoch += 1
            self.save_state()
        if self.keep == "average":
            self.keep_average()
        if self.keep == "refit":
            self.best_epoch, self.best_summary = last - 1, self.refit.summary
            self.best_selection = self.refit.selection
            self.save_checkpoint(self.best_summary)
        if self.tracker is not None:
            self.accelerator.end_training()
        return TrainResult(self.run_dir, self.best_epoch + 1, self.best_selection, self.best_summary, self.keep,
                           self.kept_text(), self.history, processes=self.processes,
                           main_process=self.accelerator.is_main_process)

    def validate(self) -> tuple[dict, float]:
        """The selection split under every subset. With several processes each scores a contiguous share of each
        subset's samples (`split_between_processes`) and the shares are merged in order (`gather_for_metrics`), so
        every process computes the same figures from the same predictions."""
        model, accelerator = self.unwrapped, self.accelerator

        def predict(samples: list[Sample], masks: list[tuple[bool, ...]]) -> np.ndarray:
            with accelerator.split_between_processes(list(range(len(samples)))) as share:
                local = normalised_predictions(model, [samples[i] for i in share], [masks[i] for i in share]) \
                    if share else np.zeros(0)
            if self.processes == 1:
                return local
            return np.asarray(accelerator.gather_for_metrics(local.tolist(), use_gather_object=True), dtype=float)

        # validate in the precision the model trains in (the body's own attention: faster without gradients)
        with accelerator.autocast(), lora_inputs_uncast(model.backbone, self.bf16):
            summary, _ = evaluate_predictor(predict, self.splits.select, self.config.modality_names, self.config,
                                            progress=False)
        return summary, selection_score(summary, self.config.training.select_metric)

    def after_warmup(self, epoch: int) -> bool:
        """Whether epoch `epoch` (0-based) takes steps after the learning-rate warm-up. Only those are validated and
        may be chosen: on a handful of validation samples a barely trained model can score best by chance (an N = 60
        run chose epoch 1 of 30 on 9 routines; docs/method.md, "Selection"), and skipping the warm-up's validation
        saves up to a quarter of it."""
        return (epoch + 1) * self.steps_per_epoch > self.warmup_steps

    def validate_epoch(self) -> tuple[dict, float, bool]:
        """keep_weights=best-epoch: validate this epoch's weights, save them if they are the best so far."""
        summary, selection = self.validate()
        # a warm-up epoch as the best so far: a run resumed from a state of a version that validated the warm-up
        improved = bool(np.isfinite(selection) and selection > self.best_selection) or self.best_epoch < 0 \
            or not self.after_warmup(self.best_epoch)
        if improved:
            self.best_selection, self.best_epoch, self.best_summary = selection, self.epoch, summary
            self.save_checkpoint(summary)
        return summary, selection, improved

    def keep_average(self) -> None:
        """keep_weights=average: load the late epochs' mean weights, validate them once, save them."""
        model = self.unwrapped
        model.load_state_dict(self.average.averaged(model.state_dict()), strict=False)
        self.best_summary, self.best_selection = self.validate()
        self.best_epoch = self.config.training.epochs - 1
        self.save_checkpoint(self.best_summary)
        log.info("kept %s: val rho full %s avg-incomplete %.3f", self.kept_text(), rho_text(self.best_summary["full"]),
                 self.best_summary["average_incomplete"]["spearman"])

    def save_checkpoint(self, summary: dict) -> None:
        if self.accelerator.is_main_process:
            card = render_model_card(self.config, summary, self.splits.select_name, self.kept_text(),
                                     len(self.splits.train), processes=self.processes)
            save_checkpoint(self.unwrapped, self.run_dir, card, summary=summary, summary_split="val")

    def kept_text(self) -> str:
        """Which weights the checkpoint holds, in words."""
        training = self.config.training
        if self.keep == "refit":
            return (f"epoch {self.refit.epochs} of a second run on the training and validation samples together "
                    f"(refit): epoch {self.refit.epochs} was the best of the first run on "
                    f"{self.splits.select_name} by `{training.select_metric}` Spearman")
        if self.keep == "average":
            first = first_averaged_epoch(training.epochs) + 1
            why = (f"the validation split, {len(self.splits.select)} samples, is too small to choose an epoch"
                   if training.keep_weights == "auto" else "asked for with --keep-weights average")
            return (f"the mean of the weights at the end of epochs {first}-{training.epochs} (stochastic weight "
                    f"averaging; {why})")
        return f"epoch {self.best_epoch + 1}, the best on {self.splits.select_name} by `{training.select_metric}` " \
               "Spearman"

    def write_metrics(self) -> None:
        """metrics.csv from the history: one row per finished epoch."""
        if not self.accelerator.is_main_process:
            return
        with open(self.run_dir / METRICS_FILE, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=METRIC_COLUMNS)
            writer.writeheader()
            for row in self.history:
                writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})

    def log(self, row: dict, summary: dict | None = None) -> None:
        """Record an epoch's row (metrics.csv, the tracker) and log it; `summary`: its validation, when it had one."""
        if not self.accelerator.is_main_process:
            return
        self.write_metrics()  # the history already holds this row; a few dozen lines rewritten, never appended twice
        if self.tracker is not None:
            self.accelerator.log({k: v for k, v in row.items() if k != "epoch" and isinstance(v, (int, float))},
                                 step=row["epoch"])
        if summary is None:  # keep_weights=average validates once, at the end; best-epoch after the warm-up
            log.info("epoch %d: loss %.4f", row["epoch"], row["train_loss"])
            return
        log.info("epoch %d: loss %.4f  val rho full %s avg-incomplete %.3f%s", row["epoch"], row["train_loss"],
                 rho_text(summary["full"]), row["val_average_spearman"], "  (best, saved)" if row["best"] else "")
