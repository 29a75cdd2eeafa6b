"""Speed and memory of the LIMSSR core: training step, inference latency, peak memory. Prints its figures.

CPU (issue target: report ms/sample with the embedded backbone, T=32, three modalities, peak RSS):
    .venv/bin/python bench/core_bench.py --device cpu --backbone smollm2-135m --length 32

GPU (one prepared script for the `device` tool; targets on an H200: train step <= 25 ms, <= 4 GiB; batch-1
inference <= 10 ms):
    python bench/core_bench.py --device cuda --backbone qwen2.5-0.5b-random --length 95 --batch 8 --compile

`qwen2.5-0.5b-random` is a randomly initialised Qwen2.5-0.5B-shaped body (hidden 896, 24 layers, 14 heads, 2 KV
heads, intermediate 4864, vocab 151936): the same compute as the real model without downloading it.
"""

from __future__ import annotations

import argparse
import json
import resource
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
    if args.compile:
        model.compile_backbone(mode=args.compile_mode, dynamic=False)
    optimizer = torch.optim.AdamW(model.trainable_parameters(), lr=2e-4, weight_decay=1e-4)
    rng = np.random.default_rng(0)

    def make_batch(size: int, seed_mask: bool = True):
        samples = [Sample(f"s{i}", {n: rng.standard_normal((args.length, d)).astype(np.float32)
                                    for n, d in zip(names, dims)}, target=float(rng.random())) for i in range(size)]
        masks = [tuple(True for _ in names)] * size if seed_mask else None
        return collate(samples, config.modalities, masks).to(device)

    autocast = torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16)
    train_batch = make_batch(args.batch)

    def train_step():
        model.train()
        with autocast:
            out = model(train_batch, compute_loss=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.trainable_parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def infer(batch):
        def run():
            model.eval()
            with torch.inference_mode(), autocast:
                model(batch, compute_loss=False)
        return run

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    train_ms = timed(train_step, device, args.warmup, args.steps)
    train_peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    infer1_ms = timed(infer(make_batch(1)), device, args.warmup, args.steps)
    inferb_ms = timed(infer(make_batch(args.batch)), device, args.warmup, args.steps)
    peak_rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    seq_len = len(model.layout(tuple(True for _ in names), tuple(args.length for _ in names))[0])
    figures = {
        "device": torch.cuda.get_device_name() if device == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "backbone": args.backbone, "T": args.length, "dims": dims, "batch": args.batch, "sequence_length": seq_len,
        "precision": "bf16" if bf16 else "fp32",
        "body_dtype": args.body_dtype, "compile": args.compile and (args.compile_mode or "default"),
        "load_seconds": round(load_seconds, 1),
        "train_step_ms": round(statistics.median(train_ms), 1),
        "train_ms_per_sample": round(statistics.median(train_ms) / args.batch, 1),
        "infer_batch1_ms": round(statistics.median(infer1_ms), 1),
        f"infer_batch{args.batch}_ms": round(statistics.median(inferb_ms), 1),
        "infer_ms_per_sample_batched": round(statistics.median(inferb_ms) / args.batch, 1),
        "peak_rss_gib": round(peak_rss_gib, 2),
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
