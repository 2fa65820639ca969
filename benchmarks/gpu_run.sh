#!/usr/bin/env bash
# Run on the GPU machine (device tool), with .whl carried (benchmarks/gpu_wheels.sh fetches it): the pointer
# and training benchmarks on a random Molmo2 of the real 8B shape. Output goes to $OUT (or ./gpu-results).
#   device run: bash benchmarks/gpu_run.sh   (carry: [".whl"], timeout_s: 600)
#   dry run here: WHEELS=none PYTHON=.venv/bin/python SHAPE=tiny bash benchmarks/gpu_run.sh
set -uo pipefail
out="${OUT:-gpu-results}" python="${PYTHON:-python3}" shape="${SHAPE:-8b}" wheels="${WHEELS:-.whl}"
mkdir -p "$out"
if [ -d "$wheels" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$wheels"/*.whl || exit 1
    export PYTHONPATH="/tmp/site:$PWD"
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | tee "$out/gpu.txt"
# One process per path: neither path's threads and caches touch the other's. The fast path's warm-up
# compiles six batch sizes, which takes the longest; the budget of one device call is 600 s.
timeout 140 "$python" benchmarks/pointer_latency.py --shape "$shape" --paths plain --requests 32 --rounds 1 2>&1 | tee "$out/pointer_plain.txt"
timeout 280 "$python" benchmarks/pointer_latency.py --shape "$shape" --paths fast --requests 32 --rounds 1 2>&1 | tee "$out/pointer_fast.txt"
timeout 150 "$python" benchmarks/train_speed.py --shape "$shape" --batch-size 4 --steps 10 --rounds 1 2>&1 | tee "$out/train_speed.txt"
