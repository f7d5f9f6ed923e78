#!/usr/bin/env bash
# One prepared run on a lent GPU machine (issue 19): GPU time is scarce, so everything the GPU
# backend still owes is measured in one call, each part's output kept apart.
#
#   1. the CUDA tests on the real device (NUMBA_ENABLE_CUDASIM=0: the same tests CI runs in
#      numba's simulator, against the CPU kernels, differences and closed forms);
#   2. benchmarks/bench_gpu.py, the README's table (--quick halves the sizes and repeats).
#
# The device machine has numba, numba-cuda, numpy, sympy, jax, CuPy and torch, but perhaps not
# lark or pytest: prepare their wheels here once, and carry the folder along:
#
#   pip download --no-deps lark pytest pluggy iniconfig packaging -d .gpu-wheels
#   (device run:) bash benchmarks/gpu_session.sh --quick     with carry=[".gpu-wheels"]
#
# Writes into $OUT (the device tool's folder that comes back), else ./gpu-out. Exits 0 only
# when the tests passed and the benchmark ran.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-out}
mkdir -p "$out"
for module in lark pytest; do
    if ! python -c "import $module" 2>/dev/null; then
        python -m pip install --quiet --no-index --find-links .gpu-wheels "$module" >>"$out/setup.txt" 2>&1
    fi
done
nvidia-smi >"$out/nvidia-smi.txt" 2>&1
export PYTHONPATH=$PWD NUMBA_ENABLE_CUDASIM=0 GDC_CACHE_DIR=$PWD/.gpu-cache
timeout 240 python -m pytest -q -p no:cacheprovider tests/codegen/test_cuda.py tests/codegen/test_cuda_shaped.py \
    tests/fitting/test_device.py >"$out/tests.txt" 2>&1
tests=$?
timeout 300 python benchmarks/bench_gpu.py "$@" >"$out/bench.txt" 2>&1
bench=$?
tail -n 3 "$out/tests.txt"
cat "$out/bench.txt"
echo "tests: exit $tests; benchmark: exit $bench"
[ "$tests" -eq 0 ] && [ "$bench" -eq 0 ]
