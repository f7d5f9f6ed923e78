"""The generated kernels against the memory-read floor and their peers, side by side in one run.

    python benchmarks/bench_kernels.py [--rows 1e6,1e7] [--repeat 7] [--no-compile]

For each model and row count: the floor (NumPy summing each input array once), gdc's fused
`loss_grad` (serial and parallel), the same gradient in vectorized NumPy, and, where they are
installed, jax.jit(value_and_grad) and torch autograd (CPU, float64). Then one SGD epoch:
gdc's `sgd_epoch`, a hand-written numba loop, and scikit-learn's SGDRegressor. Then the time
to compile a fresh model and to load a cached one, each in a new process. Medians of
--repeat runs; every ratio is to the floor of the same rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numba
import numpy as np

import gdc

INPUTS = 10  # logistic regression inputs
MODELS = {
    "linear": "model y = m*x + b\nloss mean((y - Y)^2)",
    "logistic": "model p = sigmoid(" + " + ".join(f"w{j}*X{j}" for j in range(INPUTS))
                + " + c)\nloss mean(-Y*log(p) - (1 - Y)*log(1 - p))",
    "exp": "model y = a*exp(-k*t) + c\nloss mean((y - Y)^2)",
}


# ------------------------------------------------------------------ data and reference gradients

def make_data(name: str, n: int, rng) -> dict[str, np.ndarray]:
    if name == "linear":
        x = rng.uniform(0, 2, n)
        return {"x": x, "Y": 3 * x + 1 + rng.normal(0, 0.1, n)}
    if name == "exp":
        t = rng.uniform(0, 5, n)
        return {"t": t, "Y": 2 * np.exp(-0.7 * t) + 0.5 + rng.normal(0, 0.05, n)}
    columns = {f"X{j}": rng.normal(0, 1, n) for j in range(INPUTS)}
    z = sum(columns.values()) * 0.3
    columns["Y"] = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-z))).astype(np.float64)
    return columns


def numpy_loss_grad(name: str, params: np.ndarray, data: dict[str, np.ndarray]):
    """The same loss and gradient as vectorized NumPy expressions."""
    if name == "linear":
        m, b = params
        r = m * data["x"] + b - data["Y"]
        return np.mean(r * r), np.array([2 * np.mean(r * data["x"]), 2 * np.mean(r)])
    if name == "exp":
        a, k, c = params
        e = np.exp(-k * data["t"])
        r = a * e + c - data["Y"]
        return np.mean(r * r), np.array([2 * np.mean(r * e), -2 * a * np.mean(r * e * data["t"]),
                                         2 * np.mean(r)])
    X = np.stack([data[f"X{j}"] for j in range(INPUTS)])
    z = params[:INPUTS] @ X + params[INPUTS]
    Y = data["Y"]
    loss = np.mean(np.logaddexp(0, z) - Y * z)
    d = 1 / (1 + np.exp(-z)) - Y
    return loss, np.append(X @ d / len(Y), np.mean(d))


def jax_function(name: str):
    if importlib.util.find_spec("jax") is None:
        return None
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    if name == "linear":
        def loss(p, x, Y):
            return jnp.mean((p[0] * x + p[1] - Y) ** 2)
    elif name == "exp":
        def loss(p, t, Y):
            return jnp.mean((p[0] * jnp.exp(-p[1] * t) + p[2] - Y) ** 2)
    else:
        def loss(p, *columns):
            *X, Y = columns
            z = sum(p[j] * X[j] for j in range(INPUTS)) + p[INPUTS]
            return jnp.mean(jnp.logaddexp(0.0, z) - Y * z)
    f = jax.jit(jax.value_and_grad(loss))

    def bind(params, columns):
        on_device = [jnp.asarray(c) for c in columns]  # once, outside the timed calls

        def run():
            value, grad = f(params, *on_device)
            grad.block_until_ready()
            return value
        return run
    return bind


def torch_function(name: str):
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    def loss(p, columns):
        if name == "linear":
            x, Y = columns
            return torch.mean((p[0] * x + p[1] - Y) ** 2)
        if name == "exp":
            t, Y = columns
            return torch.mean((p[0] * torch.exp(-p[1] * t) + p[2] - Y) ** 2)
        *X, Y = columns
        z = sum(p[j] * X[j] for j in range(INPUTS)) + p[INPUTS]
        return torch.mean(torch.nn.functional.softplus(z) - Y * z)

    def bind(params, columns):
        tensors = [torch.from_numpy(c) for c in columns]  # shares the arrays' memory

        def run():
            p = torch.tensor(params, dtype=torch.float64, requires_grad=True)
            value = loss(p, tensors)
            value.backward()
            return value.item()
        return run
    return bind


# ------------------------------------------------------------------ timing

def median_time(f, repeat: int) -> float:
    f()  # warm: compile, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gradient_table(rows: list[int], repeat: int) -> list[tuple]:
    results = []
    for n in rows:
        for name, text in MODELS.items():
            rng = np.random.default_rng(0)
            k = gdc.compile(text)
            data = make_data(name, n, rng)
            columns = tuple(data[d] for d in k.data_names)
            params = k.initial + 0.1
            grad = np.zeros_like(params)
            floor = median_time(lambda: [c.sum() for c in columns], repeat)
            row = {"floor (NumPy sum of each input)": floor,
                   "gdc loss_grad": median_time(lambda: k.loss_grad(params, *columns, grad), repeat),
                   "gdc loss_grad_parallel": median_time(
                       lambda: k.loss_grad_parallel(params, *columns, grad), repeat),
                   "NumPy vectorized": median_time(lambda: numpy_loss_grad(name, params, data), repeat)}
            # the reference agrees with the kernels
            value, want = numpy_loss_grad(name, params, data)
            got = k.loss_grad(params, *columns, grad)
            assert np.isclose(got, value, rtol=1e-9) and np.allclose(grad, want, rtol=1e-7, atol=1e-12)
            for peer, make in (("jax.jit(value_and_grad)", jax_function), ("torch autograd", torch_function)):
                bind = make(name)
                row[peer] = median_time(bind(params, columns), repeat) if bind else None
            results.append((name, n, row))
    return results


# ------------------------------------------------------------------ SGD

@numba.njit(cache=False, error_model="numpy")
def hand_sgd(params, x, Y, lr, order):
    """The classic m <- m - lr*(error)*x, b <- b - lr*error, on (m*x + b - Y)^2."""
    m, b = params[0], params[1]
    total = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        r = m * x[i] + b - Y[i]
        total += r * r
        m -= lr * 2.0 * r * x[i]
        b -= lr * 2.0 * r
    params[0], params[1] = m, b
    return total / order.shape[0]


def sgd_table(rows: list[int], repeat: int) -> list[tuple]:
    k = gdc.compile(MODELS["linear"])
    results = []
    for n in rows:
        data = make_data("linear", n, np.random.default_rng(1))
        x, Y = data["x"], data["Y"]
        order = np.arange(n)
        lr = 1e-4
        floor = median_time(lambda: (x.sum(), Y.sum()), repeat)
        row = {"floor (NumPy sum of each input)": floor,
               "gdc sgd_epoch": median_time(lambda: k.sgd_epoch(np.zeros(2), x, Y, lr, order), repeat),
               "hand-written numba loop": median_time(lambda: hand_sgd(np.zeros(2), x, Y, lr, order), repeat)}
        a, b = np.zeros(2), np.zeros(2)
        k.sgd_epoch(a, x, Y, lr, order)
        hand_sgd(b, x, Y, lr, order)
        assert np.allclose(a, b, rtol=1e-9)
        if importlib.util.find_spec("sklearn") is not None:
            from sklearn.linear_model import SGDRegressor
            X = x.reshape(-1, 1)

            def sklearn_epoch():
                # sklearn's squared error is (p - y)^2 / 2: half of gdc's gradient, so twice the rate
                model = SGDRegressor(loss="squared_error", penalty=None, learning_rate="constant",
                                     eta0=2 * lr, shuffle=False, average=False)
                model.partial_fit(X, Y)
                return model
            row["scikit-learn SGDRegressor.partial_fit"] = median_time(sklearn_epoch, repeat)
            model = sklearn_epoch()
            assert np.allclose([model.coef_[0], model.intercept_[0]], a, rtol=1e-6), (model.coef_, a)
        else:
            row["scikit-learn SGDRegressor.partial_fit"] = None
        results.append(("linear sgd", n, row))
    return results


# ------------------------------------------------------------------ compile and load

_CHILD = textwrap.dedent("""
    import time, sys
    start = time.perf_counter()
    import numpy as np, numba, gdc
    imported = time.perf_counter()
    k = gdc.compile(sys.argv[1])
    compiled = time.perf_counter()
    columns = [np.ones(10) for _ in k.data_names]
    k.loss_grad(k.initial, *columns, np.zeros(len(k.initial)))
    called = time.perf_counter()
    print(imported - start, compiled - imported, called - compiled)
