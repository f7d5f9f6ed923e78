"""Vector and matrix models: compile time against the size, and the fused gradient against its peers.

    python benchmarks/bench_shaped.py [--rows 1e6] [--repeat 7] [--compile-repeat 3]

1. Derive + compile: logistic regression with `data x[10]` and with `data x[1000]` (the sizes
   written as numbers, so the two model texts differ), each in a new process with an empty
   kernel cache: gdc.compile (parse, check, derive, verify, generate) and then numba's compile
   on the first call of every kernel the fit uses. Medians of --compile-repeat runs; the ratio
   is x[1000] over x[10]. Also the size of the generated module.
2. The fused loss and gradient of logistic regression with d = 100 at --rows rows: the floor
   (NumPy summing x and Y once: one read of the data), gdc's loss_grad and loss_grad_parallel,
   vectorized NumPy, and where installed jax.jit(value_and_grad) and torch autograd (CPU,
   float64). Medians of --repeat runs; ratios to the floor.
3. The same for the one-hidden-layer network (tanh, h = 32, d = 10) at a tenth of the rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
from bench_kernels import median_time   # this folder: run as `python benchmarks/bench_shaped.py`

import gdc

LOGISTIC = """data x[{d}], Y
param w[{d}], b
model p = sigmoid(dot(w, x) + b)
loss mean(-Y*log(p) - (1 - Y)*log(1 - p))
"""
NETWORK = """data x[d], Y
param W[32, d], c[32], v[32], a = 0
model y = dot(v, tanh(W @ x + c)) + a
loss mean((y - Y)^2)
"""

_COMPILE_ONE = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    start = time.perf_counter()
    import gdc
    k = gdc.compile(sys.argv[1])
    made = time.perf_counter()
    d = int(sys.argv[2])
    x, Y = np.zeros((4, d)), np.zeros(4)
    p = np.zeros(d + 1)
    g = np.empty(d + 1)
    k.loss_grad(p, x, Y, g); k.loss_grad_parallel(p, x, Y, g)
    k.sgd_epoch(p, x, Y, 0.1, np.arange(4)); k.predict(p, x)
    done = time.perf_counter()
    print(json.dumps({"gdc": made - start, "numba": done - made, "source": len(open(k.path).read())}))
""")


# ------------------------------------------------------------------ 1. compile time against d

def compile_table(repeat: int) -> list[tuple[int, dict]]:
    rows = []
    for d in (10, 1000):
        runs = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, GDC_CACHE_DIR=cache, NUMBA_CACHE_DIR=cache)
                out = subprocess.run([sys.executable, "-c", _COMPILE_ONE, LOGISTIC.format(d=d), str(d)],
                                     env=env, capture_output=True, text=True, check=True)
                runs.append(json.loads(out.stdout))
        rows.append((d, {key: statistics.median(r[key] for r in runs) for key in runs[0]}))
    return rows


# ------------------------------------------------------------------ 2, 3. the fused gradient

def logistic_data(n: int, d: int, rng):
    x = rng.normal(0, 1, (n, d))
    w = rng.normal(0, 1 / np.sqrt(d), d)
    Y = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-(x @ w)))).astype(np.float64)
    return x, Y


def numpy_logistic(params, x, Y):
    w, b = params[:-1], params[-1]
    z = x @ w + b
    loss = np.mean(np.logaddexp(0, z) - Y * z)
    r = 1 / (1 + np.exp(-z)) - Y
    return loss, np.concatenate([x.T @ r / len(Y), [r.mean()]])


def numpy_network(params, x, Y, h=32):
    d = x.shape[1]
    W = params[:h * d].reshape(h, d)
    c, v, a = params[h * d:h * d + h], params[h * d + h:h * d + 2 * h], params[-1]
    t = np.tanh(x @ W.T + c)
    r = t @ v + a - Y
    n = len(Y)
    s = 2 * r[:, None] * (1 - t * t) * v / n
    return np.mean(r * r), np.concatenate([(s.T @ x).ravel(), s.sum(0), 2 * t.T @ r / n, [2 * r.mean()]])


def jax_function(kind: str):
    if importlib.util.find_spec("jax") is None:
        return None
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def logistic(p, x, Y):
        z = x @ p[:-1] + p[-1]
        return jnp.mean(jnp.logaddexp(0.0, z) - Y * z)

    def network(p, x, Y, h=32):
        d = x.shape[1]
        W = p[:h * d].reshape(h, d)
        c, v, a = p[h * d:h * d + h], p[h * d + h:h * d + 2 * h], p[-1]
        r = jnp.tanh(x @ W.T + c) @ v + a - Y
        return jnp.mean(r * r)

    f = jax.jit(jax.value_and_grad(logistic if kind == "logistic" else network))

    def bind(params, x, Y):
        p, xj, Yj = jnp.asarray(params), jnp.asarray(x), jnp.asarray(Y)
        return lambda: jax.block_until_ready(f(p, xj, Yj))
    return bind


