"""Problem + Options → FitResult for the second-order methods (lm, newton)."""

from __future__ import annotations

import time

import numpy as np

from gdc.errors import GdcError
from .problem import FitResult, Problem
from .options import Options
from .second_order import HessianKernels, LeastSquaresKernels, fit_least_squares, newton
from .statistics import least_squares_report


def run_second_order(problem: Problem, options: Options, params: np.ndarray, why: str | None,
                     progress) -> FitResult:
    kernels, method = problem.kernels, options.method
    kernel = kernels.jtj_jtr if method == "lm" else kernels.loss_grad_hess
    if kernel is None:
        need = ("a loss that is a sum of squared residuals, c·sum(r^2) or c·mean(r^2)"
                if method == "lm" else "second derivatives that the kernels can compute "
                "(a model of at most 50 parameters)")
        raise GdcError(f"--method {method} needs {need}", where="--method",
                       hint="use --method auto to let gdc choose")
    loading = time.perf_counter()
    engine = (LeastSquaresKernels if method == "lm" else HessianKernels)(kernels, problem.data)
    row = params.copy()
    engine.full(row)   # numba compiles or loads the kernels now, not inside the fit
    kernels.loss(row, *problem.data)
    started = time.perf_counter()
    solver = fit_least_squares if method == "lm" else newton
    out = solver(engine, params, options.max_epochs, progress, record=len(params) <= 2)
    seconds = time.perf_counter() - started
    return FitResult(
        params=dict(zip(kernels.param_names, params.tolist())), loss=out.loss,
        iterations=out.iterations, converged=out.converged, reason=out.reason, seconds=seconds,
        method=method, lr=None, history=np.array(out.history), message=out.message(),
        grad_norm=out.grad_norm, updates=out.iterations,
        path=None if out.path is None else np.array(out.path), model_hash=problem.model_hash,
        n_rows=problem.n_rows, load_seconds=started - loading, method_note=why,
        stats=least_squares_report(problem, params, out.reason, out.stats))
