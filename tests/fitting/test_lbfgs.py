"""L-BFGS (gdc.fitting.lbfgs): the two-loop recursion, the strong Wolfe line search, and fits of
logistic regression against scikit-learn's lbfgs and against Newton's method in NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gdc
from gdc.fitting import verdict
from gdc.errors import GdcError
from gdc.fitting.lbfgs import C1, C2, Memory, _Line, lbfgs, wolfe_search
from gdc.fitting.reasons import Stop
from locations import EXAMPLES

CANCER = EXAMPLES / "breast_cancer.csv"
# scikit-learn minimizes mean log-loss + ‖w‖²/(2·C·N): C = 0.1 on the 569 rows is this λ.
LAMBDA = 1.0 / (2.0 * 0.1 * 569)
LOGISTIC = (f"data x[d], Y\nparam w[d] = 0, b = 0\nmodel p = sigmoid(dot(w, x) + b)\n"
            f"loss mean(-Y*log(p) - (1 - Y)*log(1 - p)) + {LAMBDA!r}*sum(w^2)\n")


class Numpy:
    """An objective as Objective gives it: the loss, and the gradient left in .grad."""

    def __init__(self, f):
        self.f, self.grad = f, None

    def __call__(self, theta):
        value, self.grad = self.f(theta)
        return value


def rosenbrock(theta):
    a, b = theta
    value = (1 - a) ** 2 + 100 * (b - a * a) ** 2
    return value, np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])


def test_the_two_loop_recursion_meets_the_newest_secant_condition():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 6))
    hessian = a @ a.T + 6 * np.eye(6)
    memory = Memory()
    for _ in range(4):
        s = rng.standard_normal(6)
        memory.add(s, hessian @ s)
    s = rng.standard_normal(6)
    memory.add(s, hessian @ s)
    np.testing.assert_allclose(memory.direction(hessian @ s), -s, rtol=1e-10)   # H·y = s


def test_a_pair_of_negative_curvature_is_not_kept():
    memory = Memory()
    memory.add(np.array([1.0, 0.0]), np.array([-1.0, 0.0]))
    assert not memory.pairs
    np.testing.assert_allclose(memory.direction(np.array([2.0, -1.0])), [-2.0, 1.0])


@pytest.mark.parametrize("start", [1e-3, 1.0, 50.0])
def test_the_line_search_ends_on_a_strong_wolfe_step(start):
    objective = Numpy(lambda t: (float(np.exp(t[0]) + np.exp(-2 * t[0]) * 3), np.array(
        [np.exp(t[0]) - 6 * np.exp(-2 * t[0])])))
    theta = np.array([-1.0])
    f0 = objective(theta)
    direction = -objective.grad
    d0 = float(objective.grad @ direction)
    line = _Line(objective, theta, direction, np.empty(1))
    alpha, f = wolfe_search(line, f0, d0, start)
    assert f <= f0 + C1 * alpha * d0
    assert abs(float(objective.grad @ direction)) <= C2 * abs(d0)   # the gradient left is the step's
    assert f == objective(theta + alpha * direction)


def test_lbfgs_reaches_the_minimum_of_rosenbrocks_valley():
    theta = np.array([-1.2, 1.0])
    out, message = lbfgs(Numpy(rosenbrock), theta, 1000, gtol=1e-10, tol=0.0)
    assert message.startswith("converged: the largest partial derivative")
    assert out.reason == Stop.GTOL and out.iterations < 100
    np.testing.assert_allclose(theta, [1.0, 1.0], rtol=1e-9)


def test_the_iteration_limit_is_not_called_converged():
    out, _ = lbfgs(Numpy(rosenbrock), np.array([-1.2, 1.0]), 3, gtol=1e-10, tol=0.0)
    assert out.reason == Stop.MAX_EPOCHS and not out.converged and out.iterations == 3


def newton_logistic(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """The penalised logistic regression's minimum by Newton's method in NumPy (w, then b)."""
    a = np.column_stack([x, np.ones(len(x))])
    theta, penalty = np.zeros(a.shape[1]), np.r_[np.full(x.shape[1], 2 * lam), 0.0]
    for _ in range(30):
        p = 1 / (1 + np.exp(-(a @ theta)))
        grad = a.T @ (p - y) / len(y) + penalty * theta
        hessian = (a * (p * (1 - p))[:, None]).T @ a / len(y) + np.diag(penalty)
        theta -= np.linalg.solve(hessian, grad)
    return theta


@pytest.fixture(scope="module")
def cancer():
    table = np.genfromtxt(CANCER, delimiter=",", names=True)
    names = table.dtype.names
    x = np.column_stack([table[n] for n in names if n != "Y"])
    return (x - x.mean(axis=0)) / x.std(axis=0), table["Y"]


def sklearn_logistic(x, y, c):
    from sklearn.linear_model import LogisticRegression
    fitted = LogisticRegression(C=c, solver="lbfgs", tol=1e-12, max_iter=10_000).fit(x, y)
    return np.r_[fitted.coef_[0], fitted.intercept_[0]]


def test_logistic_regression_on_breast_cancer_matches_scikit_learn(cancer):
    pytest.importorskip("sklearn")
    x, y = cancer
    result = gdc.fit(LOGISTIC, {"x": x, "Y": y}, method="lbfgs", gtol=1e-10, tol=0)
    assert result.converged and result.reason == Stop.GTOL and x.shape[1] == 30
    theta = np.r_[result.params["w"], result.params["b"]]
    np.testing.assert_allclose(theta, newton_logistic(x, y, LAMBDA), rtol=0, atol=1e-8)
    np.testing.assert_allclose(theta, sklearn_logistic(x, y, 0.1), rtol=0, atol=1e-6)


def test_logistic_regression_on_a_larger_synthetic_set_matches_scikit_learn():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    n, d = 20_000, 20
    x = rng.standard_normal((n, d))
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ rng.standard_normal(d) + 0.5)))).astype(float)
    result = gdc.fit(LOGISTIC, {"x": x, "Y": y}, gtol=1e-10, tol=0, method="lbfgs")
    assert result.converged
    theta = np.r_[result.params["w"], result.params["b"]]
    c = 1.0 / (2.0 * LAMBDA * n)   # the same objective on scikit-learn's side
    np.testing.assert_allclose(theta, newton_logistic(x, y, LAMBDA), rtol=0, atol=1e-8)
    np.testing.assert_allclose(theta, sklearn_logistic(x, y, c), rtol=0, atol=1e-6)


def test_auto_chooses_lbfgs_for_a_smooth_shaped_loss_that_is_not_least_squares(cancer):
    x, y = cancer
    result = gdc.fit(LOGISTIC, {"x": x, "Y": y})
    assert result.method == "lbfgs" and "L-BFGS" in result.method_note and result.converged
    assert result.reason in ("gtol", "tol") and "of a minimum" in result.message
    np.testing.assert_allclose(np.r_[result.params["w"], result.params["b"]],
                               newton_logistic(x, y, LAMBDA), atol=1e-7)


def test_auto_keeps_lbfgs_when_given_tolerances_it_takes(cancer):
    x, y = cancer
    result = gdc.fit(LOGISTIC, {"x": x, "Y": y}, gtol=1e-10)
    assert result.method == "lbfgs" and result.converged
    lsq = gdc.fit("model y = m*x\nloss mean((y - Y)^2)", {"x": [1.0, 2.0], "Y": [1.0, 2.1]}, gtol=1e-12)
    assert lsq.method == "gd" and "lm does not take" in lsq.method_note   # lm stops at full precision


def test_auto_keeps_lbfgs_when_there_are_bounds(cancer):
    x, y = cancer
    result = gdc.fit(LOGISTIC, {"x": x, "Y": y}, fixed={"b": 0.5})
    assert result.method == "lbfgs" and result.converged and result.params["b"] == 0.5


def scipy_bounded(kernels, arrays, lower, upper):
    """scipy's L-BFGS-B on the same kernel, run to its working precision."""
    from scipy.optimize import minimize

    def loss_grad(theta):
        grad = np.zeros(len(theta))
        return kernels.loss_grad(theta, *arrays, grad), grad
    bounds = list(zip(np.where(np.isinf(lower), None, lower), np.where(np.isinf(upper), None, upper)))
    found = minimize(loss_grad, np.zeros(len(lower)), jac=True, method="L-BFGS-B", bounds=bounds,
                     options=dict(gtol=1e-13, ftol=0.0, maxiter=10_000))
    return found.x


