import pytest

from limssr_core.config import DEFAULT_PROMPT_TEMPLATE
from limssr_core.evaluation.metrics import all_modality_subsets
from limssr_core.model.prompt import FEATURE_SLOT, SpecialVocab, build_layout, build_prompt, split_by_mask

NAMES = ["video", "flow", "audio"]


@pytest.mark.parametrize("subset", all_modality_subsets(NAMES))
def test_prompt_states_available_and_missing_for_every_subset(subset):
    mask = tuple(name in subset for name in NAMES)
    observed, missing = split_by_mask(NAMES, mask)
    text = build_prompt(DEFAULT_PROMPT_TEMPLATE, "TES", observed, missing)
    available_part = text.split("Available modalities: ")[1].split(".")[0]
    missing_part = text.split("Missing modalities: ")[1].split(".")[0]
    assert available_part.split(", ") == [n for n in NAMES if n in subset]
    if len(subset) == len(NAMES):
        assert missing_part == "none"
        assert "Infer the latent content" not in text
    else:
        assert missing_part.split(", ") == [n for n in NAMES if n not in subset]
        assert "Infer the latent content of each missing modality" in text
    assert "TES" in text and "fusion positions" in text


def test_prompt_parts_can_be_dropped_for_ablation():
    text = build_prompt(DEFAULT_PROMPT_TEMPLATE, "TES", ["video"], ["audio"], parts=("imputation",))
    assert "Available modalities" not in text and "fusion positions" not in text
    assert "Infer the latent content" in text


def test_layout_puts_observed_blocks_first_then_missing_then_fusion():
    vocab = SpecialVocab(tuple(NAMES), num_fusion_tokens=4, base_rows=100)
    prompt = [5, 6, 7]
    layout = build_layout(prompt, vocab, (False, True, True), {"video": 3, "flow": 2, "audio": 4})
    ids = list(layout.token_ids)
    assert ids[:3] == prompt
    assert layout.observed == ("flow", "audio") and layout.missing == ("video",)
    flow_start, flow_end = layout.blocks["flow"]
    assert ids[flow_start - 1] == vocab.start_id("flow") and ids[flow_end] == vocab.end_id("flow")
    assert ids[flow_start:flow_end] == [FEATURE_SLOT] * 2
    video_start, video_end = layout.blocks["video"]
    assert video_start > layout.blocks["audio"][1]
    assert ids[video_start:video_end] == [vocab.missing_id("video")] * 3
    assert list(layout.fusion_positions) == list(range(len(ids) - 4, len(ids)))
    assert [ids[p] for p in layout.fusion_positions] == vocab.fusion_ids()


def test_special_vocab_ids_are_distinct_and_after_base_rows():
    vocab = SpecialVocab(tuple(NAMES), num_fusion_tokens=4, base_rows=100)
    ids = [vocab.id(token) for token in vocab.tokens]
    assert len(set(ids)) == len(vocab) == 13 and min(ids) == 100
    assert vocab.name_of(vocab.missing_id("audio")) == "<missing_audio>"


def test_layout_needs_an_observed_modality():
    vocab = SpecialVocab(tuple(NAMES), 2, 10)
    with pytest.raises(ValueError):
        build_layout([], vocab, (False, False, False), {"video": 1, "flow": 1, "audio": 1})


def test_the_papers_prompt_word_for_word():
    from limssr_core.model.prompt import build_paper_prompt

    text = build_paper_prompt(["video", "audio"], ["flow"])
    assert text == ("Given the available video, audio features from an action video. The flow modality is missing. "
                    "Based on the available modalities, please infer and reconstruct the useful latent "
                    "representations for the missing flow modalities at the designated positions. Then integrate "
                    "and enhance all multimodal features for action quality assessment. Output the fused "
                    "multi-dimensional feature representations at the designated feature dimension positions: ")
    assert "The none modality is missing." in build_paper_prompt(["video"], [])


def _tiny_tokenizer(add_bos: bool):
    """A local word-level tokenizer whose post-processor adds BOS (as Llama-3.2's and Gemma-3's do) or not."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<s>": 0, "</s>": 1, "<unk>": 2, "judge": 3, "this": 4}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def test_bos_leads_the_prompt_where_the_tokenizer_adds_one():
    from limssr_core.model.prompt import prompt_token_ids

    assert prompt_token_ids(_tiny_tokenizer(add_bos=True), "judge this") == [0, 3, 4]
    assert prompt_token_ids(_tiny_tokenizer(add_bos=False), "judge this") == [3, 4]