""")

# numba's own price for the first call of a cached function in a new process (its runtime
# starts up then): the floor under any cached load.
_NUMBA_FLOOR = textwrap.dedent("""
    import time, sys, numpy as np, numba
    sys.path.insert(0, sys.argv[1])
    import tiny
    start = time.perf_counter()
    tiny.f(np.ones(10))
    print(time.perf_counter() - start)
""")


def numba_first_call(repeat: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "tiny.py"), "w") as f:
            f.write("import numba\n\n@numba.njit(cache=True)\ndef f(x):\n    return x.sum()\n")
        times = [float(subprocess.run([sys.executable, "-c", _NUMBA_FLOOR, folder], check=True,
                                      capture_output=True, text=True).stdout) for _ in range(repeat)]
    return statistics.median(times[1:])  # the first run compiled


def compile_table(repeat: int) -> list[tuple[str, list[float]]]:
    """A new model in a new cache, then the same model again from the cache, each in a new process."""
    rows = []
    for name in ("linear", "logistic", "exp"):
        fresh, cached = [], []
        for attempt in range(max(1, repeat // 2)):
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, GDC_CACHE_DIR=cache)
                text = MODELS[name] + f" * {1 + attempt / 1000}"  # a model no cache has seen
                for into in (fresh, cached):
                    out = subprocess.run([sys.executable, "-c", _CHILD, text], env=env, check=True,
                                         capture_output=True, text=True).stdout
                    into.append([float(v) for v in out.split()])
        rows.append((name, [statistics.median(c) for c in zip(*fresh)],
                     [statistics.median(c) for c in zip(*cached)]))
    return rows


# ------------------------------------------------------------------ report

def print_gradients(title: str, results) -> None:
    print(f"\n### {title}\n")
    print("| model | rows | what | median ms | × floor |")
    print("| --- | ---: | --- | ---: | ---: |")
    for name, n, row in results:
        floor = row["floor (NumPy sum of each input)"]
        for what, seconds in row.items():
            if seconds is None:
                print(f"| {name} | {n:.0e} | {what} | not installed | |")
            else:
                print(f"| {name} | {n:.0e} | {what} | {seconds * 1e3:.1f} | {seconds / floor:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1e6,1e7", help="comma-separated row counts")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-compile", action="store_true", help="skip the compile/load timings")
    args = parser.parse_args()
    rows = [int(float(r)) for r in args.rows.split(",")]
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GDC_CACHE_DIR"] = cache  # compile once here, outside every timed call
        print(f"numba {numba.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
              f"{numba.get_num_threads()} numba threads")
        print_gradients("loss and gradient", gradient_table(rows, args.repeat))
        print_gradients("one SGD epoch (linear model, rows in order, constant rate)", sgd_table(rows, args.repeat))
    if not args.no_compile:
        print("\n### compile a new model / load it from the cache (each a new process), seconds\n")
        print("| model | import numpy, numba, gdc | gdc.compile | first loss_grad call | total |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, fresh, cached in compile_table(args.repeat):
            for label, t in (("new", fresh), ("cached", cached)):
                print(f"| {name} ({label}) | {t[0]:.2f} | {t[1]:.2f} | {t[2]:.2f} | {sum(t):.2f} |")
        print(f"\nnumba alone, first call of a cached one-line function in a new process: "
              f"{numba_first_call(max(3, args.repeat)):.2f} s")


if __name__ == "__main__":
    main()