def torch_function(kind: str):
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    def bind(params, x, Y):
        xt, Yt = torch.from_numpy(x), torch.from_numpy(Y)
        p = torch.tensor(params, requires_grad=True)

        def run():
            p.grad = None
            if kind == "logistic":
                z = xt @ p[:-1] + p[-1]
                loss = torch.mean(torch.nn.functional.softplus(z) - Yt * z)
            else:
                h, d = 32, xt.shape[1]
                W = p[:h * d].reshape(h, d)
                r = torch.tanh(xt @ W.T + p[h * d:h * d + h]) @ p[h * d + h:h * d + 2 * h] + p[-1] - Yt
                loss = torch.mean(r * r)
            loss.backward()
        return run
    return bind


def gradient_rows(kind: str, text: str, x, Y, params, repeat: int) -> list[tuple[str, float]]:
    k = gdc.compile(text)
    grad = np.empty_like(params)
    ours = k.loss_grad(params, x, Y, grad)
    reference = (numpy_logistic if kind == "logistic" else numpy_network)(params, x, Y)
    assert np.isclose(ours, reference[0], rtol=1e-9), (ours, reference[0])
    assert np.allclose(grad, reference[1], rtol=1e-7, atol=1e-12), "the kernels disagree with NumPy"
    rows = [("floor (NumPy sum of x and Y)", median_time(lambda: (x.sum(), Y.sum()), repeat)),
            ("gdc loss_grad", median_time(lambda: k.loss_grad(params, x, Y, grad), repeat)),
            ("gdc loss_grad_parallel", median_time(lambda: k.loss_grad_parallel(params, x, Y, grad), repeat)),
            ("NumPy, vectorized", median_time(
                lambda: (numpy_logistic if kind == "logistic" else numpy_network)(params, x, Y), repeat))]
    for name, make in (("jax.jit(value_and_grad)", jax_function), ("torch autograd", torch_function)):
        bind = make(kind)
        if bind is not None:
            rows.append((name, median_time(bind(params, x, Y), repeat)))
    return rows


def print_rows(title: str, rows) -> None:
    floor = rows[0][1]
    print(f"\n{title}\n\n| what | median ms | × floor |\n|---|---:|---:|")
    for name, t in rows:
        print(f"| {name} | {t * 1e3:.1f} | {t / floor:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e6)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--compile-repeat", type=int, default=3)
    args = parser.parse_args()
    n = int(args.rows)
    rng = np.random.default_rng(0)
    print(f"numba {__import__('numba').__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs")

    rows = compile_table(args.compile_repeat)
    print("\n1. Derive + compile, logistic regression, new process and empty cache "
          f"(median of {args.compile_repeat})\n")
    print("| d | gdc.compile s | numba first calls s | total s | generated source chars |")
    print("|---:|---:|---:|---:|---:|")
    for d, r in rows:
        print(f"| {d} | {r['gdc']:.2f} | {r['numba']:.2f} | {r['gdc'] + r['numba']:.2f} | {r['source']:.0f} |")
    (_, small), (_, large) = rows
    print(f"\nratio d=1000 / d=10: {(large['gdc'] + large['numba']) / (small['gdc'] + small['numba']):.2f}×")

    x, Y = logistic_data(n, 100, rng)
    params = np.concatenate([rng.normal(0, 0.1, 100), [0.1]])
    print_rows(f"2. Fused loss + gradient, logistic regression, d = 100, {n:.0e} rows "
               f"({x.nbytes / 1e6:.0f} MB), median of {args.repeat}",
               gradient_rows("logistic", LOGISTIC.format(d="d"), x, Y, params, args.repeat))

    m = max(n // 10, 1000)
    x, Y = rng.normal(0, 1, (m, 10)), rng.normal(0, 1, m)
    params = rng.normal(0, 0.3, 32 * 10 + 32 + 32 + 1)
    print_rows(f"3. Fused loss + gradient, network tanh h = 32, d = 10, {m:.0e} rows, median of {args.repeat}",
               gradient_rows("network", NETWORK, x, Y, params, args.repeat))


if __name__ == "__main__":
    main()