def test_bounded_logistic_regression_matches_scipys_l_bfgs_b(cancer):
    from gdc.api import prepare
    from gdc.fitting.weights import fit_kernels
    x, y = cancer
    data = {"x": x, "Y": y}
    result = gdc.fit(LOGISTIC, data, method="lbfgs", bounds={"w": (-0.3, 0.3)}, gtol=1e-10, tol=0)
    assert result.converged and result.method == "lbfgs" and "of a minimum" in result.message
    theta = np.r_[result.params["w"], result.params["b"]]
    unbounded = newton_logistic(x, y, LAMBDA)
    outside = np.abs(unbounded[:30]) > 0.3
    assert 3 <= outside.sum() < 30   # the bounds bind on some weights, not all
    at = [held.startswith("at ") for held in result.held]
    assert at[:30] == list(np.abs(theta[:30]) == 0.3) and not at[30] and sum(at) >= 2
    assert np.all(np.abs(theta[:30]) <= 0.3)
    problem = prepare(LOGISTIC, data)
    lower, upper = np.r_[np.full(30, -0.3), -np.inf], np.r_[np.full(30, 0.3), np.inf]
    np.testing.assert_allclose(theta, scipy_bounded(fit_kernels(problem), problem.data, lower, upper),
                               rtol=0, atol=1e-6)


