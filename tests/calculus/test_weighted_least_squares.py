"""Weighted least squares: Σ W·(y − Y)² and mean((y − Y)²/dY²) have the residuals √W·(y − Y) and
(y − Y)/dY (gdc.calculus.hessian.least_squares_form), so lm, standard errors and intervals are
offered; the fits agree with the same loss written through --sigma and with weighted NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import gdc
from gdc.calculus.functions import PerSample, SampleSum, mean
from gdc.calculus.hessian import least_squares_form

a, k = sympy.symbols("a k", real=True)
x, Y, W, dY = (PerSample(n, real=True) for n in ("x", "Y", "W", "dY"))
f = a * sympy.exp(-k * x)


@pytest.mark.parametrize("loss, residual, scale, is_mean", [
    (SampleSum(W * (f - Y) ** 2), sympy.sqrt(W) * (f - Y), 1, False),
    (mean((f - Y) ** 2 / dY ** 2), (f - Y) / dY, 1, True),
    (3 * mean(((f - Y) / dY) ** 2), (f - Y) / dY, 3, True),
    (SampleSum(2 * W * (f - Y) ** 2 / dY ** 4), sympy.sqrt(W) * (f - Y) / dY ** 2, 2, False),
])
def test_weighted_squares_are_least_squares(loss, residual, scale, is_mean):
    form = least_squares_form(loss, (a, k))
    assert form is not None and form.is_mean == is_mean and form.scale == scale
    assert sympy.simplify(form.residual ** 2 - residual ** 2) == 0
    body = loss.as_coeff_Mul()[1].args[0]   # the summand: loss = c·Σ body
    assert sympy.simplify(form.scale / loss.as_coeff_Mul()[0] * form.residual ** 2 - body) == 0


@pytest.mark.parametrize("loss", [
    SampleSum(a * (f - Y) ** 2),            # a factor that holds a parameter is no weight
    SampleSum(W * (f - Y) ** 3),            # no square
    SampleSum(W * dY),                      # no parameter inside a square
    SampleSum(W * (f - Y) ** 2 + (f - Y)),  # not a product
    -SampleSum(W * (f - Y) ** 2),           # negative scale
])
def test_other_products_are_not_least_squares(loss):
    assert least_squares_form(loss, (a, k)) is None


def test_the_weighted_loss_written_out_fits_as_sigma_does():
    rng = np.random.default_rng(5)
    xs = np.linspace(0, 3, 25)
    errors = 0.05 + 0.2 * rng.random(25)
    ys = 2 * np.exp(-0.7 * xs) + errors * rng.standard_normal(25)
    data = {"x": xs, "Y": ys, "W": 1 / errors ** 2, "dY": errors}
    start = {"a": 1.0, "k": 1.0}
    by_sigma = gdc.fit("model f = a*exp(-k*x)\nloss sum((f - Y)^2)", data, sigma="dY", init=start)
    for text in ("model f = a*exp(-k*x)\nloss sum(W*(f - Y)^2)",
                 "model f = a*exp(-k*x)\nloss mean((f - Y)^2/dY^2)"):
        result = gdc.fit(text, data, init=start)
        assert result.method == "lm" and result.converged and result.std_errors is not None
        for name in start:
            assert result.params[name] == pytest.approx(by_sigma.params[name], rel=1e-9)
            assert result.std_errors[name] == pytest.approx(by_sigma.std_errors[name], rel=1e-7)


def test_a_negative_weight_takes_least_squares_away():
    xs = np.linspace(0, 3, 30)
    weights = np.ones(30)
    weights[3] = -0.5
    result = gdc.fit("model f = a*exp(-k*x)\nloss sum(W*(f - Y)^2)",
                     {"x": xs, "Y": 2 * np.exp(-0.7 * xs) + 0.01 * np.sin(9 * xs), "W": weights},
                     init={"a": 1.0, "k": 1.0})
    assert result.method == "newton" and result.std_errors is None and "not a sum of squares" in result.method_note
