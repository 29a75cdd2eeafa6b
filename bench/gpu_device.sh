#!/usr/bin/env bash
# The GPU benchmark as one prepared script for the `device` tool (about 8 minutes at most: each variant has its own
# timeout, and a variant that runs out is reported as such, not lost):
#   run(command="bash bench/gpu_device.sh", timeout_s=560)           the figures table (below)
#   run(command="bash bench/gpu_device.sh profile", timeout_s=450)   where the time goes (bench/gpu_profile.py), and
#                                                                    the whole-body compile given time to finish
# Uses the machine's own python3 (PyTorch, transformers, peft and accelerate are installed there). Every variant is
# its own process (clean peak memory); Inductor's cache in /tmp is shared, as on a user's machine.
# Variants, side by side: eager with an fp32 body (the first version's path), eager with the body stored in bf16,
# regional torch.compile, and regional compile with CUDA graphs (mode reduce-overhead). Host syncs are checked with
# torch.cuda.set_sync_debug_mode("error") on the bf16 eager and the graphed variants.
# The figures table goes to stdout and to $OUT (or bench/results when run elsewhere).
set -uo pipefail
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false TORCH_LOGS=${TORCH_LOGS:-recompiles,graph_breaks}
out=${OUT:-bench/results}
mkdir -p "$out"
log="$out/gpu_runs.log"
: > "$log"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$log"
python3 -c "import torch, transformers, peft, accelerate; print('torch', torch.__version__, 'transformers', \
transformers.__version__, 'peft', peft.__version__, 'accelerate', accelerate.__version__)" | tee -a "$log"
# GPU_BENCH_COMMON replaces the shared arguments (a dry run of this script on CPU with a tiny body, say)
common=${GPU_BENCH_COMMON:-"--device cuda --backbone qwen2.5-0.5b-random --length 95 --batch 8 --dims 1024,768,1024 --steps 20 --warmup 5"}
variant() {
  local label=$1 limit=$2
  shift 2
  echo "== $label ==" | tee -a "$log"
  timeout "$limit" python3 bench/core_bench.py $common --label "$label" "$@" >> "$log" 2>&1
  local rc=$?
  [ $rc -ne 0 ] && echo "VARIANT $label exited $rc (124: ran past ${limit}s)" | tee -a "$log"
  grep -E "^JSON " "$log" | tail -1 | grep -q "\"$label\"" || tail -5 "$log"
}
if [ "${1:-table}" = profile ]; then
  timeout 90 python3 bench/gpu_profile.py --label "eager, bf16 body" --out "$out" 2>&1 | grep -v -i warn | tee -a "$log"
  timeout 120 python3 bench/gpu_profile.py --label "regional compile" --compile --out "$out" 2>&1 | grep -v -i warn \
    | tee -a "$log"
  variant "whole-body compile" 240 --body-dtype bf16 --compile --compile-scope whole --sync-check
  python3 bench/gpu_table.py "$log" | tee "$out/gpu_table.md"
  exit 0
fi
variant "eager, fp32 body" 60
variant "eager, bf16 body" 60 --body-dtype bf16 --sync-check
variant "regional compile" 150 --body-dtype bf16 --compile
# regional + CUDA graphs cannot work: every layer replays the same graph, overwriting the output the next layer reads
# (seen 2026-12-04); CUDA graphs need the whole body as one graph
variant "whole-body compile + CUDA graphs" 200 --body-dtype bf16 --compile --compile-mode reduce-overhead \
  --compile-scope whole --sync-check
python3 bench/gpu_table.py "$log" | tee "$out/gpu_table.md"