def test_lbfgs_holds_a_fixed_weight_and_fits_the_others(cancer):
    x, y = cancer
    result = gdc.fit(LOGISTIC, {"x": x, "Y": y}, method="lbfgs", fixed={"w[3]": 0.25, "b": 0.0},
                     gtol=1e-10, tol=0)
    assert result.converged and result.params["w"][3] == 0.25 and result.params["b"] == 0.0
    assert result.held[3] == "fixed" and result.held[30] == "fixed" and result.held[2] == ""
    # the others are the minimum with those held: the projected gradient vanishes there
    assert result.grad_norm <= 1e-8


def test_lbfgs_takes_tolerances_but_no_learning_rate():
    with pytest.raises(GdcError, match="lbfgs chooses its own steps by a line search") as error:
        gdc.fit("model y = m*x\nloss mean((y - Y)^2)", {"x": [1.0, 2.0], "Y": [1.0, 2.0]},
                method="lbfgs", lr=0.1)
    assert error.value.where == "--lr"
    result = gdc.fit("model y = m*x\nloss mean((y - Y)^2)", {"x": [1.0, 2.0], "Y": [1.0, 2.1]},
                     method="lbfgs", gtol=1e-12)
    assert result.converged and math.isclose(result.params["m"], 5.2 / 5, rel_tol=1e-9)


def test_the_box_run_reaches_scipys_l_bfgs_b_answer_in_rosenbrocks_valley():
    from scipy.optimize import minimize
    from gdc.fitting.bounds import Box
    from gdc.fitting.lbfgs_box import BoxedLBFGS
    lower, upper = np.array([-2.0, -np.inf]), np.array([0.5, 0.2])   # the minimum (1, 1) is outside
    box = Box(lower, upper, np.zeros(2, dtype=bool), (None, None))
    theta = np.array([-1.2, 0.1])
    out, message = lbfgs(Numpy(rosenbrock), theta, 1000, gtol=1e-10, tol=0.0,
                         make=lambda *args: BoxedLBFGS(*args, box=box))
    found = minimize(rosenbrock, [-1.2, 0.1], jac=True, method="L-BFGS-B", bounds=[(-2, 0.5), (None, 0.2)],
                     options=dict(gtol=1e-12, ftol=0.0))
    assert out.converged and theta[0] <= 0.5 and theta[1] <= 0.2
    np.testing.assert_allclose(theta, found.x, rtol=0, atol=1e-6)
    assert theta[1] == 0.2   # on its bound: b would rise toward a², but may not pass 0.2


def test_a_bounded_quadratic_ends_at_its_known_constrained_minimum():
    # orthonormal columns (XᵀX/N = I): mean((Xw − Y)²) = ‖w − w*‖² + const, whose minimum in
    # the box is w* clipped into it
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((200, 5)))
    x = q * np.sqrt(200)
    best = np.array([-2.0, -0.3, 0.1, 0.45, 3.0])
    y = x @ best
    result = gdc.fit("data x[d], Y\nparam w[d] = 0\nmodel y = dot(w, x)\nloss mean((y - Y)^2)\n",
                     {"x": x, "Y": y}, method="lbfgs", bounds={"w": (-0.5, 0.5)}, gtol=1e-12, tol=0)
    assert result.method == "lbfgs" and result.converged
    np.testing.assert_allclose(result.params["w"], np.clip(best, -0.5, 0.5), rtol=0, atol=1e-9)
    assert [why for why in result.held] == ["at lower bound -0.5", "", "", "", "at upper bound 0.5"]


def _past_200():
    rng = np.random.default_rng(3)
    n, d = 400, 210   # 211 parameter values: past MAX_STATISTICS, no Hessian kernel, not least squares
    x = rng.standard_normal((n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    return {"x": x, "Y": y}


def test_past_200_parameter_values_a_converged_fit_is_certified_by_the_krylov_estimate():
    result = gdc.fit(LOGISTIC, _past_200(), method="lbfgs")
    assert result.converged and result.gap <= 1e-8 * abs(result.loss)
    assert "by the Krylov estimate from Hessian-vector products" in result.message
    assert result.grad_norm < 1e-6


def test_past_200_parameter_values_an_undecided_estimate_says_it_is_not_certified(monkeypatch):
    monkeypatch.setattr(verdict, "KRYLOV_BUDGET", 1)   # one product: it cannot decide
    result = gdc.fit(LOGISTIC, _past_200(), method="lbfgs")
    assert result.converged and math.isnan(result.gap)   # no gap was estimated
    assert not result.certified and result.message.startswith("converged: ")
    assert ("; not certified: the Krylov estimate from Hessian-vector products did not decide within 1 "
            "products, and 211 parameter values are too many for a Hessian by differences (at most 200)") \
        in result.message
    # the stop rule held: the projected gradient is where the default gtol of lbfgs puts it
    assert result.grad_norm < 1e-6
