"""The LIMSSR model: projectors -> prompt-framed LLM sequence (PCMI) -> LoRA LLM body (LMRF) -> dual-path head (MDA).

Only the LLM body runs (no vocabulary logits). New special tokens have their own small embedding table, so the
backbone's table stays frozen and untouched. Token ids are tokenised once per mask pattern and layouts are cached.

Padding and the attention mask: a batch's sequences are right-padded (after each one's fusion tokens), and the body is
causal, so no real position ever attends to a padded one; the body therefore gets no attention mask at all (its
plain causal path: no mask tensor to build, no check that reads it back from the GPU, and SDPA's flash kernel). Only
real positions are read out, so padded and unpadded inputs give the same outputs (tests/model/test_limssr_speed.py).
`sequence_multiple` pads every batch's length up to a multiple (set by `compile_backbone`), so a compiled body sees a
few static shapes instead of one per mask pattern and crop length.

Host to device: every index tensor is built on the CPU and sent with `host_to_device` (pinned memory, asynchronous on
CUDA), so queuing a step never waits for the GPU.
"""

from __future__ import annotations

import inspect
import math
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch
from huggingface_hub import ModelHubMixin
from torch import Tensor, nn

from limssr_core.model.backbone import Backbone, add_lora, bind_config, transformers_body
from limssr_core.config import LimssrConfig
from limssr_core.data.collate import LimssrBatch, host_to_device
from limssr_core.errors import LimssrError
from limssr_core.model.heads import CrossModalRecoveryPath, FusionPooling, UncertaintyCalibratedPath
from limssr_core.model.hub import CARD_NAME, LIBRARY_NAME, TAGS
from limssr_core.model.losses import limssr_loss
from limssr_core.model.projector import ModalityProjector
from limssr_core.model.prompt import (
    SequenceLayout,
    SpecialVocab,
    build_layout,
    build_paper_prompt,
    build_prompt,
    prompt_token_ids,
    split_by_mask,
)


def check_causal(body: nn.Module) -> None:
    """Refuse a body whose attention is not causal (its attention modules say so with `is_causal`)."""
    open_attention = sorted({type(m).__name__ for m in body.modules() if getattr(m, "is_causal", True) is False})
    if open_attention:
        raise LimssrError(f"the backbone's attention is not causal ({', '.join(open_attention)}): LIMSSR needs a "
                          "causal language model body (Llama, Qwen, Gemma, SmolLM, ...)")


def repeated_blocks(body: nn.Module) -> list[nn.Module]:
    """The body's repeated decoder blocks: the longest `ModuleList` whose children all share one class."""
    best: list[nn.Module] = []
    for module in body.modules():
        if isinstance(module, nn.ModuleList) and len(module) > len(best):
            children = list(module)
            if len({type(child) for child in children}) == 1:
                best = children
    return best if len(best) > 1 else []


@dataclass
class LimssrOutput:
    y: Tensor  # [B] final normalised score
    y_main: Tensor  # [B] path 1 (uncertainty-calibrated reasoning)
    y_aux: Tensor  # [B] path 2 (cross-modal pattern recovery)
    path_weight: Tensor  # [] w in y = w * y_main + (1 - w) * y_aux
    modality_gate: Tensor  # [B, M] G_m
    confidence: Tensor  # [B, M] alpha_m
    role_weights: Tensor  # [K] fusion-token role weights
    fusion_states: Tensor  # [B, K, D]
    mask: Tensor  # [B, M] observed modalities
    spans: list[dict] = field(default_factory=list)  # per sample: modality -> (start, end) in its sequence
    loss: Tensor | None = None
    loss_parts: dict = field(default_factory=dict)
    member_y: Tensor | None = None  # [B, K] each member's y (an ensemble, model/ensemble.py); None for one model


@dataclass
class PrefixState:
    """The LLM body's pass over one unoccluded sequence (`LimssrModel.prefix_state`)."""

    hidden: Tensor  # [1, L, D] last hidden states
    keys_values: list[tuple[Tensor, Tensor]]  # per layer: keys, values [1, heads, L, head_dim]


