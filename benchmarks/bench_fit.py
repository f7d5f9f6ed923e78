"""How fast `gdc fit` is, and where its time goes.

    python benchmarks/bench_fit.py [--rows 1000000] [--epochs 1000] [--repeat 5]

1. `gdc fit --method gd` for 1000 epochs on 10⁶ rows of the linear model `y = m*x + b`,
   as a command (a fresh process, cached kernels) and as the loop alone, against the
   same full-batch loop written in NumPy.
2. The Python overhead of the loop: (loop time − time of the same kernel calls made
   back to back) / loop time.
3. Per-row SGD: `gdc fit --method sgd` against scikit-learn's SGDRegressor doing the same
   algorithm (squared error, no penalty, constant rate, shuffled epochs, no early stop).
4. The fused gradient kernel, serial and parallel, by N (why gd switches at 4·10⁶ rows).
5. A warm `gdc fit` of the example on its 30 rows, command to report: median of --repeat
   fresh processes, with the time of `import numba` and of the first kernel call beside it.

The kernels are compiled into a temporary cache first, so no timing includes compiling.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = ROOT / "examples" / "students.csv"
LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"
EXAMPLE = ROOT / "examples" / "linear.gd"
LR = 0.1


def gdc_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gdc", *args]


def timed_process(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def write_data(path: Path, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(rows)
    y = 0.9 * x - 0.5 + rng.normal(0, 0.3, rows)
    with open(path, "w") as f:
        f.write("x,Y\n")
        f.write("".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    return x, y


def numpy_gd(x: np.ndarray, y: np.ndarray, epochs: int) -> float:
    """The same full-batch loop in NumPy: residual, loss, gradient, step."""
    m = b = 0.0
    started = time.perf_counter()
    for _ in range(epochs):
        r = m * x + b - y
        loss = float(r @ r) / len(x)
        gm, gb = 2 * float(r @ x) / len(x), 2 * float(r.sum()) / len(x)
        m, b = m - LR * gm, b - LR * gb
    del loss
    return time.perf_counter() - started


def kernels_alone(kernels, data, epochs: int) -> float:
    params, grad = np.zeros(2), np.zeros(2)
    kernel = kernels.loss_grad
    kernel(params, *data, grad)
    started = time.perf_counter()
    for _ in range(epochs + 1):   # the loop makes one call per epoch, and one at the start
        kernel(params, *data, grad)
    return time.perf_counter() - started


def kernel_share(problem, epochs: int) -> tuple[float, float]:
    """(loop seconds, seconds inside loss_grad) of one gd fit, both timed in the same run."""
    import dataclasses
    import types

    from gdc.fitting.options import Options
    from gdc.fitting.run import run
    spent = [0.0]
    real = problem.kernels.loss_grad

    def timed(*args):
        started = time.perf_counter()
        value = real(*args)
        spent[0] += time.perf_counter() - started
        return value

    module = types.SimpleNamespace(**vars(problem.kernels.module))
    module.loss_grad = timed
    kernels = dataclasses.replace(problem.kernels, module=module)
    result = run(dataclasses.replace(problem, kernels=kernels), Options(lr=LR, epochs=epochs, tol=0, gtol=0))
    return result.seconds, spent[0]


def python_cost_per_epoch(kernels, epochs: int = 100_000) -> float:
    """Seconds of Python per gd epoch, measured where the kernel costs nothing: on 2 rows."""
    from gdc.api import prepare
    from gdc.fitting.options import Options
    from gdc.fitting.run import run
    x, y = np.array([1.0, 2.0]), np.array([1.0, 2.5])
    problem = prepare(kernels, {"x": x, "Y": y})
    costs = []
    for _ in range(3):
        seconds = run(problem, Options(lr=0.01, epochs=epochs, tol=0, gtol=0)).seconds
        costs.append(seconds - kernels_alone(kernels, problem.data, epochs))
    return min(costs) / epochs


def sklearn_sgd(x: np.ndarray, y: np.ndarray, epochs: int) -> float | None:
    try:
        from sklearn.linear_model import SGDRegressor
    except ImportError:
        return None
    # sklearn's squared_error is r²/2 per row, ours (y - Y)² : the same steps at eta0 = 2·lr.
    model = SGDRegressor(loss="squared_error", penalty=None, learning_rate="constant",
                         eta0=2 * 1e-3, max_iter=epochs, tol=None, shuffle=True, random_state=0,
                         average=False)
    started = time.perf_counter()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x.reshape(-1, 1), y)
    return time.perf_counter() - started


def parallel_crossover(kernels) -> list[tuple[int, float, float]]:
    rows = []
    for n in (100_000, 1_000_000, 4_000_000, 10_000_000):
        rng = np.random.default_rng(1)
        x, y = rng.standard_normal(n), rng.standard_normal(n)
        params, grad = np.zeros(2), np.zeros(2)
        times = []
        for kernel in (kernels.loss_grad, kernels.loss_grad_parallel):
            kernel(params, x, y, grad)
            reps = max(5, 20_000_000 // n)
            best = min(_repeat(kernel, params, x, y, grad, reps) for _ in range(3))
            times.append(best * 1e3)
        rows.append((n, *times))
    return rows


def _repeat(kernel, params, x, y, grad, reps: int) -> float:
    started = time.perf_counter()
    for _ in range(reps):
        kernel(params, x, y, grad)
    return (time.perf_counter() - started) / reps


def warm_example(env: dict, repeat: int) -> dict[str, float]:
    model = str(EXAMPLE) if EXAMPLE.exists() else None
    with tempfile.TemporaryDirectory() as tmp:
        if model is None:
            model = str(Path(tmp) / "linear.gd")
            Path(model).write_text(LINEAR)
        command = gdc_command("fit", model, str(STUDENTS), "--map", "x=height,Y=weight", "-q")
        timed_process(command, env)   # compile into the cache
        runs = [timed_process(command, env) for _ in range(repeat)]
        probe = ("import time; t = time.perf_counter(); import numba; print(time.perf_counter() - t)")
        numba_import = statistics.median(
            float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeat))
        python_alone = statistics.median(timed_process([sys.executable, "-c", "pass"], env)
                                         for _ in range(repeat))
    return {"median": statistics.median(runs), "min": min(runs), "max": max(runs),
            "python": python_alone, "import numba": numba_import}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--sgd-epochs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GDC_CACHE_DIR=str(Path(tmp) / "cache"))
        os.environ["GDC_CACHE_DIR"] = env["GDC_CACHE_DIR"]
        from gdc.api import prepare
        from gdc.fitting.options import Options
        from gdc.fitting.run import run

        data_path = Path(tmp) / "big.csv"
        x, y = write_data(data_path, args.rows)
        model = Path(tmp) / "linear.gd"
        model.write_text(LINEAR)
        problem = prepare(str(model), str(data_path))
        run(problem, Options(lr=LR, epochs=2))                      # compile
        run(problem, Options(method="sgd", lr=1e-3, epochs=1))

        # Interleaved, best of five each: the machine's other load hits both alike.
        loops, alones = [], []
        for _ in range(5):
            gd = run(problem, Options(lr=LR, epochs=args.epochs, tol=0, gtol=0))
            loops.append(gd.seconds)
            alones.append(kernels_alone(problem.kernels, problem.data, args.epochs))
        loop, alone = min(loops), min(alones)
        per_epoch_python = python_cost_per_epoch(problem.kernels)
        shares = [kernel_share(problem, args.epochs) for _ in range(3)]
        command = gdc_command("fit", str(model), str(data_path), "--lr", str(LR), "--epochs",
                              str(args.epochs), "--tol", "0", "--gtol", "0", "-q")
        whole = timed_process(command, env)
        numpy_seconds = numpy_gd(x, y, args.epochs)
        sgd = run(problem, Options(method="sgd", lr=1e-3, epochs=args.sgd_epochs, tol=0, gtol=0))
        sklearn_seconds = sklearn_sgd(x, y, args.sgd_epochs)
        crossover = parallel_crossover(problem.kernels)
        warm = warm_example(env, args.repeat)

    n, e = args.rows, args.epochs
    overhead = (loop - alone) / loop
    print(f"rows {n}, gd epochs {e}, sgd epochs {args.sgd_epochs}; times are wall seconds\n")
    print("| what | seconds | per epoch |")
    print("| --- | ---: | ---: |")
    print(f"| `gdc fit --method gd` command (process, CSV read, fit, report) | {whole:.2f} | |")
    print(f"| gdc gd loop (`FitResult.seconds`, best of 5) | {loop:.3f} | {loop / e * 1e3:.3f} ms |")
    print(f"| the same {e + 1} `loss_grad` kernel calls, back to back (best of 5) | {alone:.3f} "
          f"| {alone / e * 1e3:.3f} ms |")
    print(f"| NumPy full-batch loop | {numpy_seconds:.2f} | {numpy_seconds / e * 1e3:.2f} ms |")
    print(f"| gdc sgd, {args.sgd_epochs} epochs (shuffle + row updates + full-batch loss) "
          f"| {sgd.seconds:.3f} | {sgd.seconds / args.sgd_epochs * 1e3:.1f} ms |")
    if sklearn_seconds is not None:
        print(f"| scikit-learn SGDRegressor, same algorithm, {args.sgd_epochs} epochs "
              f"| {sklearn_seconds:.3f} | {sklearn_seconds / args.sgd_epochs * 1e3:.1f} ms |")
    print(f"\nPython overhead of the gd loop at {n} rows: {overhead * 100:.1f}% "
          f"(loop − kernels = {(loop - alone) / e * 1e6:.1f} µs per epoch); measured on 2 rows, "
          f"the loop's Python costs {per_epoch_python * 1e6:.1f} µs per epoch, "
          f"{per_epoch_python / (alone / e) * 100:.1f}% of one kernel call at {n} rows")
    inside = ", ".join(f"{(total - kernel) / total * 100:.1f}%" for total, kernel in shares)
    print(f"Python share of the gd loop timed inside one run (loop − time inside loss_grad, "
          f"three runs): {inside}")
    print(f"gdc gd loop vs NumPy: {numpy_seconds / loop:.1f}× faster\n")
    print("| rows | loss_grad (ms) | loss_grad_parallel (ms) |")
    print("| ---: | ---: | ---: |")
    for rows, serial, parallel in crossover:
        print(f"| {rows} | {serial:.3f} | {parallel:.3f} |")
    print(f"\nwarm `gdc fit` of the example (30 rows), command to report, {args.repeat} runs: "
          f"median {warm['median']:.2f} s (min {warm['min']:.2f}, max {warm['max']:.2f}); "
          f"of which `python -c pass` {warm['python']:.2f} s and `import numba` "
          f"{warm['import numba']:.2f} s")


if __name__ == "__main__":
    main()
