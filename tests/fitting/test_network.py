"""The one-hidden-layer network of examples/network.gd (tanh, h = 32, d = 10) on the diabetes data:
its compiled gradient against central differences, and a fit that beats the best linear model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gdc
from locations import EXAMPLES, DATA

MODEL = EXAMPLES / "network.gd"
DATA = EXAMPLES / "diabetes.csv"
H, D = 32, 10


@pytest.fixture(scope="module")
def diabetes():
    table = np.loadtxt(DATA, delimiter=",", skiprows=1)
    return np.ascontiguousarray(table[:, :-1]), table[:, -1].copy()


@pytest.fixture(scope="module")
def kernels():
    return gdc.compile(MODEL)


def numpy_loss(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """The model written by hand in NumPy, the layout being W (row-major), c, v, a."""
    W = theta[:H * D].reshape(H, D)
    c, v, a = theta[H * D:H * D + H], theta[H * D + H:H * D + 2 * H], theta[-1]
    r = np.tanh(x @ W.T + c) @ v + a - y
    return float(np.mean(r * r))


def test_the_gradient_matches_central_differences(kernels, diabetes):
    x, y = diabetes
    rng = np.random.default_rng(3)
    theta = np.concatenate([rng.uniform(-3, 3, H * D), rng.uniform(-1, 1, H),
                            rng.uniform(-40, 40, H), [150.0]])
    grad = np.empty_like(theta)
    loss = kernels.loss_grad(theta, x, y, grad)
    assert loss == pytest.approx(numpy_loss(theta, x, y), rel=1e-12)
    for k in rng.choice(theta.size, 60, replace=False):
        h = 1e-5 * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (numpy_loss(up, x, y) - numpy_loss(down, x, y)) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-6, abs=1e-6 * abs(loss)), k


def test_the_network_fits_better_than_any_linear_model(diabetes):
    x, y = diabetes
    design = np.column_stack([x, np.ones(len(y))])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    linear = np.mean((design @ coef - y) ** 2)
    result = gdc.fit(MODEL, DATA, method="gd", epochs=2000)   # the README's command
    assert result.method == "gd"
    assert result.params["W"].shape == (H, D) and result.params["v"].shape == (H,)
    # 32 tanh units can bend where a plane cannot: as the README says, 2000 epochs bring the
    # training error below half of the best linear model's.
    assert result.loss < 0.5 * linear, (result.loss, linear)
    assert result.loss == pytest.approx(numpy_loss(np.concatenate(
        [result.params["W"].ravel(), result.params["c"], result.params["v"], [result.params["a"]]]), x, y),
        rel=1e-9)
