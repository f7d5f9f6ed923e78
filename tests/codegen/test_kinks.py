"""The kink convention, evaluated exactly at the kinks: max(a, b)′ = (a′ + b′)/2 at a tie, min
likewise, |u|′ = sign(u) with sign(0) = 0. Ties are made on purpose (a = b = 1 and x = 1 make
a·x = b, and a·x = b·x on every row) and the expected gradient is written out by hand
from the convention; the derivation, sympy.diff and every kernel must give it."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import gdc
import oracles
from gdc.calculus.derive import derive
from gdc.calculus.symbolic import symbolic
from gdc.language.frontend import check_text

# Least squares, so that jtj_jtr and residuals_jacobian exist beside loss_grad_hess.
SCALAR = "param a, b, c\ndata x, Y\nmodel y = max(a*x, b) + min(a*x, b*x) + c*abs(a*x - b)\nloss mean((y - Y)^2)\n"
SHAPED = ("data x[d], Y\nparam w[d], b\nmodel y = max(dot(w, x), b) + abs(sum(w) - 2*b)\n"
          "loss mean((y - Y)^2)\n")

X = np.array([1.0, 2.0, 0.5, 1.0, -1.0])   # a·x = b where x = 1
Y = np.array([0.3, -0.2, 1.1, 2.0, 0.4])
AT = np.array([1.0, 1.0, 1.0])            # a = b = c = 1: every kind of tie


def H(u):
    """Heaviside with H(0) = 1/2: the derivative of max(u, 0)."""
    return np.where(u > 0, 1.0, np.where(u < 0, 0.0, 0.5))


def scalar_expected(theta, x, y):
    """∂J/∂(a, b, c) per sample and in all, from the convention, term by term."""
    a, b, c = theta
    u = a * x
    value = np.maximum(u, b) + np.minimum(u, b * x) + c * np.abs(u - b)
    dy = np.stack([x * H(u - b) + x * H(b * x - u) + c * np.sign(u - b) * x,   # ∂y/∂a
                   H(b - u) + x * H(u - b * x) - c * np.sign(u - b),          # ∂y/∂b
                   np.abs(u - b)], axis=1)                                    # ∂y/∂c
    r = value - y
    per_sample = 2 * r[:, None] * dy
    return per_sample.mean(axis=0), per_sample, r, dy


def test_the_ties_are_ties():
    a, b, c = AT
    assert (a * X == b).sum() == 2 and np.all(a * X == b * X)


def test_the_derivation_and_sympy_diff_follow_the_convention_at_the_kinks():
    want, per_sample, _, _ = scalar_expected(AT, X, Y)
    d = derive(symbolic(check_text(SCALAR)))
    values = dict(zip("abc", AT))
    data = {"x": X, "Y": Y}
    for k, (param, partial) in enumerate(d.partials.items()):
        assert oracles.Evaluator(values, data)(partial) == pytest.approx(want[k], rel=1e-14, abs=1e-14)
        for row in range(len(X)):   # the per-sample gradient of SGD
            got = oracles.Evaluator(values, data, row=row)(d.sgd_partials[param])
            assert got == pytest.approx(per_sample[row, k], rel=1e-14, abs=1e-14), (param, row)
    model = oracles.ScalarModel(SCALAR, "abc", ("x", "Y"))
    for k, gradient in enumerate(model.gradient()):   # sympy.diff: Heaviside(0) = 1/2, sign(0) = 0
        assert oracles.Evaluator(values, data)(gradient) == pytest.approx(want[k], rel=1e-14, abs=1e-14)


def test_every_scalar_kernel_follows_the_convention_at_the_kinks():
    k = gdc.compile(SCALAR)
    want, per_sample, _, _ = scalar_expected(AT, X, Y)
    grad = np.zeros(3)
    k.loss_grad(AT.copy(), X, Y, grad)
    np.testing.assert_allclose(grad, want, rtol=1e-14, atol=1e-15)
    grad = np.zeros(3)
    k.loss_grad_parallel(AT.copy(), X, Y, grad)
    np.testing.assert_allclose(grad, want, rtol=1e-14, atol=1e-15)
    for row in range(len(X)):   # one sgd step from the tie, on one row: θ − lr·∂ℓᵢ/∂θ
        theta = AT.copy()
        k.sgd_epoch(theta, X, Y, 0.5, np.array([row]))
        np.testing.assert_allclose((AT - theta) / 0.5, per_sample[row], rtol=1e-14, atol=1e-15)
    theta = AT.copy()
    k.minibatch_epoch(theta, X, Y, 0.5, len(X), np.arange(len(X)))
    np.testing.assert_allclose((AT - theta) / 0.5, want, rtol=1e-14, atol=1e-15)
    assert k.loss_grad_hess is not None
    grad, hess = np.zeros(3), np.zeros((3, 3))
    k.loss_grad_hess(AT.copy(), X, Y, grad, hess)
    np.testing.assert_allclose(grad, want, rtol=1e-14, atol=1e-15)


def test_the_least_squares_kernels_follow_the_convention_at_the_kinks():
    k = gdc.compile(SCALAR)
    want, _, r, dy = scalar_expected(AT, X, Y)
    r_out, jac = np.zeros(len(X)), np.zeros((len(X), 3))
    k.residuals_jacobian(AT.copy(), X, Y, r_out, jac)
    np.testing.assert_allclose(r_out, r, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(jac, dy, rtol=1e-15, atol=1e-15)
    jtj, jtr = np.zeros((3, 3)), np.zeros(3)
    k.jtj_jtr(AT.copy(), X, Y, jtj, jtr)
    np.testing.assert_allclose(jtj, dy.T @ dy, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(jtr, dy.T @ r, rtol=1e-14, atol=1e-15)
    grad = np.zeros(3)
    k.loss_grad(AT.copy(), X, Y, grad)
    np.testing.assert_allclose(grad, want, rtol=1e-14, atol=1e-15)


# w = (1, 1), b = 1: rows with w·x = b tie in the max, and sum(w) − 2b = 0 always.
XS = np.array([[0.5, 0.5], [1.0, 2.0], [0.25, 0.75], [-1.0, 0.0]])
YS = np.array([0.3, -0.2, 1.1, 0.4])
WB = np.array([1.0, 1.0, 1.0])


def shaped_expected(theta, x, y):
    w, b = theta[:2], theta[2]
    z = x @ w
    value = np.maximum(z, b) + np.abs(w.sum() - 2 * b)
    s = np.sign(w.sum() - 2 * b)
    dy = np.column_stack([x * H(z - b)[:, None] + s, H(b - z) - 2 * s])
    r = value - y
    per_sample = 2 * r[:, None] * dy
    return per_sample.mean(axis=0), per_sample, r, dy


def test_every_shaped_kernel_follows_the_convention_at_the_kinks():
    assert (XS @ WB[:2] == WB[2]).sum() == 2
    k = gdc.compile(SHAPED)
    want, per_sample, r, dy = shaped_expected(WB, XS, YS)
    d = derive(symbolic(check_text(SHAPED)))
    values = {"w": WB[:2], "b": WB[2], "d": 2}
    for (var, partial), col in zip(d.partials.items(), ([0, 1], [2])):
        for pick, c in enumerate(col):
            free = {var.indices[0].name: pick} if isinstance(var, sympy.Indexed) else {}
            got = oracles.Evaluator({**values, **free}, {"x": XS, "Y": YS})(partial)
            assert got == pytest.approx(want[c], rel=1e-14, abs=1e-14), (var, pick)
    for kernel in (k.loss_grad, k.loss_grad_parallel):
        grad = np.zeros(3)
        kernel(WB.copy(), XS, YS, grad)
        np.testing.assert_allclose(grad, want, rtol=1e-14, atol=1e-15)
    for row in range(len(YS)):
        theta = WB.copy()
        k.sgd_epoch(theta, XS, YS, 0.5, np.array([row]))
        np.testing.assert_allclose((WB - theta) / 0.5, per_sample[row], rtol=1e-14, atol=1e-15)
    theta = WB.copy()
    k.minibatch_epoch(theta, XS, YS, 0.5, len(YS), np.arange(len(YS)))
    np.testing.assert_allclose((WB - theta) / 0.5, want, rtol=1e-14, atol=1e-15)
    assert k.jtj_jtr is not None and k.residuals_jacobian is not None
    jtj, jtr = np.zeros((3, 3)), np.zeros(3)
    k.jtj_jtr(WB.copy(), XS, YS, jtj, jtr)
    np.testing.assert_allclose(jtj, dy.T @ dy, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(jtr, dy.T @ r, rtol=1e-14, atol=1e-15)
    r_out, jac = np.zeros(len(YS)), np.zeros((len(YS), 3))
    k.residuals_jacobian(WB.copy(), XS, YS, r_out, jac)
    np.testing.assert_allclose(jac, dy, rtol=1e-15, atol=1e-15)
