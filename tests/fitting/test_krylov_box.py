"""The curvature estimates keep their differences inside the box: a parameter whose answer sits at
(or within a difference step of) a bound beyond which the model's gradient is undefined is
certified, not called "not finite". The differences of gdc.fitting.differences against an
explicit Hessian, and the Krylov estimate and the Hessian by differences on a compiled model."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gdc
from gdc.api import prepare
from gdc.fitting.bounds import Box, make_box
from gdc.fitting.differences import central_hessian, forward_products
from gdc.fitting.verdict import DIFFERENCES, KRYLOV, Curvature
from gdc.fitting.weights import fit_kernels


def kernel(theta, out):
    """f = Σ θᵢ³/6 + θᵢ² + θ₀θ₁, defined in BOX only (its gradient is NaN outside)."""
    inside = (theta >= 0.0) & (theta <= np.array([math.inf, math.inf, 1.0]))
    out[:] = np.where(inside, 0.5 * theta ** 2 + 2.0 * theta, math.nan)
    out[0] += theta[1]
    out[1] += theta[0]
    return float(np.sum(theta ** 3 / 6 + theta ** 2) + theta[0] * theta[1])


def hessian(theta):
    return np.diag(theta + 2.0) + np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])


BOX = Box(np.zeros(3), np.array([math.inf, math.inf, 1.0]), np.zeros(3, dtype=bool), (None, None, None))


@pytest.mark.parametrize("theta, v, extra", [
    ([0.0, 1.0, 0.5], [-1.0, 0.0, 1.0], 0),   # θ₀ on its bound, v out of it: backward
    ([0.0, 0.0, 0.5], [-1.0, 1.0, 0.0], 1),   # out forwards and backwards: split in two passes
    ([0.3, 1.0, 1.0], [1.0, 0.0, 1.0], 0),    # θ₂ on its upper bound: backward
    ([1e-9, 1.0, 0.5], [-1.0, 0.5, 0.2], 0),  # a step from inside that would cross the bound
])
def test_products_stay_in_the_box_and_match_the_hessian(theta, v, extra):
    theta, v = np.array(theta), np.array(v) / np.linalg.norm(v)
    grad = np.zeros(3)
    kernel(theta, grad)
    product = forward_products(kernel, (), theta, grad, None, 1e-7, BOX)
    image = product(v)
    assert np.all(np.isfinite(image)) and product.extra == extra
    np.testing.assert_allclose(image, hessian(theta) @ v, atol=1e-6)
    unboxed = forward_products(kernel, (), theta, grad, None, 1e-7)(v)   # as before: NaN
    assert not np.all(np.isfinite(unboxed))


def test_a_product_in_an_interval_narrower_than_the_step_shrinks_the_step():
    narrow = Box(np.zeros(3), np.array([1e-9, math.inf, math.inf]), np.zeros(3, dtype=bool), (None,) * 3)
    theta = np.array([5e-10, 1.0, 1.0])
    grad = np.zeros(3)
    kernel(theta, grad)
    product = forward_products(kernel, (), theta, grad, None, 1e-7, narrow)
    image = product(np.array([1.0, 0.0, 0.0]))
    np.testing.assert_allclose(image, hessian(theta)[:, 0], atol=1e-6)
    assert product.extra == 0   # one side only: one pass, not a second one on an empty part


def test_a_central_hessian_on_a_bound_is_one_sided_there():
    theta = np.array([0.0, 0.7, 1.0])   # θ₀ on its lower bound, θ₂ on its upper
    grad = np.zeros(3)
    kernel(theta, grad)
    np.testing.assert_allclose(central_hessian(kernel, (), theta, grad, BOX), hessian(theta), atol=1e-5)
    assert not np.all(np.isfinite(central_hessian(kernel, (), theta, grad)))   # as before: NaN


# a logistic regression with a parameter k whose answer, 1e-9, is a difference step away from
# its bound 0; below 0 the gradient of sqrt(k) is NaN
NEAR = ("data x[d], Y\nparam w[d] = 0, b = 0, k = 1 in (0, inf)\nmodel p = sigmoid(dot(w, x) + b)\n"
        "loss mean(-Y*log(p) - (1 - Y)*log(1 - p)) + 0.001*sum(w^2) + (k - 1e-9)^2 + 1e-30*sqrt(k)\n")


@pytest.fixture(scope="module")
def near():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((400, 3))
    y = (rng.random(400) < 1 / (1 + np.exp(-x @ np.array([1.0, -1.0, 0.5])))).astype(float)
    return {"x": x, "Y": y}


def test_an_answer_a_step_from_a_bound_is_certified_not_called_not_finite(near):
    result = gdc.fit(NEAR, near, method="lbfgs", gtol=1e-9, tol=0)   # 1e-12 lies below some CPUs' rounding there
    assert result.converged, result.message   # the differences stepped below 0: "not finite"
    assert "by the gradient's finite differences" in result.message
    problem = prepare(NEAR, near)
    kernels = fit_kernels(problem)
    box = make_box(problem.kernels, problem.params_layout, None, None)
    theta = np.r_[result.params["w"], result.params["b"], 1e-9]
    gaps = {}
    for krylov in (True, False):
        curvature = Curvature(kernels, problem.data, box, krylov=krylov)
        loss, gaps[krylov] = curvature.gap(theta, 10.0, 1e-8)
        assert curvature.how == (KRYLOV if krylov else DIFFERENCES)
        assert 0.0 <= gaps[krylov] <= 1e-8 * loss   # was NaN: a product stepped below k = 0
    assert gaps[True] >= gaps[False]   # the Krylov estimate is the upper one
