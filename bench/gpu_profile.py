"""Where a training step and a batch-1 inference spend their time on a GPU: per-stage times (the GPU drained between
stages), the GPU's busy time against the wall time (host-bound or device-bound), and torch.profiler's top operators by
host and by device time. Part of bench/gpu_device.sh; writes the profiler tables to --out.

    python bench/gpu_profile.py --label "eager, bf16 body" --out $OUT [--compile]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_bench import random_qwen_body  # noqa: E402

from limssr_core.config import LimssrConfig, ModalityConfig  # noqa: E402
from limssr_core.data.collate import Sample, collate  # noqa: E402
from limssr_core.model.limssr import LimssrModel  # noqa: E402


DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # CPU: a dry run of the script with a tiny body


def drain() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def staged_step(model, batch, optimizer, trainable) -> dict[str, float]:
    """One training step, the GPU drained after each stage: milliseconds per stage."""
    times, mark = {}, [time.perf_counter()]

    def stage(name):
        drain()
        now = time.perf_counter()
        times[name] = round((now - mark[0]) * 1000, 2)
        mark[0] = now

    with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=DEVICE == "cuda"):
        embeds, _, layouts = model.build_inputs(batch)
        stage("build_inputs (projectors, splice)")
        hidden = model.backbone(inputs_embeds=embeds, use_cache=False).last_hidden_state
        stage("body forward")
        out = model.read_out(hidden.float(), layouts, batch)
        from limssr_core.model.losses import limssr_loss

        loss = limssr_loss(out.y, out.y_main, out.y_aux, batch.target.to(DEVICE), out.fusion_states, model.config)["loss"]
        stage("heads + loss")
    loss.backward()
    stage("backward")
    torch.nn.utils.clip_grad_norm_(trainable, 1.0)
    stage("clip")
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    stage("optimizer")
    return times


def profile(fn, steps: int, out: Path, name: str) -> dict:
    from torch.profiler import ProfilerActivity, profile as torch_profile

    drain()
    start = time.perf_counter()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if DEVICE == "cuda" else [])
    with torch_profile(activities=activities) as prof:
        for _ in range(steps):
            fn()
        drain()
    wall = (time.perf_counter() - start) * 1000 / steps
    events = prof.key_averages()
    on_device = [e for e in events if str(getattr(e, "device_type", "")).endswith("CUDA")]  # kernels, copies
    device_ms = sum(e.self_device_time_total for e in on_device) / 1000 / steps  # operators would count them twice
    kernels = sum(e.count for e in on_device) / steps
    host = events.table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=70)
    device = events.table(sort_by="self_device_time_total", row_limit=15, max_name_column_width=70)
    (out / f"profile_{name}.txt").write_text(f"# {name}: host\n{host}\n# {name}: device\n{device}\n")
    return {"wall_ms (profiled)": round(wall, 1), "gpu_busy_ms": round(device_ms, 1),
            "device_events_per_step": round(kernels)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True)
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--length", type=int, default=95)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dims, names = [1024, 768, 1024], ["video", "flow", "audio"]
    torch.manual_seed(0)
    if DEVICE == "cuda":
        backbone = random_qwen_body("cuda")
        backbone.body.to(torch.bfloat16)
    else:
        from limssr_core.model.backbone import TINY_RANDOM, load_backbone

        backbone, dims = load_backbone(TINY_RANDOM), [32, 24, 16]
    config = LimssrConfig(modalities=[ModalityConfig(n, d, "bench", args.length) for n, d in zip(names, dims)],
                          backbone=backbone.identity["name"])
    model = LimssrModel(config, backbone).to(DEVICE)
    if args.compile:
        model.compile_backbone()
    trainable = model.trainable_parameters()
    optimizer = torch.optim.AdamW(trainable, lr=2e-4, fused=DEVICE == "cuda")
    rng = np.random.default_rng(0)

    def make_batch(size):
        samples = [Sample(f"s{i}", {n: rng.standard_normal((args.length, d)).astype(np.float32)
                                    for n, d in zip(names, dims)}, target=float(rng.random())) for i in range(size)]
        return collate(samples, config.modalities, [(True,) * 3] * size).to(DEVICE)

    train_batch, single = make_batch(args.batch), make_batch(1)

    def train_step():
        model.train()
        with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=DEVICE == "cuda"):
            loss = model(train_batch, compute_loss=True).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def infer():
        model.eval()
        with torch.inference_mode(), torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=DEVICE == "cuda"):
            model(single, compute_loss=False)

    for _ in range(4):
        train_step()
        infer()
    tag = args.label.replace(" ", "_").replace(",", "")
    model.train()
    stages = [staged_step(model, train_batch, optimizer, trainable) for _ in range(5)]
    print(f"== {args.label}: training step stages (ms, GPU drained after each; median of 5)")
    for key in stages[0]:
        print(f"  {key:<36} {np.median([s[key] for s in stages]):7.2f}")
    for name, fn in (("train", train_step), ("infer1", infer)):
        figures = profile(fn, 5, out, f"{tag}_{name}")
        print(f"== {args.label}: {name} " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    print(f"   profiler tables: {out}/profile_{tag}_*.txt")


if __name__ == "__main__":
    main()
