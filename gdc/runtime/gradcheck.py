"""The compiled gradient against central finite differences of the compiled loss (`gdc check`)."""

from __future__ import annotations

import math

import numpy as np


def gradient_errors(kernels, data, points: int, rng, tries: int = 20):
    """Per point, per parameter: |g − fd| / max(|g|, |fd|, 1e-4·max(1, |J|)); and points skipped."""
    errors, skipped = [], 0
    for _ in range(points * tries):
        if len(errors) == points:
            break
        params = kernels.initial + rng.uniform(-1.0, 1.0, len(kernels.initial))
        grad = np.zeros_like(params)
        value = kernels.loss_grad(params, *data, grad)
        fd = central_differences(kernels.loss, params, data)
        if not (math.isfinite(value) and np.isfinite(grad).all() and np.isfinite(fd).all()):
            skipped += 1
            continue
        floor = 1e-4 * max(1.0, abs(value))
        errors.append(np.abs(grad - fd) / np.maximum(np.maximum(np.abs(grad), np.abs(fd)), floor))
    return errors, skipped


def central_differences(loss, params, data):
    """(J(θ + h·e_j) − J(θ − h·e_j)) / 2h, with h ≈ ∛ε relative to θ_j."""
    fd = params.copy()
    for j in range(len(params)):
        h = 6e-6 * max(1.0, abs(params[j]))
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        fd[j] = (loss(up, *data) - loss(down, *data)) / (up[j] - down[j])
    return fd
