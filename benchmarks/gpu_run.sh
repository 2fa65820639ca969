#!/usr/bin/env bash
# Run on the GPU machine (device tool), with .whl carried: the pointer and training benchmarks on a random
# Molmo2 of the real 8B shape. Output goes to $OUT (or ./gpu-results).
#   device run: bash benchmarks/gpu_run.sh   (carry: [".whl"], timeout_s: 600)
set -uo pipefail
out="${OUT:-gpu-results}"
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/gpu.txt"
# One process per path: neither path's threads and caches touch the other's. The fast path's warm-up
# compiles six batch sizes, which takes the longest; the budget of one device call is 600 s.
timeout 140 python3 benchmarks/pointer_latency.py --shape 8b --paths plain --requests 32 2>&1 | tee "$out/pointer_plain.txt"
timeout 280 python3 benchmarks/pointer_latency.py --shape 8b --paths fast --requests 32 2>&1 | tee "$out/pointer_fast.txt"
timeout 150 python3 benchmarks/train_speed.py --shape 8b --batch-size 4 --steps 10 2>&1 | tee "$out/train_speed.txt"
