"""The Krylov certificate (gdc.fitting.krylov): the Newton decrement ½gᵀH⁻¹g from Hessian-vector
products. On explicit matrices it refuses what it must (negative curvature, the gradient sees it
or not; a gap above the claim, however ill-conditioned H is) and certifies what it should; on a
compiled model it agrees with the Hessian by differences it replaces, on the side of the claim."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import gdc
from gdc.api import prepare
from gdc.fitting.krylov import MARGIN, krylov_gap
from gdc.fitting.reasons import Stop
from gdc.fitting.verdict import DIFFERENCES, KRYLOV, Curvature
from gdc.fitting.weights import fit_kernels
from locations import EXAMPLES


class Counted:
    """v ↦ Hv for an explicit H, counting the products."""

    def __init__(self, hessian):
        self.hessian, self.calls = hessian, 0

    def __call__(self, v):
        self.calls += 1
        return self.hessian @ v


def spd(values, seed=0):
    """A symmetric matrix with these eigenvalues, in a random basis."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(values), len(values))))
    return (q * values) @ q.T, q


def test_without_a_claim_it_reaches_the_whole_newton_decrement():
    hessian, _ = spd(np.linspace(0.5, 4.0, 40))
    grad = np.random.default_rng(1).standard_normal(40)
    found = krylov_gap(Counted(hessian), grad, radius=1.0)
    exact = 0.5 * grad @ np.linalg.solve(hessian, grad)
    assert found.decided and found.gap == pytest.approx(exact, rel=1e-9)
    assert found.lower <= exact * (1 + 1e-12)


def test_it_stops_after_a_few_products_where_the_gap_is_far_from_the_claim():
    hessian, _ = spd(np.linspace(0.5, 4.0, 100))
    grad = 1e-6 * np.random.default_rng(2).standard_normal(100)
    exact = 0.5 * grad @ np.linalg.solve(hessian, grad)
    below = Counted(hessian)
    found = krylov_gap(below, grad, 1.0, target=1e3 * exact)
    assert found.decided and exact <= found.gap <= MARGIN * 1e3 * exact and below.calls <= 12
    above = Counted(hessian)
    refused = krylov_gap(above, grad, 1.0, target=1e-3 * exact)
    assert refused.gap > 1e-3 * exact and refused.gap <= exact * (1 + 1e-12) and above.calls <= 3


def test_negative_curvature_the_gradient_does_not_see_is_a_saddle():
    # H = diag(1, …, 1, −1) in a random basis; g orthogonal to the negative direction, as on a
    # symmetric path, and g = 0 exactly: only the random chain can find it
    values = np.r_[np.ones(49), -1.0]
    hessian, basis = spd(values, seed=3)
    inside = basis[:, :49] @ np.random.default_rng(4).standard_normal(49)
    for grad in (1e-9 * inside, np.zeros(50)):
        found = krylov_gap(Counted(hessian), grad, 1.0, target=1.0)
        assert found.decided and math.isinf(found.gap)


def test_negative_curvature_the_gradient_sees_is_a_saddle():
    hessian, basis = spd(np.r_[np.linspace(1.0, 2.0, 29), -0.01], seed=5)
    grad = 1e-3 * (basis[:, 0] + basis[:, -1])
    found = krylov_gap(Counted(hessian), grad, 1.0)
    assert math.isinf(found.gap) and found.passes <= 3
    # a claim the first product already refutes stops there: refused, its gap a lower estimate
    assert 0 < krylov_gap(Counted(hessian), grad, 1.0, target=1e-12).gap < math.inf


@pytest.mark.parametrize("seed", range(40))
def test_an_ill_conditioned_gap_above_the_claim_is_never_certified(seed):
    # eigenvalues over 10⁸, the gradient mostly along stiff directions with a little along soft
    # ones: the kind of point a fit stopped early in a long valley leaves
    rng = np.random.default_rng(seed)
    values = np.logspace(-8, 0, 60)
    hessian, basis = spd(values, seed=seed)
    weights = rng.standard_normal(60) * np.sqrt(values) ** rng.uniform(0.5, 1.5)
    grad = basis @ weights
    exact = 0.5 * grad @ np.linalg.solve(hessian, grad)
    for target in (exact / 2, exact / 1.01):
        found = krylov_gap(Counted(hessian), grad, radius=1e6, target=target)
        assert not found.gap <= target, (found, exact)
    found = krylov_gap(Counted(hessian), grad, radius=1e6, target=10 * exact)
    assert not found.decided or found.gap >= exact * (1 - 1e-6)   # the estimate it certifies is not below the gap


