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
for path in plain fast; do  # one process each: neither path's threads and caches touch the other's
    timeout 170 python3 benchmarks/pointer_latency.py --shape 8b --paths $path --requests 64 2>&1 | tee "$out/pointer_$path.txt"
done
timeout 200 python3 benchmarks/train_speed.py --shape 8b --batch-size 4 --steps 10 2>&1 | tee "$out/train_speed.txt"
