"""The statistics reported after any least-squares fit: RSS, standard errors, condition."""

from __future__ import annotations

import numpy as np

from .method import MAX_STATISTICS
from .problem import Problem
from .second_order import LeastSquaresKernels, least_squares_stats


def least_squares_report(problem: Problem, params: np.ndarray, reason: str, known=None):
    """RSS, standard errors and condition after a least-squares fit (None for other losses, for
    a diverged fit, and past MAX_STATISTICS parameters); `problem` holds the flat kernels."""
    if len(params) > MAX_STATISTICS or problem.kernels.jtj_jtr is None or reason == "diverged" \
            or not np.all(np.isfinite(params)):
        return None
    if known is not None and not known.warnings:   # computed by the fit, without the names
        return known
    names = problem.kernels.param_names
    return least_squares_stats(LeastSquaresKernels(problem.kernels, problem.data), params, names)
