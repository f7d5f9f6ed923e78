"""The README's GPU table (issue 19): gdc's fused CUDA kernels against the device's read floor, jax and torch.

    python benchmarks/bench_gpu.py [--rows 100000000] [--logistic-rows 10000000] [-d 100]
                                   [--repeat 7] [--no-fits] [--quick]

Needs an NVIDIA GPU and numba-cuda (`pip install 'gdc[gpu]'`); CuPy for the read floor, jax
(CUDA) and torch for the comparison rows: a library that is missing is reported as such, its
row left empty. Without a GPU it says so and exits with status 2 (numba's simulator is no GPU).

One run, everything side by side on the same device:

1. A line, y = m·x + b, mean squared error, N rows of float64 (x, Y): the read floor (CuPy
   sums x and Y once: the time to read every byte once), gdc's fused loss_grad (one pass of
   its CUDA kernel and the fixed-order sum of the block sums, the parameters in and the sums
   out), and their ratio; held to ≤ 1.3.
2. Logistic regression on a vector of d inputs, the natural shaped model (`data x[d], Y`,
   `param w[d]`; x an N × d float64 array stored column by column, as `--device gpu` stores
   it; the same memory, as its (d, N) transpose, for jax and torch) and labels Y: the read
   floor, gdc's loss_grad,
   `jax.jit(jax.value_and_grad(loss))` and torch's autograd of the same loss; gdc held to
   ≤ 1.5× the floor and faster than both.
3. Whole fits, `gdc.fit(..., device="gpu")` against `device="cpu"` on the same data (data
   copied to the device inside the timed fit; the kernels compiled and cached beforehand):
   wall time, iterations, and whether each converged with the same parameters.

Each kernel time is the median of --repeat runs after one warm-up (which compiles), every
run ending with the result on the host (a device synchronize), as a fit's step needs it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")   # jax must leave room for the others

import numpy as np

LINE = "model y = m*x + b\nloss mean((y - Y)^2)\n"
HELD_LINE, HELD_LOGISTIC = 1.3, 1.5


# Logistic regression on a vector of inputs (its size d read from the data): the CUDA module is
# made for the d of the data (gdc.codegen.cuda_shaped).
LOGISTIC = ("data x[d], Y\nparam w[d] = 0, b = 0\nmodel p = sigmoid(dot(w, x) + b)\n"
            "loss mean(-Y*log(p) - (1 - Y)*log(1 - p))\n")


def no_gpu() -> str | None:
    """Why this run cannot measure a GPU, or None."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return "NUMBA_ENABLE_CUDASIM is set: numba's CUDA simulator is no GPU to measure"
    from gdc.runtime.cuda import missing
    return missing()


def median_seconds(call: Callable[[], object], repeat: int) -> float:
    call()   # warm-up: compiles
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def optional(name: str):
    try:
        return __import__(name)
    except Exception as exc:  # not installed, or no CUDA build: its rows say so
        print(f"  ({name} not usable: {type(exc).__name__}: {exc})")
        return None


# ---------------------------------------------------------------- the measurements

def read_floor(cp, arrays, repeat: int) -> float | None:
    """CuPy sums each array once: one read of every byte, the least any pass can take."""
    if cp is None:
        return None
    return median_seconds(lambda: sum(float(cp.sum(a)) for a in arrays), repeat)


def gdc_loss_grad(kernels, columns, size: int, repeat: int) -> float:
    params, grad = np.full(size, 0.01), np.zeros(size)
    return median_seconds(lambda: kernels.loss_grad(params, *columns, grad), repeat)


