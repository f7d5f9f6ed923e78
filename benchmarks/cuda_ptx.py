"""Compile every generated CUDA kernel of the examples to PTX for a GPU, on a machine without one.

    python benchmarks/cuda_ptx.py [MODEL.gd ...] [--cc 9.0] [--logistic D] [--size d=10 ...]

The simulator tests run the kernels as Python; this checks that numba-cuda types and compiles
each of them for the real target (an H200 is compute capability 9.0), float64 and float32
data, as `gdc fit --device gpu` would launch them. It needs the CUDA toolkit's NVVM and NVRTC,
not a GPU or a driver, e.g.

    pip install --target /tmp/cu13 'cuda-toolkit[cudart,nvrtc,nvvm,cccl]==13.*'
    CUDA_HOME=/tmp/cu13/nvidia/cu13 LD_LIBRARY_PATH=/tmp/cu13/nvidia/cu13/lib \\
        PYTHONPATH=.:/tmp/cu13 python benchmarks/cuda_ptx.py

numba-cuda compiles a device function (the helpers) for the current device's compute
capability, so for this check alone its lookup of the current device is replaced by the
capability asked for. Exit status 1 when a kernel does not compile.

A model with vectors or matrices gets kernels made for given sizes (gdc.codegen.cuda_shaped):
SIZES below, or --size; its data vectors are compiled as `--device gpu` stores them (column
by column: Fortran order) and, for float64, also row by row (C order, as a user's arrays may be).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# The sizes a shaped example's kernels are made for (diabetes.csv's d = 10; iris has K = 3
# species); --size overrides them.
SIZES = {"d": 10, "K": 3}


def module_of(text: str, where: str, sizes: dict[str, int]) -> tuple[types.ModuleType, dict[str, int]]:
    """The CUDA module for the model (at the sizes it reads from its data, among `sizes`), run
    without the runtime (which wants a GPU); and each data name's number of axes."""
    from gdc.calculus.symbolic import symbolic
    from gdc.codegen.cuda import generate_cuda
    from gdc.language.frontend import check_text

    sm = symbolic(check_text(text, where))
    named = {size for value in sm.checked.data for size in value.shape if isinstance(size, str)}
    source = generate_cuda(sm, "0" * 64, "1" * 64, {name: sizes[name] for name in named if name in sizes})
    module = types.ModuleType("gdc_cuda_ptx")
    exec(compile(source, where, "exec"), module.__dict__)
    return module, {value.name: 1 + len(value.shape) for value in sm.checked.data}


def compile_all(module: types.ModuleType, axes: dict[str, int], cc: tuple[int, int]) -> list[tuple[str, str, float, int]]:
    """(kernel, data type, seconds, PTX bytes) for every kernel of the module."""
    from numba import cuda, float32, float64, int64

    def array(dtype, ndim: int, order: str):
        if ndim == 1:
            return dtype[::1]
        return dtype[(slice(None),) * (ndim - 1) + (slice(None, None, 1),)] if order == "C" else \
            dtype[(slice(None, None, 1),) + (slice(None),) * (ndim - 1)]

    layouts = [(float64, "F"), (float32, "F"), (float64, "C")] if max(axes.values()) > 1 else \
        [(float64, "C"), (float32, "C")]
    done = []
    for dtype, order in layouts:
        columns = tuple(array(dtype, axes[name], order) for name in module.DATA_NAMES)
        label = f"{dtype} {order}" if max(axes.values()) > 1 else str(dtype)
        for name in module.SUMS:
            start = time.perf_counter()
            ptx, _ = cuda.compile_ptx(getattr(module, name).py_func, (float64[::1], *columns, float64[:, ::1]), cc=cc)
            done.append((name, label, time.perf_counter() - start, len(ptx)))
        inputs = tuple(array(dtype, axes[name], order) for name in module.INPUT_NAMES)
        out = float64[:, ::1] if getattr(module, "OUTPUT_SHAPE", ()) else float64[::1]
        ptx, _ = cuda.compile_ptx(module._predict.py_func, (float64[::1], *inputs, out), cc=cc)
        done.append(("_predict", label, 0.0, len(ptx)))
    ptx, _ = cuda.compile_ptx(module._add_blocks.py_func, (float64[:, ::1], int64, float64[::1]), cc=cc)
    done.append(("_add_blocks", "float64", 0.0, len(ptx)))
    return done


LOGISTIC = ("data x[d], Y\nparam w[d] = 0, b = 0\nmodel p = sigmoid(dot(w, x) + b)\n"
            "loss mean(-Y*log(p) - (1 - Y)*log(1 - p))\n")   # benchmarks/bench_gpu.py's


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="model files (default: the scalar examples)")
    parser.add_argument("--cc", default="9.0", help="compute capability (default 9.0, an H100/H200)")
    parser.add_argument("--logistic", type=int, metavar="D",
                        help="also bench_gpu.py's logistic regression on a vector of D inputs")
    parser.add_argument("--size", action="append", default=[], metavar="NAME=N",
                        help="a size of the shaped models' data (default d=10, K=3)")
    args = parser.parse_args(argv)
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        print("cuda_ptx: NUMBA_ENABLE_CUDASIM is set; the simulator compiles nothing", file=sys.stderr)
        return 2
    cc = tuple(int(part) for part in args.cc.split("."))
    import numba.cuda.dispatcher as dispatcher   # see the docstring: no device to ask
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=cc)

    from gdc.errors import GdcError

    models = [(path, Path(path).read_text()) for path in args.models] or [
        (str(path), path.read_text()) for path in sorted((ROOT / "examples").glob("*.gd"))]
    sizes = {**SIZES, **{name: int(value) for name, _, value in (item.partition("=") for item in args.size)}}
    models = [(where, text, sizes) for where, text in models]
    if args.logistic:
        models.append((f"logistic regression, d = {args.logistic}", LOGISTIC, {"d": args.logistic}))
    failed = 0
    for where, text, at in models:
        try:
            module, axes = module_of(text, where, at)
        except GdcError as exc:   # too large a shape for a GPU thread's local arrays
            print(f"{where}: skipped ({exc.message})")
            continue
        try:
            done = compile_all(module, axes, cc)
        except Exception as exc:  # the point of the check: say which kernel, go on with the others
            failed += 1
            print(f"{where}: FAILED: {type(exc).__name__}: {exc}")
            continue
        slowest = max(seconds for _, _, seconds, _ in done)
        largest = max(size for _, _, _, size in done)
        shaped = f" at {', '.join(f'{k} = {v}' for k, v in module.AT_SIZES.items()) or 'fixed sizes'}" \
            if hasattr(module, "AT_SIZES") else ""
        print(f"{where}{shaped}: {len(done)} kernels compiled for sm_{cc[0]}{cc[1]} (slowest {slowest:.1f} s, "
              f"largest PTX {largest / 1e3:.0f} kB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
