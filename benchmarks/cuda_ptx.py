"""Compile every generated CUDA kernel of the examples to PTX for a GPU, on a machine without one.

    python benchmarks/cuda_ptx.py [MODEL.gd ...] [--cc 9.0] [--logistic D]

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
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_of(text: str, where: str) -> types.ModuleType:
    """The CUDA module's text for the model, run without the runtime (which wants a GPU)."""
    from gdc.calculus.symbolic import symbolic
    from gdc.codegen.cuda import generate_cuda
    from gdc.language.frontend import check_text

    source = generate_cuda(symbolic(check_text(text, where)), "0" * 64, "1" * 64)
    module = types.ModuleType("gdc_cuda_ptx")
    exec(compile(source, where, "exec"), module.__dict__)
    return module


def compile_all(module: types.ModuleType, cc: tuple[int, int]) -> list[tuple[str, str, float, int]]:
    """(kernel, dtype, seconds, PTX bytes) for every kernel of the module."""
    from numba import cuda, float32, float64, int64

    done = []
    for dtype in (float64, float32):
        columns = (dtype[::1],) * len(module.DATA_NAMES)
        for name in module.SUMS:
            start = time.perf_counter()
            ptx, _ = cuda.compile_ptx(getattr(module, name).py_func, (float64[::1], *columns, float64[:, ::1]), cc=cc)
            done.append((name, str(dtype), time.perf_counter() - start, len(ptx)))
        inputs = (dtype[::1],) * len(module.INPUT_NAMES)
        ptx, _ = cuda.compile_ptx(module._predict.py_func, (float64[::1], *inputs, float64[::1]), cc=cc)
        done.append(("_predict", str(dtype), 0.0, len(ptx)))
    ptx, _ = cuda.compile_ptx(module._add_blocks.py_func, (float64[:, ::1], int64, float64[::1]), cc=cc)
    done.append(("_add_blocks", "float64", 0.0, len(ptx)))
    return done


def logistic_text(d: int) -> str:
    terms = " + ".join(f"w{j}*x{j}" for j in range(1, d + 1))
    return f"model p = sigmoid({terms} + b)\nloss mean(-Y*log(p) - (1 - Y)*log(1 - p))\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="model files (default: the scalar examples)")
    parser.add_argument("--cc", default="9.0", help="compute capability (default 9.0, an H100/H200)")
    parser.add_argument("--logistic", type=int, metavar="D", help="also logistic regression on D scalar inputs")
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
    if args.logistic:
        models.append((f"logistic regression, d = {args.logistic}", logistic_text(args.logistic)))
    failed = 0
    for where, text in models:
        try:
            module = module_of(text, where)
        except GdcError as exc:   # a shaped model: no GPU kernels yet
            print(f"{where}: skipped ({exc.message})")
            continue
        try:
            done = compile_all(module, cc)
        except Exception as exc:  # the point of the check: say which kernel, go on with the others
            failed += 1
            print(f"{where}: FAILED: {type(exc).__name__}: {exc}")
            continue
        slowest = max(seconds for _, _, seconds, _ in done)
        largest = max(size for _, _, _, size in done)
        print(f"{where}: {len(done)} kernels compiled for sm_{cc[0]}{cc[1]} (slowest {slowest:.1f} s, "
              f"largest PTX {largest / 1e3:.0f} kB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