def jax_logistic(jax_module, xt_cupy, y_cupy, d: int, repeat: int) -> float | None:
    if jax_module is None:
        return None
    import jax
    import jax.numpy as jnp
    from jax import dlpack

    try:
        xt, y = dlpack.from_dlpack(xt_cupy), dlpack.from_dlpack(y_cupy)
    except Exception:   # older jax: through the capsule
        xt, y = dlpack.from_dlpack(xt_cupy.toDlpack()), dlpack.from_dlpack(y_cupy.toDlpack())

    def loss(theta):
        z = theta[:d] @ xt + theta[d]
        return jnp.mean(jax.nn.softplus(z) - y * z)   # = -Y log p - (1 - Y) log(1 - p), stably

    step = jax.jit(jax.value_and_grad(loss))
    theta = jnp.full(d + 1, 0.01, dtype=jnp.float64)

    def call():
        value, grad = step(theta)
        grad.block_until_ready()
        return float(value)
    return median_seconds(call, repeat)


def torch_logistic(torch, xt_cupy, y_cupy, d: int, repeat: int) -> float | None:
    if torch is None or not torch.cuda.is_available():
        return None
    xt, y = torch.as_tensor(xt_cupy, device="cuda"), torch.as_tensor(y_cupy, device="cuda")   # no copy

    def call():
        theta = torch.full((d + 1,), 0.01, dtype=torch.float64, device="cuda", requires_grad=True)
        z = theta[:d] @ xt + theta[d]
        loss = torch.mean(torch.nn.functional.softplus(z) - y * z)
        loss.backward()
        torch.cuda.synchronize()
        return float(loss)
    return median_seconds(call, repeat)


def timed_fit(text: str, data: dict, device: str) -> tuple[float, object]:
    import gdc
    start = time.perf_counter()
    result = gdc.fit(text, data, device=device)
    return time.perf_counter() - start, result


# ---------------------------------------------------------------- the table

def ratio(value: float | None, floor: float | None) -> str:
    return "" if value is None or floor is None else f"{value / floor:.2f}×"


def row(name: str, seconds: float | None, floor: float | None, held: str = "") -> str:
    shown = "n/a" if seconds is None else f"{seconds * 1e3:9.2f} ms"
    return f"| {name:<44} | {shown:>12} | {ratio(seconds, floor):>9} | {held:<18} |"


