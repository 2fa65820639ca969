#!/usr/bin/env bash
# Run here, before a device run: downloads into .whl/ (git-ignored) what the GPU machine lacks for the
# model benchmarks: transformers with Molmo2, pydantic, tenacity, datasets. Python 3.12, x86-64 wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d .whl \
    transformers==5.24.0 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
    tenacity==9.2.1 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19
du -sh .whl
