"""A K-fold ensemble of LIMSSR models in one checkpoint (`train --folds K`; docs/method.md, "Small data").

Each member is a whole LimssrModel (its own LoRA adapter, projectors, new token rows and heads) trained with one fold
of the labelled samples held out for its selection. The members share the frozen LLM weights (`shared_copy`), so an
ensemble costs K times the compute of one model but not K times the memory. Its output is the members' mean of every
field; `member_y` keeps each member's score, whose spread says how much the members disagree.

The ensemble offers what evaluation, scoring and the timeline use of a LimssrModel (`config`, `forward`,
`prefix_state`, `occlusion_starts`, `forward_occluded`), so `model/runner.py` runs either.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from huggingface_hub import ModelHubMixin
from torch import nn

from limssr_core.config import LimssrConfig
from limssr_core.data.collate import LimssrBatch
from limssr_core.errors import LimssrError
from limssr_core.model.hub import LIBRARY_NAME, TAGS, is_checkpoint_file
from limssr_core.model.limssr import LimssrModel, LimssrOutput, PrefixState

MEAN_FIELDS = ("y", "y_main", "y_aux", "path_weight", "modality_gate", "confidence", "role_weights",
               "fusion_states")


def mean_output(outputs: list[LimssrOutput]) -> LimssrOutput:
    """The members' outputs averaged field by field; `member_y` [B, K] keeps each member's y."""
    first = outputs[0]
    fields = {name: torch.stack([getattr(out, name) for out in outputs]).mean(0) for name in MEAN_FIELDS}
    return LimssrOutput(**fields, mask=first.mask, spans=first.spans,
                        member_y=torch.stack([out.y for out in outputs], dim=1))


class LimssrEnsemble(nn.Module, ModelHubMixin, library_name=LIBRARY_NAME, tags=TAGS, license="apache-2.0"):
    """`push_to_hub` publishes the checkpoint it was loaded from (config, card, baseline, every member's files)."""

    _hub_mixin_config = {}  # no config.json from __init__'s arguments (as LimssrModel)

    def __init__(self, config: LimssrConfig, members: list[LimssrModel]):
        super().__init__()
        self._hub_mixin_config = None
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
        self.config = config  # the ensemble's: the members' settings, training.folds = K and its calibration
        self.members = nn.ModuleList(members)
        self.checkpoint_folder: Path | None = None

    def forward(self, batch: LimssrBatch, compute_loss: bool | None = False) -> LimssrOutput:
        return mean_output([member(batch, compute_loss=False) for member in self.members])

    def prefix_state(self, batch: LimssrBatch) -> list[PrefixState] | None:
        states = [member.prefix_state(batch) for member in self.members]
        return None if any(state is None for state in states) else states

    def occlusion_starts(self, batch: LimssrBatch) -> list[int]:
        return self.members[0].occlusion_starts(batch)  # every member lays the sequence out the same way

    def forward_occluded(self, batch: LimssrBatch, prefix: list[PrefixState], start: int) -> LimssrOutput:
        return mean_output([member.forward_occluded(batch, state, start)
                            for member, state in zip(self.members, prefix)])

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        from limssr_core.model.checkpoint import load_checkpoint

        return load_checkpoint(pretrained_model_name_or_path, **kwargs)

    def _save_pretrained(self, save_directory: Path) -> None:
        """The checkpoint's own files, members included (an ensemble is only ever saved from where it was loaded)."""
        if self.checkpoint_folder is None:
            raise LimssrError("this ensemble was not loaded from a checkpoint folder: nothing to save")
        for path in sorted(self.checkpoint_folder.rglob("*")):
            name = path.relative_to(self.checkpoint_folder).as_posix()
            if path.is_file() and is_checkpoint_file(name):
                target = Path(save_directory) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
