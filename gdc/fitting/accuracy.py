"""A classifier's training accuracy: how often the most probable class is the label (issue 14)."""

from __future__ import annotations

import numpy as np


def training_accuracy(result) -> float | None:
    """The share of the fitted rows whose largest predicted probability is at their label, for a
    vector model fitted to class labels (`data Y[K] from label`); None for any other fit."""
    problem = result.problem
    if problem is None or result.reason.failed or not problem.kernels.labels:
        return None
    kernels = problem.kernels
    if kernels.output_size is None:
        return None
    target = problem.column(next(iter(kernels.labels)))
    params = problem.params_layout.flatten(result.params)
    inputs = [problem.column(name) for name in kernels.input_names]
    probabilities = kernels.predict(params, *inputs)
    return float(np.mean(np.argmax(probabilities, axis=1) == np.argmax(target, axis=1)))
