"""Pure functions that lay out the LLM input sequence (PCMI; docs/method.md). No torch, no model.

A sequence for one sample is

    [task prompt tokens] [<a_start> x_a,1 .. x_a,T <a_end>] ... [<b_start> <missing_b> x T_b <b_end>] [<fusion_0..K-1>]

with observed modalities first (in config order) and missing ones after. The prompt text states which modalities are
available and which are missing. Feature positions are marked `FEATURE_SLOT` and filled with projected features later.

New special tokens live in their own id range after the backbone's embedding rows (`SpecialVocab.base_rows`), so the
backbone's embedding table is never resized and only the new rows are trained.
"""

from __future__ import annotations

from dataclasses import dataclass

from limssr_core.config import (
    AVAILABILITY_TEMPLATE,
    IMPUTATION_TEMPLATE,
    INTEGRATION_TEMPLATE,
    PAPER_PROMPT_TEMPLATE,
)

FEATURE_SLOT = -1


@dataclass(frozen=True)
class SpecialVocab:
    """Names and ids of the new tokens: start/end/missing per modality, then K fusion tokens."""

    modalities: tuple[str, ...]
    num_fusion_tokens: int
    base_rows: int  # number of rows in the backbone's input embedding table

    @property
    def tokens(self) -> list[str]:
        names = []
        for modality in self.modalities:
            names += [f"<{modality}_start>", f"<{modality}_end>", f"<missing_{modality}>"]
        names += [f"<fusion_{k}>" for k in range(self.num_fusion_tokens)]
        return names

    def __len__(self) -> int:
        return 3 * len(self.modalities) + self.num_fusion_tokens

    def id(self, token: str) -> int:
        return self.base_rows + self.tokens.index(token)

    def start_id(self, modality: str) -> int:
        return self.base_rows + 3 * self.modalities.index(modality)

    def end_id(self, modality: str) -> int:
        return self.start_id(modality) + 1

    def missing_id(self, modality: str) -> int:
        return self.start_id(modality) + 2

    def fusion_ids(self) -> list[int]:
        first = self.base_rows + 3 * len(self.modalities)
        return list(range(first, first + self.num_fusion_tokens))

    def name_of(self, token_id: int) -> str:
        return self.tokens[token_id - self.base_rows]


@dataclass(frozen=True)
class SequenceLayout:
    """Where everything sits in one sample's sequence."""

    token_ids: tuple[int, ...]  # FEATURE_SLOT where a projected feature vector goes
    blocks: dict  # modality -> (start, end): positions of the block's content (features or placeholders)
    fusion_positions: tuple[int, ...]
    observed: tuple[str, ...]
    missing: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.token_ids)


def _join(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def build_prompt(
    template: str,
    score_name: str,
    observed: list[str],
    missing: list[str],
    parts: tuple[str, ...] = ("availability", "imputation", "integration"),
) -> str:
    """The task prompt for one mask pattern. `parts` drops sentences for the paper's prompt ablation."""
    availability = AVAILABILITY_TEMPLATE.format(available=_join(observed), missing=_join(missing))
    imputation = IMPUTATION_TEMPLATE if missing else ""
    text = template.format(
        score_name=score_name,
        availability=availability if "availability" in parts else "",
        imputation=imputation if "imputation" in parts else "",
        integration=INTEGRATION_TEMPLATE if "integration" in parts else "",
    )
    return text.strip()


def build_paper_prompt(observed: list[str], missing: list[str]) -> str:
    """The paper's prompt word for word, for one mask pattern ("none" as the missing list when nothing is)."""
    return PAPER_PROMPT_TEMPLATE.format(available=_join(observed), missing=_join(missing))


def prompt_token_ids(tokenizer, text: str) -> list[int]:
    """The prompt's token ids, led by BOS where the tokenizer adds one itself (Llama-3.2, Gemma-3), never EOS."""
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    bos = getattr(tokenizer, "bos_token_id", None)
    with_special = tokenizer(text, add_special_tokens=True)["input_ids"]
    if bos is not None and with_special and with_special[0] == bos and (not ids or ids[0] != bos):
        ids.insert(0, bos)
    return ids


def split_by_mask(modalities: list[str], mask: tuple[bool, ...]) -> tuple[list[str], list[str]]:
    observed = [name for name, present in zip(modalities, mask) if present]
    missing = [name for name, present in zip(modalities, mask) if not present]
    return observed, missing


def build_layout(
    prompt_ids: list[int],
    vocab: SpecialVocab,
    mask: tuple[bool, ...],
    lengths: dict[str, int],
) -> SequenceLayout:
    """Splice prompt, modality blocks and fusion tokens into one id sequence.

    `lengths[m]` is the number of feature vectors of an observed modality, or the number of `<missing_m>`
    placeholders for a missing one.
    """
    observed, missing = split_by_mask(list(vocab.modalities), mask)
    if not observed:
        raise ValueError("at least one modality must be observed")
    ids = list(prompt_ids)
    blocks = {}
    for modality in observed + missing:
        length = lengths[modality]
        if length < 1:
            raise ValueError(f"block for {modality!r} must hold at least one position, got {length}")
        ids.append(vocab.start_id(modality))
        start = len(ids)
        filler = FEATURE_SLOT if modality in observed else vocab.missing_id(modality)
        ids += [filler] * length
        blocks[modality] = (start, len(ids))
        ids.append(vocab.end_id(modality))
    fusion_start = len(ids)
    ids += vocab.fusion_ids()
    fusion_positions = tuple(range(fusion_start, len(ids)))
    return SequenceLayout(tuple(ids), blocks, fusion_positions, tuple(observed), tuple(missing))


def render_layout(layout: SequenceLayout, vocab: SpecialVocab, decode) -> str:
    """A human-readable view of a layout (for docs and debugging); `decode` turns text token ids into a string."""
    text_ids, out = [], []
    for token_id in layout.token_ids:
        if 0 <= token_id < vocab.base_rows:
            text_ids.append(token_id)
            continue
        if text_ids:
            out.append(decode(text_ids))
            text_ids = []
        out.append("[x]" if token_id == FEATURE_SLOT else vocab.name_of(token_id))
    if text_ids:
        out.append(decode(text_ids))
    return " ".join(out)

