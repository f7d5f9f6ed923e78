"""Problem + Options to FitResult for the second-order methods (lm, newton), and the
statistics reported after any least-squares fit; the second half of fitting.run."""

from __future__ import annotations

import time

import numpy as np

from gdc.errors import GdcError
from .run import FitResult, Problem
from .options import Options
from .second_order import HessianKernels, LeastSquaresKernels, fit_least_squares, least_squares_stats, newton


def least_squares_report(problem: Problem, params: np.ndarray, reason: str, known=None):
    """RSS, standard errors and condition after a least-squares fit (None for other losses)."""
    if problem.kernels.jtj_jtr is None or reason == "diverged" or not np.all(np.isfinite(params)):
        return None
    names = problem.kernels.param_names
    if known is not None and not known.warnings:   # computed by the fit, without the names
        return known
    return least_squares_stats(LeastSquaresKernels(problem.kernels, problem.data), params, names)


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
