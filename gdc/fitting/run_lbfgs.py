"""Problem + Options → FitResult for L-BFGS (gdc.fitting.lbfgs) on the fused loss+gradient kernel;
in a box, gdc.fitting.lbfgs_box's projected steps."""

from __future__ import annotations

import functools
import time

import numpy as np

from .lbfgs import lbfgs
from .lbfgs_box import BoxedLBFGS
from .least_squares import least_squares_report
from .optimizers import Objective
from .options import LBFGS_GTOL, LBFGS_TOL, Options
from .problem import FitResult, Problem


def run_lbfgs(problem: Problem, options: Options, params: np.ndarray, why: str | None,
              progress) -> FitResult:
    """`problem` holds the flat kernels (one scalar parameter per element)."""
    kernels = problem.kernels
    loading = time.perf_counter()
    objective = Objective(kernels, problem.data)
    objective.warm_up(params)
    started = time.perf_counter()
    # each tolerance the user gave, L-BFGS's own default for the other (not gradient descent's)
    given = options.given_tolerances
    gtol = options.gtol if "gtol" in given else LBFGS_GTOL
    tol = options.tol if "tol" in given else LBFGS_TOL
    make = None if problem.box is None else functools.partial(BoxedLBFGS, box=problem.box)   # L-BFGS-B
    out, message = lbfgs(objective, params, options.max_epochs, gtol, tol, progress, record=len(params) <= 2,
                         make=make)
    seconds = time.perf_counter() - started
    return FitResult(
        params=dict(zip(kernels.param_names, params.tolist())), loss=out.loss,
        iterations=out.iterations, converged=out.converged, reason=out.reason, seconds=seconds,
        method="lbfgs", lr=None, history=np.array(out.history),
        message=message, grad_norm=out.grad_norm,
        updates=out.iterations, path=None if out.path is None else np.array(out.path),
        model_hash=problem.model_hash, n_rows=problem.n_rows, load_seconds=started - loading,
        method_note=why, stats=least_squares_report(problem, params, out.reason),
        advice="" if out.converged else "try other starting values (--init), or more --epochs")
