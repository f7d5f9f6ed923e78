"""Problem + Options → FitResult for the methods that choose their own steps: lm, newton, bundle."""

from __future__ import annotations

import time

import numpy as np

from gdc.errors import GdcError
from gdc.runtime.limits import MAX_SECOND_ORDER
from .bundle import BundleMetric, bundle, certificate_text
from .least_squares import LeastSquaresKernels, fit_least_squares, least_squares_report
from .newton import HessianKernels, newton
from .projected import fit_in_box
from .options import Options
from .problem import FitResult, Problem
from .reasons import Stop
from .verdict import Curvature

NEEDS = {
    "lm": "a loss that is a sum of squared residuals, c·sum(r^2) or c·mean(r^2)",
    "newton": ("second derivatives that the kernels can compute "
               f"(a model of scalar parameters, at most {MAX_SECOND_ORDER}; not of vectors or matrices)"),
}


def run_second_order(problem: Problem, options: Options, params: np.ndarray, why: str | None,
                     progress) -> FitResult:
    kernels, method = problem.kernels, options.method
    loading = time.perf_counter()
    engine = _engine(problem, method)
    row = params.copy()
    if engine is not None:
        engine.full(row)   # numba compiles or loads the kernels now, not inside the fit
    elif BundleMetric(kernels, problem.data).how is not None:
        BundleMetric(kernels, problem.data).at(row)
    # the gradient kernel too, on one row where the data are read pass by pass (the verdict may
    # need it; a whole pass over streamed files would be a read of every file for nothing)
    warm = problem.data if problem.backend in ("cpu", "gpu") else tuple(column[:1] for column in problem.data)
    kernels.loss_grad(row, *warm, np.zeros_like(row))
    started = time.perf_counter()
    record = len(params) <= 2
    if method == "bundle":
        scale = Curvature(kernels, problem.data).scale
        out, state = bundle(kernels, problem.data, params, scale, options.max_epochs, progress, record)
        message = certificate_text(state) if out.reason == Stop.SUBGRADIENT else out.message()
        gap = state.gap if out.reason == Stop.SUBGRADIENT else float("nan")
    elif problem.box is not None:   # bounds or fixed parameters: projected steps (projected.py)
        out = fit_in_box(engine, problem.box, params, method == "lm", options.max_epochs, progress, record)
        message, gap = out.message(), float("nan")
    else:
        solver = fit_least_squares if method == "lm" else newton
        out = solver(engine, params, options.max_epochs, progress, record=record)
        message, gap = out.message(), float("nan")
    seconds = time.perf_counter() - started
    return FitResult(
        params=dict(zip(kernels.param_names, params.tolist())), loss=out.loss,
        iterations=out.iterations, converged=out.converged, reason=out.reason, seconds=seconds,
        method=method, lr=None, history=np.array(out.history), message=message,
        grad_norm=out.grad_norm, updates=out.iterations,
        path=None if out.path is None else np.array(out.path), model_hash=problem.model_hash,
        n_rows=problem.n_rows, load_seconds=started - loading, method_note=why,
        stats=least_squares_report(problem, params, out.reason, out.stats), gap=gap)


def _engine(problem: Problem, method: str):
    """The second-order kernels a method runs on (None for bundle, which uses the gradient)."""
    kernels = problem.kernels
    if method == "bundle":
        return None
    kernel = kernels.jtj_jtr if method == "lm" else kernels.loss_grad_hess
    if kernel is None:
        raise GdcError(f"--method {method} needs {NEEDS[method]}", where="--method",
                       hint="use --method auto to let gdc choose")
    return (LeastSquaresKernels if method == "lm" else HessianKernels)(kernels, problem.data, problem.reads)