def header() -> str:
    return ("| measurement                                  |         time | ÷ floor   | held to            |\n"
            "|----------------------------------------------|--------------|-----------|--------------------|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000, help="rows of the line (default 10⁸)")
    parser.add_argument("--logistic-rows", type=int, default=10_000_000, help="rows of the logistic model (10⁷)")
    parser.add_argument("-d", type=int, default=100, help="inputs of the logistic model (100)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-fits", action="store_true", help="kernels only, no whole fits")
    parser.add_argument("--quick", action="store_true", help="10⁶ and 10⁵ rows, d = 10: a check that it runs")
    parser.add_argument("--smoke", action="store_true",
                        help="a few hundred rows in numba's CUDA simulator: checks the script, measures nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.logistic_rows, args.d = 1_000_000, 100_000, 10
    if args.smoke:
        args.rows, args.logistic_rows, args.d, args.repeat = 300, 200, 3, 1
    why = None if args.smoke and os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else no_gpu()
    if why is not None:
        print(f"bench_gpu: no GPU to measure: {why}.\nRun it on a machine with an NVIDIA GPU and "
              "numba-cuda (pip install 'gdc[gpu]'); CuPy, jax and torch add the comparison rows.",
              file=sys.stderr)
        return 2

    from numba import cuda

    import gdc
    from gdc.api import cuda_kernels, compile_text

    if args.smoke:
        print("numba's CUDA simulator: the times below measure nothing\n")
    else:
        device = cuda.get_current_device()
        print(f"device: {device.name.decode() if isinstance(device.name, bytes) else device.name}, "
              f"{device.MULTIPROCESSOR_COUNT} multiprocessors; gdc {gdc.__version__}\n")
    cp, jax_module, torch = optional("cupy"), optional("jax"), optional("torch")
    if jax_module is not None:
        jax_module.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(0)
    lines = [header()]

    # 1. the line
    n = args.rows
    x = rng.standard_normal(n)
    y = 2.0 * x + 0.5 + 0.1 * rng.standard_normal(n)
    line_cpu = compile_text("<line>", LINE, ("x", "Y"))
    line_gpu = cuda_kernels(line_cpu, LINE, "<line>", ("x", "Y"))
    dx, dy = cuda.to_device(x), cuda.to_device(y)
    floor = read_floor(cp, [cp.asarray(dx), cp.asarray(dy)] if cp is not None else [], args.repeat)
    fused = gdc_loss_grad(line_gpu, (dx, dy), 2, args.repeat)
    lines.append(row(f"line, {n:.0e} rows: read floor (CuPy sums x, Y)", floor, floor))
    lines.append(row("line: gdc fused loss_grad", fused, floor, f"≤ {HELD_LINE}× floor"))
    del dx, dy

    # 2. logistic regression
    m, d = args.logistic_rows, args.d
    text = LOGISTIC
    print(f"compiling the logistic model (d = {d}; cached after the first run)…", flush=True)
    logistic_cpu = compile_text("<logistic>", text, ("x", "Y"))
    xt_host = rng.standard_normal((d, m))   # x = xt_host.T: N × d, column by column (Fortran order)
    w = rng.standard_normal(d) / np.sqrt(d)
    labels = (w @ xt_host + 0.5 * rng.standard_normal(m) > 0).astype(np.float64)
    dx, dlabels = cuda.to_device(xt_host.T), cuda.to_device(labels)
    logistic_gpu = cuda_kernels(logistic_cpu, text, "<logistic>", ("x", "Y")).bound((dx, dlabels))
    columns = (dx, dlabels)
    xt_cp = cp.asarray(dx).T if cp is not None else None   # (d, N), the same memory
    y_cp = cp.asarray(dlabels) if cp is not None else None
    floor = read_floor(cp, [xt_cp, y_cp] if cp is not None else [], args.repeat)
    fused = gdc_loss_grad(logistic_gpu, columns, d + 1, args.repeat)
    lines.append(row(f"logistic, {m:.0e} × {d}: read floor (CuPy)", floor, floor))
    lines.append(row("logistic: gdc fused loss_grad", fused, floor, f"≤ {HELD_LOGISTIC}× floor"))
    jx = jax_logistic(jax_module, xt_cp, y_cp, d, args.repeat) if cp is not None else None
    lines.append(row("logistic: jax.jit(jax.value_and_grad(loss))", jx, floor, "slower than gdc"))
    tt = torch_logistic(torch, xt_cp, y_cp, d, args.repeat) if cp is not None else None
    lines.append(row("logistic: torch autograd", tt, floor, "slower than gdc"))
    del dx, dlabels, columns, xt_cp, y_cp
    print("\n".join(lines))

    # 3. whole fits, GPU against CPU
    if not args.no_fits:
        print("\n| fit                                   | device | wall time | iterations | converged | method |")
        print("|---------------------------------------|--------|-----------|------------|-----------|--------|")
        cases = [(f"line, {n:.0e} rows", LINE, {"x": x, "Y": y}),
                 (f"logistic, {m:.0e} × {d}", text, {"x": xt_host.T, "Y": labels})]
        for name, model, data in cases:
            found = {}
            for where in ("gpu", "cpu"):   # a fit of 1000 rows first compiles every kernel it calls
                timed_fit(model, {key: column[:1000] for key, column in data.items()}, where)
                seconds, result = timed_fit(model, data, where)
                found[where] = result
                print(f"| {name:<37} | {where:<6} | {seconds:8.2f} s | {result.iterations:>10} | "
                      f"{str(result.converged):<9} | {result.method:<6} |", flush=True)
            first = np.array([float(np.ravel(v)[0]) for v in found["gpu"].params.values()])
            second = np.array([float(np.ravel(v)[0]) for v in found["cpu"].params.values()])
            print(f"|   largest relative difference of the parameters, GPU against CPU: "
                  f"{np.max(np.abs(first - second) / np.maximum(np.abs(second), 1e-300)):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