@pytest.mark.parametrize("seed", range(20))
def test_flat_directions_above_the_claim_are_never_certified(seed):
    # three directions flatter than 1e-7 of the top (two exactly flat), where the estimate of
    # verdict.estimated_gap, the Hessian by differences' rule, counts |gᵀv|·radius
    from gdc.fitting.verdict import estimated_gap
    rng = np.random.default_rng(seed)
    hessian, basis = spd(np.r_[np.logspace(-3, 0, 57), 0.0, 0.0, 1e-9], seed=seed)
    weights = 1e-6 * rng.standard_normal(60)
    weights[-3:] *= 10 ** rng.uniform(-6, 0, 3)
    grad = basis @ weights
    full = estimated_gap(grad, hessian, 10.0, exact=False)
    for target in (full / 2, full / 1.01):
        found = krylov_gap(Counted(hessian), grad, radius=10.0, target=target)
        assert not found.gap <= target, (found, full)


# --- on compiled models: logistic regression on 60 synthetic features, on breast cancer's 30 ---

LOGISTIC = ("data x[d], Y\nparam w[d] = 0, b = 0\nmodel p = sigmoid(dot(w, x) + b)\n"
            "loss mean(-Y*log(p) - (1 - Y)*log(1 - p)) + 0.001*sum(w^2)\n")
# the same with a saddle: a² (a² − 1) has a maximum at a = 0
SADDLE = LOGISTIC.replace("param w[d] = 0, b = 0", "param w[d] = 0, b = 0, a = 0").replace(
    "0.001*sum(w^2)", "0.001*sum(w^2) + a^2*(a^2 - 1)")


def cancer(scales=None):
    table = np.genfromtxt(EXAMPLES / "breast_cancer.csv", delimiter=",", names=True)
    x = np.column_stack([table[n] for n in table.dtype.names if n != "Y"])
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return {"x": x if scales is None else x * scales, "Y": table["Y"]}


@pytest.fixture(scope="module")
def logistic():
    data = cancer()
    problem = prepare(LOGISTIC, data)
    return data, fit_kernels(problem), problem.data


