"""Speed and memory of the LIMSSR core: training step, inference latency, peak memory. Prints its figures.

CPU (issue target: report ms/sample with the embedded backbone, T=32, three modalities, peak RSS):
    .venv/bin/python bench/core_bench.py --device cpu --backbone smollm2-135m --length 32

GPU (one prepared script for the `device` tool, bench/gpu_device.sh; targets on an H200: train step <= 25 ms,
<= 4 GiB; batch-1 inference <= 6 ms, batch-8 <= 8 ms; compilation <= 60 s):
    python bench/core_bench.py --device cuda --backbone qwen2.5-0.5b-random --length 95 --batch 8 \
        --body-dtype bf16 --compile --sync-check

A compiled run first takes the eager predictions of a fixed batch and reports how far the compiled ones differ
(`compiled_vs_eager_max_abs`); `first_calls_s` is the time of the first training step and the first inference at
each batch size (compilation included); `--sync-check` runs one more step and inference under
`torch.cuda.set_sync_debug_mode("error")` and reports the first operation that made the host wait, if any.

`qwen2.5-0.5b-random` is a randomly initialised Qwen2.5-0.5B-shaped body (hidden 896, 24 layers, 14 heads, 2 KV
heads, intermediate 4864, vocab 151936): the same compute as the real model without downloading it.
"""

from __future__ import annotations

import argparse
import json
import resource
import traceback
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limssr_core.model.backbone import SMOLLM2, Backbone, load_backbone, weight_fingerprint  # noqa: E402
from limssr_core.config import LimssrConfig, ModalityConfig  # noqa: E402
from limssr_core.data.collate import Sample, collate  # noqa: E402
from limssr_core.model.limssr import LimssrModel  # noqa: E402

QWEN25_05B = dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                  intermediate_size=4864, vocab_size=151936, max_position_embeddings=32768)


