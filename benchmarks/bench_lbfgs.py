"""L-BFGS: a warm `gdc.fit(method="lbfgs")` against scikit-learn's LogisticRegression(solver="lbfgs").

    python benchmarks/bench_lbfgs.py [--rows 1000000] [--features 100] [--repeat 3] [--gtol 1e-5]

Logistic regression with the same L2 penalty on both sides (scikit-learn's objective is
mean log-loss + ‖w‖²/(2·C·N), so gdc's loss is that with λ = 1/(2·C·N)), standardised
synthetic features, and the same gradient tolerance (scikit-learn's `tol` is scipy's gtol, the
largest |∂J/∂θⱼ|; so is gdc's --gtol for lbfgs). The kernels are compiled on a slice first, so
no row includes compiling; each row is the median of --repeat runs, taken side by side.
The certify=False row is gdc without the certificate at its answer (the other checks run),
which is what scikit-learn does: it stops on its tolerance.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

MODEL = """data x[d], Y
param w[d] = 0, b = 0
model p = sigmoid(dot(w, x) + b)
loss mean(-Y*log(p) - (1 - Y)*log(1 - p)) + {lam!r}*sum(w^2)
"""


def synthetic(rows: int, features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standardised Gaussian features and labels drawn from a logistic model (not separable)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features))
    x -= x.mean(axis=0)
    x /= x.std(axis=0)
    true = rng.standard_normal(features) / np.sqrt(features)
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-(x @ true + 0.3)))).astype(np.float64)
    return np.ascontiguousarray(x), y


def gdc_fit(model: str, x, y, gtol: float, certify: bool = True):
    import gdc
    started = time.perf_counter()
    result = gdc.fit(model, {"x": x, "Y": y}, method="lbfgs", gtol=gtol, tol=0.0, certify=certify)
    return time.perf_counter() - started, result


def sklearn_fit(x, y, c: float, gtol: float):
    from sklearn.linear_model import LogisticRegression
    started = time.perf_counter()
    fitted = LogisticRegression(C=c, solver="lbfgs", tol=gtol, max_iter=10_000).fit(x, y)
    return time.perf_counter() - started, fitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gtol", type=float, default=1e-5)
    parser.add_argument("--C", type=float, default=1.0, dest="c")
    args = parser.parse_args()

    import os
    os.environ.setdefault("GDC_CACHE_DIR", tempfile.mkdtemp(prefix="gdc-bench-"))
    x, y = synthetic(args.rows, args.features)
    model = MODEL.format(lam=1.0 / (2.0 * args.c * args.rows))
    gdc_fit(model, x[:100], y[:100], args.gtol)           # compile (or load) the kernels
    gdc_times, gdc_loops, sk_times, bare_times = [], [], [], []
    for _ in range(args.repeat):
        seconds, result = gdc_fit(model, x, y, args.gtol)
        gdc_times.append(seconds)
        gdc_loops.append(result.seconds)
        seconds, fitted = sklearn_fit(x, y, args.c, args.gtol)
        sk_times.append(seconds)
        seconds, bare = gdc_fit(model, x, y, args.gtol, certify=False)
        bare_times.append(seconds)
    if not np.array_equal(bare.params["w"], result.params["w"]):
        raise SystemExit("certify=False changed the parameters: it must only skip the certificate")
    w, b = result.params["w"], result.params["b"]
    difference = max(float(np.max(np.abs(w - fitted.coef_[0]))), abs(b - float(fitted.intercept_[0])))
    gdc_median, sk_median = statistics.median(gdc_times), statistics.median(sk_times)
    print(f"logistic regression, {args.rows} rows × {args.features} features, C = {args.c:g}, "
          f"gtol = {args.gtol:g}, medians of {args.repeat}\n")
    print("| what | seconds | iterations |")
    print("| --- | ---: | ---: |")
    print(f"| gdc.fit(method=\"lbfgs\"), whole call (fit, checks, report) | {gdc_median:.2f} | {result.iterations} |")
    print(f"| of which the L-BFGS loop (FitResult.seconds) | {statistics.median(gdc_loops):.2f} | |")
    print(f"| gdc.fit(..., certify=False): no certificate, as scikit-learn | "
          f"{statistics.median(bare_times):.2f} | {bare.iterations} |")
    print(f"| scikit-learn LogisticRegression(solver=\"lbfgs\") | {sk_median:.2f} | {int(fitted.n_iter_[0])} |")
    print(f"\nscikit-learn / gdc: {sk_median / gdc_median:.2f}× (whole call), "
          f"{sk_median / statistics.median(bare_times):.2f}× (certify=False), "
          f"{sk_median / statistics.median(gdc_loops):.2f}× (loop)")
    print(f"gdc: {result.message}")
    print(f"largest parameter difference: {difference:.2e}")


if __name__ == "__main__":
    main()