def wide(rows=4000, features=60, scales=None):
    """Standardised synthetic features (60 + 1 parameters: past KRYLOV_ABOVE) and labels drawn
    from a logistic model."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((rows, features))
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (rng.random(rows) < 1 / (1 + np.exp(-(x @ rng.standard_normal(features) / 4 + 0.3)))).astype(float)
    return {"x": x if scales is None else x * scales, "Y": y}


def test_a_converged_logistic_regression_is_certified_by_the_krylov_estimate():
    data = wide()
    result = gdc.fit(LOGISTIC, data, method="lbfgs", gtol=1e-9, tol=0)
    assert result.converged
    assert re.search(r"by the Krylov estimate from Hessian-vector products, \d+ gradient passes\)$", result.message)
    problem = prepare(LOGISTIC, data)
    kernels, arrays = fit_kernels(problem), problem.data
    theta = np.r_[result.params["w"], result.params["b"]]
    krylov, differences = Curvature(kernels, arrays), Curvature(kernels, arrays, krylov=False)
    assert krylov.how == KRYLOV and differences.how == DIFFERENCES
    _, by_krylov = krylov.gap(theta, 10.0, 1e-8)
    _, by_differences = differences.gap(theta, 10.0, 1e-8)
    assert by_krylov <= 1e-8 * result.loss and by_differences <= 1e-8 * result.loss
    assert by_krylov >= by_differences * (1 - 1e-3)   # its gap is the larger: an upper estimate
    assert krylov.passes <= 12 < differences.passes == 123


def test_a_fit_stopped_early_on_an_ill_conditioned_problem_is_not_called_converged():
    data = wide(scales=np.logspace(-3, 1, 60))
    result = gdc.fit(LOGISTIC, data, method="lbfgs", gtol=1e-4, tol=0)
    assert result.reason == Stop.STALLED and not result.converged
    assert "by the Krylov estimate from Hessian-vector products" in result.message
    assert "may still be" in result.message
    problem = prepare(LOGISTIC, data)
    theta = np.r_[result.params["w"], result.params["b"]]
    loss, gap = Curvature(fit_kernels(problem), problem.data, krylov=False).gap(theta, 10.0)
    assert gap > 1e-8 * loss   # the Hessian by differences refuses it too


@pytest.mark.parametrize("shift", [1e-4, 1e-2, 1.0])
def test_the_krylov_estimate_agrees_with_the_differences_away_from_the_minimum(logistic, shift):
    _, kernels, arrays = logistic
    theta = shift * np.random.default_rng(7).standard_normal(31)
    _, full = Curvature(kernels, arrays, krylov=False).gap(theta, 10.0)
    _, estimate = Curvature(kernels, arrays, krylov=True).gap(theta, 10.0)
    assert estimate == pytest.approx(full, rel=1e-4)
    loss, refused = Curvature(kernels, arrays, krylov=True).gap(theta, 10.0, 1e-8)
    assert refused > 1e-8 * loss and refused <= full * (1 + 1e-4)   # stopped early, below the whole gap


def test_a_saddle_of_a_compiled_model_is_refused_by_both_estimates():
    data = cancer()
    problem = prepare(SADDLE, data)
    kernels = fit_kernels(problem)
    fitted = gdc.fit(LOGISTIC, data, method="lbfgs", gtol=1e-10, tol=0)
    theta = np.r_[fitted.params["w"], fitted.params["b"], 0.0]   # a minimum in w and b, a maximum in a
    for krylov in (True, False):
        _, gap = Curvature(kernels, problem.data, krylov=krylov).gap(theta, 10.0, 1e-8)
        assert math.isinf(gap)


def test_undecided_at_its_budget_the_estimate_gives_way_to_the_differences(logistic, monkeypatch):
    import gdc.fitting.verdict as verdict
    _, kernels, arrays = logistic
    theta = 1e-4 * np.random.default_rng(8).standard_normal(31)
    monkeypatch.setattr(verdict, "KRYLOV_BUDGET", 2)   # too few products to decide anything
    curvature = Curvature(kernels, arrays, krylov=True)
    loss, gap = curvature.gap(theta, 10.0)   # no claim: only a whole space would decide
    _, full = Curvature(kernels, arrays, krylov=False).gap(theta, 10.0)
    assert gap == full and curvature.passes == 1 + 2 + 63
    assert curvature.described() == ("gradient's finite differences, the Krylov estimate undecided "
                                     "after 2 products")


def test_a_remembered_pass_answers_the_same_parameters_from_memory(logistic, monkeypatch):
    from gdc.fitting import optimizers
    _, kernels, arrays = logistic
    monkeypatch.setattr(optimizers, "REMEMBER_MIN_VALUES", 0)   # the breast-cancer data is small
    wrapped = optimizers.remembering(kernels, arrays)
    calls = []
    kernel = wrapped.module.loss_grad.kernel
    wrapped.module.loss_grad.kernel = lambda *args: calls.append(1) or kernel(*args)
    theta, first, again = np.full(31, 0.01), np.zeros(31), np.zeros(31)
    loss = wrapped.loss_grad(theta, *arrays, first)
    assert wrapped.loss_grad(theta.copy(), *arrays, again) == loss and np.array_equal(first, again)
    assert len(calls) == 1   # the same parameters and data arrays: no second pass
    wrapped.loss_grad(theta + 1e-12, *arrays, again)
    wrapped.loss_grad(theta, *(column.copy() for column in arrays), again)   # other arrays: a pass
    assert len(calls) == 3 and np.array_equal(first, again)