class WordHashTokenizer:
    """Stands in for Qwen's tokenizer (not on the GPU machine): one id per word, same prompt length scale."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        import zlib

        return {"input_ids": [zlib.crc32(word.encode()) % self.vocab_size for word in text.split()]}


def random_qwen_body(device: str) -> Backbone:
    from transformers import Qwen2Config, Qwen2Model

    config = Qwen2Config(**QWEN25_05B, attn_implementation="sdpa")
    with torch.device(device):
        body = Qwen2Model(config)
    body.requires_grad_(False)
    tokenizer = WordHashTokenizer(QWEN25_05B["vocab_size"])
    identity = {"name": "qwen2.5-0.5b-random", "model_type": "qwen2", "hidden_size": 896, "num_layers": 24,
                "embedding_rows": QWEN25_05B["vocab_size"], "fingerprint": weight_fingerprint(body)}
    return Backbone(body, tokenizer, identity)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: str, warmup: int, repeats: int) -> list[float]:
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--backbone", default=SMOLLM2)
    parser.add_argument("--length", type=int, default=32, help="T segments per modality")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--dims", default="1024,768,1024")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="torch.compile the LLM body")
    parser.add_argument("--compile-mode", default=None,
                        help="torch.compile mode, e.g. reduce-overhead (CUDA graphs) or max-autotune-no-cudagraphs")
    parser.add_argument("--compile-scope", choices=("regional", "whole"), default="regional",
                        help="regional: each decoder block compiled once and reused; whole: the body as one graph")
    parser.add_argument("--sync-check", action="store_true", help="one step under set_sync_debug_mode('error')")
    parser.add_argument("--label", default="", help="a name for this variant in the printed figures")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    parser.add_argument("--body-dtype", choices=("fp32", "bf16"), default="fp32",
                        help="storage dtype of the frozen LLM body (bf16: what training under bf16 uses)")
    args = parser.parse_args()

    device = args.device
    bf16 = args.precision == "bf16" or (args.precision == "auto" and device == "cuda")
    dims = [int(d) for d in args.dims.split(",")]
    names = ["video", "flow", "audio", "text", "pose"][: len(dims)]
    torch.manual_seed(0)
    started = time.perf_counter()
    backbone = random_qwen_body(device) if args.backbone == "qwen2.5-0.5b-random" else load_backbone(args.backbone)
    config = LimssrConfig(modalities=[ModalityConfig(n, d, "bench", args.length) for n, d in zip(names, dims)],
                          backbone=args.backbone)
    if args.body_dtype == "bf16":
        backbone.body.to(torch.bfloat16)
    model = LimssrModel(config, backbone).to(device)
    load_seconds = time.perf_counter() - started
    trainable = model.trainable_parameters()
    optimizer = torch.optim.AdamW(trainable, lr=2e-4, weight_decay=1e-4, fused=device == "cuda")
    rng = np.random.default_rng(0)

    def make_batch(size: int, seed_mask: bool = True):
        samples = [Sample(f"s{i}", {n: rng.standard_normal((args.length, d)).astype(np.float32)
                                    for n, d in zip(names, dims)}, target=float(rng.random())) for i in range(size)]
        masks = [tuple(True for _ in names)] * size if seed_mask else None
        return collate(samples, config.modalities, masks).to(device)

    autocast = torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16)
    train_batch = make_batch(args.batch)
    check_batch = make_batch(args.batch)

    def train_step():
        model.train()
        with autocast:
            out = model(train_batch, compute_loss=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def predict(batch):
        model.eval()
        with torch.inference_mode(), autocast:
            return model(batch, compute_loss=False).y

    def infer(batch):
        return lambda: predict(batch)

    eager_y = predict(check_batch).float().cpu() if args.compile else None
    if args.compile:
        model.compile_backbone(mode=args.compile_mode, dynamic=False, regional=args.compile_scope == "regional")
    first_calls = {}  # inference first: the comparison with the eager predictions needs untrained weights
    for name, fn in (("infer_batch", infer(check_batch)), ("infer1", infer(make_batch(1))), ("train", train_step)):
        start = time.perf_counter()
        y = fn()
        sync(device)
        first_calls[name] = round(time.perf_counter() - start, 1)
        if name == "infer_batch" and args.compile:
            compiled_gap = float((y.float().cpu() - eager_y).abs().max())
    compiled_gap = compiled_gap if args.compile else None

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    train_ms = timed(train_step, device, args.warmup, args.steps)
    train_peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    infer1_ms = timed(infer(make_batch(1)), device, args.warmup, args.steps)
    inferb_ms = timed(infer(make_batch(args.batch)), device, args.warmup, args.steps)
    peak_rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    sync_report = None
    if args.sync_check and device == "cuda":
        torch.cuda.set_sync_debug_mode("error")
        try:
            train_step()
            predict(check_batch)
            sync_report = "none"
        except RuntimeError as err:  # where it happened: the innermost frame outside torch itself
            frames = [f for f in traceback.extract_tb(err.__traceback__) if "/torch/" not in f.filename]
            sync_report = f"{'/'.join(Path(frames[-1].filename).parts[-2:])}:{frames[-1].lineno} {frames[-1].line}"
        finally:
            torch.cuda.set_sync_debug_mode(0)

    seq_len = len(model.layout(tuple(True for _ in names), tuple(args.length for _ in names))[0])
    figures = {
        "label": args.label,
        "device": torch.cuda.get_device_name() if device == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "backbone": args.backbone, "T": args.length, "dims": dims, "batch": args.batch, "sequence_length": seq_len,
        "precision": "bf16" if bf16 else "fp32",
        "body_dtype": args.body_dtype,
        "compile": args.compile and f"{args.compile_scope} {args.compile_mode or 'default'}",
        "first_calls_s": first_calls, "compiled_vs_eager_max_abs": compiled_gap,
        "load_seconds": round(load_seconds, 1),
        "train_step_ms": round(statistics.median(train_ms), 1),
        "train_ms_per_sample": round(statistics.median(train_ms) / args.batch, 1),
        "infer_batch1_ms": round(statistics.median(infer1_ms), 1),
        f"infer_batch{args.batch}_ms": round(statistics.median(inferb_ms), 1),
        "infer_ms_per_sample_batched": round(statistics.median(inferb_ms) / args.batch, 1),
        "peak_rss_gib": round(peak_rss_gib, 2),
        "host_syncs": sync_report,
    }
    if train_peak is not None:
        figures["train_peak_gpu_gib"] = round(train_peak, 2)
        figures["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    print("JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
