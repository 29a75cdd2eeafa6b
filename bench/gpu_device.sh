#!/usr/bin/env bash
# The GPU benchmark as one prepared script for the `device` tool (at most about 9 minutes: each stage has its own timeout):
#   run(command="bash bench/gpu_device.sh", timeout_s=570)
# Uses the machine's own python3 (PyTorch, transformers, peft, accelerate are installed there).
# First run (2026-11-27, H200): eager 150.7 ms per training step, 5.96 GiB, 39.8 ms batch-1 inference; the compile
# run did not finish compiling within 150 s, so it now gets 300 s (reduce-overhead runs only if time is left).
set -uo pipefail
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
common="--device cuda --backbone qwen2.5-0.5b-random --length 95 --batch 8 --dims 1024,768,1024 --steps 20 --warmup 5"
echo "== eager, bf16 autocast, SDPA =="
timeout 90 python3 bench/core_bench.py $common
echo "== torch.compile (default mode) =="
timeout 300 python3 bench/core_bench.py $common --compile
echo "== torch.compile mode=reduce-overhead (CUDA graphs) =="
timeout 150 python3 bench/core_bench.py $common --compile --compile-mode reduce-overhead