class LimssrModel(nn.Module, ModelHubMixin, library_name=LIBRARY_NAME, tags=TAGS, license="apache-2.0"):
    """`LimssrModel.from_pretrained(folder | "owner/name[@revision]")` and `model.push_to_hub("owner/name")` use
    huggingface_hub's ModelHubMixin on the checkpoint layout of model/checkpoint.py: only the adapter and the heads
    are saved, never the frozen LLM."""

    # ModelHubMixin would record __init__'s arguments as a config.json, deep-copying the backbone on the way; a
    # checkpoint describes itself in limssr_config.json, so that mechanism is off (a non-None class value skips it).
    _hub_mixin_config = {}

    def __init__(self, config: LimssrConfig, backbone: Backbone):
        super().__init__()
        self._hub_mixin_config = None  # no config.json: see above
        self.checkpoint_folder: Path | None = None  # set when loaded from a checkpoint
        self.stored_half = False  # that checkpoint's weights were float16
        check_causal(backbone.body)
        config = bind_config(config, backbone)  # a copy: the caller's config is never written to
        self.config = config
        hidden = backbone.hidden_size
        self.tokenizer = backbone.tokenizer
        self.backbone = add_lora(backbone.body, config.lora_r, config.lora_alpha, config.lora_dropout,
                                 config.lora_targets)
        self.vocab = SpecialVocab(tuple(config.modality_names), config.num_fusion_tokens, backbone.embedding_rows)

        base_std = float(backbone.body.get_input_embeddings().weight.std())
        self.special_embeddings = nn.Embedding(len(self.vocab), hidden)
        nn.init.normal_(self.special_embeddings.weight, std=base_std)
        self.projectors = nn.ModuleDict(
            {m.name: ModalityProjector(m.dim, hidden, config.projector_dropout, config.standardise_features,
                                       config.feature_components)
             for m in config.modalities}
        )
        self.fusion_pool = FusionPooling(hidden, config.num_fusion_tokens)
        num_modalities = len(config.modalities)
        self.main_path = UncertaintyCalibratedPath(hidden, num_modalities, config.head_dropout)
        self.aux_path = CrossModalRecoveryPath(hidden, num_modalities, config.mda_heads, config.head_dropout,
                                               config.confidence_init, config.modality_gate)
        w = config.path_weight_init
        self.path_weight_logit = nn.Parameter(torch.tensor(math.log(w / (1 - w))))
        self._prompt_cache: dict[tuple[bool, ...], list[int]] = {}
        self._layout_cache: dict[tuple, tuple[SequenceLayout, Tensor]] = {}
        self._cache_lock = threading.Lock()
        self.sequence_multiple = 1  # batches are right-padded to a multiple of this length (compile_backbone sets it)

    # ----------------------------------------------------------------------------------------------------------
    # sequence construction

    def prompt_text(self, mask: tuple[bool, ...]) -> str:
        observed, missing = split_by_mask(self.config.modality_names, mask)
        if self.config.prompt_style == "paper":
            return build_paper_prompt(observed, missing)
        return build_prompt(self.config.prompt_template, self.config.score_name, observed, missing,
                            self.config.prompt_parts)

    def layout(self, mask: tuple[bool, ...], lengths: tuple[int, ...]) -> tuple[SequenceLayout, Tensor]:
        """The cached layout (and its CPU id tensor) for one mask pattern and block lengths."""
        key = (mask, lengths)
        cached = self._layout_cache.get(key)
        if cached is not None:
            return cached
        with self._cache_lock:
            if mask not in self._prompt_cache:
                text = self.prompt_text(mask)
                self._prompt_cache[mask] = prompt_token_ids(self.tokenizer, text)
            block_lengths = {
                m.name: (n if present else m.length)
                for m, n, present in zip(self.config.modalities, lengths, mask)
            }
            layout = build_layout(self._prompt_cache[mask], self.vocab, mask, block_lengths)
            cached = (layout, torch.tensor(layout.token_ids, dtype=torch.long))
            self._layout_cache[key] = cached
        return cached

    def embed_ids(self, ids: Tensor) -> Tensor:
        # ids: [B, L] with text ids, new-token ids (>= base_rows) and FEATURE_SLOT -> [B, L, D]
        base_rows = self.vocab.base_rows
        is_new = ids >= base_rows
        text = self.backbone.get_input_embeddings()(ids.clamp(min=0).masked_fill(is_new, 0))
        new = self.special_embeddings((ids - base_rows).clamp(min=0, max=len(self.vocab) - 1))
        return torch.where(is_new.unsqueeze(-1), new.to(text.dtype), text)

    def build_inputs(self, batch: LimssrBatch) -> tuple[Tensor, Tensor, list[SequenceLayout]]:
        """inputs_embeds [B, L, D], attention_mask [B, L] and each sample's layout (right-padded).

        All index bookkeeping (layouts, which segments are valid, where they go) is done on the CPU from the batch's
        lengths and sent to the device in one go, so building the sequence never waits on the GPU.
        """
        lengths = batch.lengths.cpu()  # [B, M]; already on the CPU (LimssrBatch.to keeps it there)
        mask = lengths > 0
        pairs = [self.layout(tuple(bool(v) for v in mask[i]), tuple(int(v) for v in lengths[i]))
                 for i in range(len(batch))]
        layouts = [layout for layout, _ in pairs]
        device = batch.features[self.config.modality_names[0]].device
        ids = nn.utils.rnn.pad_sequence([t for _, t in pairs], batch_first=True, padding_value=0)  # [B, L]
        if ids.shape[1] % self.sequence_multiple:  # right padding up to the length bucket (static shapes)
            ids = nn.functional.pad(ids, (0, self.sequence_multiple - ids.shape[1] % self.sequence_multiple))
        seq_lengths = torch.tensor([len(layout) for layout in layouts])
        attention_mask = (torch.arange(ids.shape[1])[None, :] < seq_lengths[:, None]).long()
        # for each modality: (sample, step) of every valid segment and its position in the sequence
        scatter = []
        for j, modality in enumerate(self.config.modalities):
            n = lengths[:, j]
            if not bool((n > 0).any()):
                continue
            valid = torch.arange(modality.length)[None, :] < n[:, None]  # [B, T_m]
            starts = torch.tensor([layout.blocks[modality.name][0] for layout in layouts])  # [B]
            occluded = batch.occluded.get(modality.name)
            if occluded is not None:  # those segments become the modality's <missing> token, like a missing block
                hidden_rows, hidden_steps = (valid & occluded).nonzero(as_tuple=True)
                ids[hidden_rows, starts[hidden_rows] + hidden_steps] = self.vocab.missing_id(modality.name)
                valid = valid & ~occluded
            rows, steps = valid.nonzero(as_tuple=True)  # [N], [N]
            if rows.numel():
                scatter.append((modality.name, rows, steps, starts[rows] + steps, int((n > 0).sum())))
        embeds = self.embed_ids(host_to_device(ids, device))  # [B, L, D]
        for name, rows, steps, positions, observers in scatter:
            rows, steps, positions = (host_to_device(t, device) for t in (rows, steps, positions))
            projected = self.projectors[name](batch.features[name][rows, steps], observers, len(batch))  # [N, D]
            embeds = embeds.index_put((rows, positions), projected.to(embeds.dtype))
        return embeds, attention_mask, layouts  # attention_mask stays on the CPU: the body never needs it

    def block_pooling(self, layouts: list[SequenceLayout], seq_len: int) -> Tensor:
        """[B, M, L] averaging weights of each modality's block (its features or its placeholder tokens)."""
        pool = torch.zeros(len(layouts), len(self.config.modalities), seq_len)
        for i, layout in enumerate(layouts):
            for j, name in enumerate(self.config.modality_names):
                start, end = layout.blocks[name]
                pool[i, j, start:end] = 1.0 / (end - start)
        return pool

    # ----------------------------------------------------------------------------------------------------------
    # forward

    def forward(self, batch: LimssrBatch, compute_loss: bool | None = None) -> LimssrOutput:
        embeds, _, layouts = self.build_inputs(batch)  # right-padded: causal attention alone keeps padding out
        hidden = self.backbone(inputs_embeds=embeds, use_cache=False).last_hidden_state  # [B, L, D]
        out = self.read_out(hidden.float(), layouts, batch)  # hidden: [B, L, D]
        if compute_loss is None:
            compute_loss = batch.target is not None
        if compute_loss:
            parts = limssr_loss(out.y, out.y_main, out.y_aux, host_to_device(batch.target, hidden.device),
                                out.fusion_states,
                                self.config)
            out.loss = parts.pop("loss")
            out.loss_parts = parts
        return out

    def read_out(self, hidden: Tensor, layouts: list[SequenceLayout], batch: LimssrBatch) -> LimssrOutput:
        """The dual-path head on the body's last hidden states [B, L, D] (fp32)."""
        b, device = len(batch), hidden.device
        # the heads run in fp32 even under bf16 autocast: scores must not tie from bf16 rounding
        with torch.autocast(device_type=device.type, enabled=False):
            fusion_index = torch.tensor([layout.fusion_positions for layout in layouts])  # [B, K]
            rows = torch.arange(b)[:, None]  # [B, 1]
            fusion_states = hidden[host_to_device(rows, device), host_to_device(fusion_index, device)]  # [B, K, D]
            z_main = self.fusion_pool(fusion_states)  # [B, D]

            pool = host_to_device(self.block_pooling(layouts, hidden.shape[1]), device)  # [B, M, L]
            pooled = torch.bmm(pool, hidden)  # [B, M, D]

            mask = host_to_device(batch.mask, device)
            y_main = self.main_path(z_main, mask)  # [B]
            y_aux, gate, confidence = self.aux_path(pooled, mask)  # [B], [B, M], [B, M]
            w = torch.sigmoid(self.path_weight_logit)
            y = w * y_main + (1 - w) * y_aux  # [B]
        return LimssrOutput(
            y=y, y_main=y_main, y_aux=y_aux, path_weight=w, modality_gate=gate, confidence=confidence,
            role_weights=self.fusion_pool.role_weights(), fusion_states=fusion_states, mask=mask,
            spans=[dict(layout.blocks) for layout in layouts],
        )

    # ----------------------------------------------------------------------------------------------------------
    # occlusions of one sequence, from its first occluded position on (the timeline)

    def prefix_state(self, batch: LimssrBatch) -> PrefixState | None:
        """The body's hidden states and key/value cache of one unoccluded sample, for `forward_occluded`; None where
        the body's cache is not a plain per-layer key/value cache (e.g. sliding-window layers)."""
        from transformers.cache_utils import DynamicLayer

        if len(batch) != 1:
            raise ValueError(f"prefix_state takes one sample, got {len(batch)}")
        embeds, _, _ = self.build_inputs(batch)
        out = self.backbone(inputs_embeds=embeds, use_cache=True)
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)  # its name before 5.24
        if cache is None or not all(type(layer) is DynamicLayer for layer in getattr(cache, "layers", [None])):
            return None
        return PrefixState(out.last_hidden_state, [(layer.keys, layer.values) for layer in cache.layers])

    def cache_argument(self) -> str:
        """The body's keyword for a key/value cache: `cache` since transformers 5.24, `past_key_values` before."""
        body = transformers_body(self.backbone)
        return "cache" if "cache" in inspect.signature(body.forward).parameters else "past_key_values"

    def occlusion_starts(self, batch: LimssrBatch) -> list[int]:
        """Per sample: the sequence position of its first occluded segment (its sequence length if none)."""
        lengths = batch.lengths.cpu()
        starts = []
        for i in range(len(batch)):
            mask = tuple(bool(v) for v in lengths[i] > 0)
            layout, _ = self.layout(mask, tuple(int(v) for v in lengths[i]))
            first = len(layout)
            for j, name in enumerate(self.config.modality_names):
                occluded = batch.occluded.get(name)
                if occluded is None or not mask[j]:
                    continue
                steps = occluded[i, : int(lengths[i, j])].nonzero()
                if steps.numel():
                    first = min(first, layout.blocks[name][0] + int(steps[0]))
            starts.append(first)
        return starts

    def forward_occluded(self, batch: LimssrBatch, prefix: PrefixState, start: int) -> LimssrOutput:
        """The outputs of occluded copies of the sample `prefix` was taken from, none occluded before `start`.

        A causal body's states before the first changed position are those of the unoccluded sequence, so only
        positions `start`.. run, on top of its key/value cache: the same outputs as `self(batch)` up to float
        rounding, at a fraction of the cost (modality blocks later in the sequence cost least).
        """
        from transformers.cache_utils import DynamicCache

        embeds, _, layouts = self.build_inputs(batch)  # [b, L, D]
        b, length = embeds.shape[:2]
        if length != prefix.hidden.shape[1] or len({len(layout) for layout in layouts}) != 1:
            raise ValueError("forward_occluded needs copies of the prefix's sample (same layout)")
        start = max(0, min(start, length - 1))
        cache = DynamicCache(ddp_cache_data=[(k[:, :, :start].expand(b, -1, -1, -1), v[:, :, :start].expand(
            b, -1, -1, -1)) for k, v in prefix.keys_values])
        suffix = self.backbone(inputs_embeds=embeds[:, start:], use_cache=True,
                               **{self.cache_argument(): cache}).last_hidden_state  # [b, L - start, D]
        hidden = torch.cat([prefix.hidden[:, :start].expand(b, -1, -1).to(suffix.dtype), suffix], dim=1)  # [b, L, D]
        return self.read_out(hidden.float(), layouts, batch)

    def compile_backbone(self, mode: str | None = None, dynamic: bool | None = None, regional: bool = True,
                         sequence_multiple: int | None = None, backend: str = "inductor") -> None:
        """torch.compile the LLM body in place (parameter names, and so checkpoints, are unchanged).

        regional: compile the repeated decoder block once and reuse it for every layer (`nn.Module.compile` on each;
        PyTorch's "regional compilation"): the compile time of one layer instead of the whole body. Otherwise the
        body's forward as one graph. Batches are padded to `sequence_multiple` so only a few shapes occur: by
        default 64 positions on a GPU (few graphs, and padding is nearly free there) and 16 on a CPU (where every
        padded position costs its share of compute). dynamic=None (PyTorch's automatic dynamic shapes): a second
        batch size or length compiles one graph generic in that dimension, so shapes never pile up to the
        recompilation limit (beyond which PyTorch would quietly run eager); False: one static graph per shape.
        """
        if sequence_multiple is None:
            on_gpu = next(self.parameters()).device.type == "cuda"
            sequence_multiple = 64 if on_gpu else 16
        self.sequence_multiple = sequence_multiple
        blocks = repeated_blocks(self.backbone) if regional else []
        for block in blocks:
            block.compile(mode=mode, dynamic=dynamic, backend=backend)
        if not blocks:
            self.backbone.forward = torch.compile(self.backbone.forward, mode=mode, dynamic=dynamic, backend=backend)

    # ----------------------------------------------------------------------------------------------------------
    # parameters that make up a checkpoint (the backbone's frozen weights are not part of it)

    def head_state_dict(self) -> dict[str, Tensor]:
        """Projectors, new token rows, fusion pooling and MDA heads (parameters and batch-norm buffers)."""
        return {name: tensor for name, tensor in self.state_dict().items() if not name.startswith("backbone.")}

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    # ----------------------------------------------------------------------------------------------------------
    # the Hugging Face Hub (ModelHubMixin hooks)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *, backbone: Backbone | None = None,
                        device: str | torch.device = "cpu", **hub_options) -> "LimssrModel":
        """A checkpoint folder or Hub id `owner/name[@revision]` (hub_options: revision, token, cache_dir,
        local_files_only, max_bytes). Only checkpoint files are downloaded (model/hub.py)."""
        from limssr_core.model.checkpoint import load_checkpoint

        return load_checkpoint(pretrained_model_name_or_path, backbone=backbone, device=device, **hub_options)

    def _save_pretrained(self, save_directory: Path) -> None:
        """The checkpoint layout; a model loaded from a checkpoint keeps that checkpoint's card and stored dtype."""
        from limssr_core.model.checkpoint import save_checkpoint
        from limssr_core.model.hub import LEGACY_CARD_NAME, read_card, write_card

        save_checkpoint(self, save_directory, half=self.stored_half)
        source = self.checkpoint_folder
        if source is None:  # a model never trained through the trainer: a card that says so
            write_card(save_directory, f"# LIMSSR checkpoint: {self.config.score_name}\n\nNo training record "
                       "or evaluation comes with this checkpoint.\n", self.config)
            return
        for extra in ("test_evaluation.json", "baseline.safetensors", CARD_NAME):
            if (source / extra).is_file():
                shutil.copyfile(source / extra, Path(save_directory) / extra)
        if not (source / CARD_NAME).is_file() and (source / LEGACY_CARD_NAME).is_file():
            write_card(save_directory, read_card(source), self.config)
