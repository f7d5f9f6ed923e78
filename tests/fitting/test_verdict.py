"""The pieces that judge a fit, on small losses written in numpy (no kernels to compile): the
bundle method's quadratic program, the gap estimate, the checks of a start, the ray test."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from gdc.fitting.bundle import simplex_qp
from gdc.fitting.options import Options
from gdc.fitting.problem import FitResult, Problem
from gdc.fitting.reasons import Stop
from gdc.fitting.start import examine_start
from gdc.fitting.verdict import estimated_gap, judge


def fake_kernels(names, loss):
    """Kernels-like object for a loss of the parameters alone (numerical gradient, no data)."""
    def value(params, *data):
        return float(loss(np.asarray(params, dtype=float)))

    def value_grad(params, *data_and_out):
        out = data_and_out[-1]
        for j in range(len(params)):
            h = 1e-6 * max(1.0, abs(params[j]))
            up, down = params.copy(), params.copy()
            up[j] += h
            down[j] -= h
            out[j] = (loss(up) - loss(down)) / (2 * h)
        return value(params)

    return SimpleNamespace(param_names=tuple(names), loss=value, loss_grad=value_grad, jtj_jtr=None,
                           loss_grad_hess=None, residuals_jacobian=None, kinks=())


# --- the quadratic program of a bundle step --------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_simplex_qp_meets_the_optimality_conditions(seed):
    rng = np.random.default_rng(seed)
    m, rank = rng.integers(2, 12), rng.integers(1, 5)
    g = rng.standard_normal((rank, m))
    q, a = g.T @ g, np.abs(rng.standard_normal(m)) * rng.integers(0, 2, m)   # singular, some α = 0
    lam = simplex_qp(q, a)
    assert np.all(lam >= 0.0) and lam.sum() == pytest.approx(1.0, abs=1e-14)
    grad = q @ lam + a
    value = lam @ grad          # the multiplier of Σλ = 1
    assert np.all(grad >= value - 1e-9 * (1 + np.abs(grad).max()))       # no vertex does better
    assert np.all(np.abs(grad[lam > 1e-12] - value) <= 1e-9 * (1 + np.abs(grad).max()))


def test_simplex_qp_finds_the_minimum_norm_point_of_a_segment():
    g = np.array([[1.0, -1.0]])        # two planes with gradients ±1 and no error: λ = (½, ½)
    np.testing.assert_allclose(simplex_qp(g.T @ g, np.zeros(2)), [0.5, 0.5], atol=1e-14)


# --- the gap a quadratic model predicts -------------------------------------------------------------

def test_the_gap_of_a_quadratic_is_exact():
    rng = np.random.default_rng(1)
    b = rng.standard_normal((3, 3))
    a, best = b @ b.T + np.eye(3), rng.standard_normal(3)
    x = best + 0.1 * rng.standard_normal(3)
    f_minus_fstar = 0.5 * (x - best) @ a @ (x - best)
    assert estimated_gap(a @ (x - best), a, radius=1.0) == pytest.approx(f_minus_fstar, rel=1e-12)


def test_negative_curvature_has_no_gap_and_a_flat_slope_counts_in_full():
    assert estimated_gap(np.array([1e-9, 0.0]), np.diag([1.0, -1.0]), radius=1.0) == np.inf
    # flat along the second axis, yet sloped there: the loss keeps falling, by |g|·radius at least
    assert estimated_gap(np.array([0.0, 1e-3]), np.diag([2.0, 0.0]), radius=10.0) == pytest.approx(1e-2)
    assert np.isnan(estimated_gap(np.array([0.0, 1.0]), np.diag([np.inf, 1.0]), radius=1.0))


# --- a start ---------------------------------------------------------------------------------------

def test_a_product_of_zeros_is_a_saddle_that_names_its_parameters():
    target = np.linspace(1.0, 2.0, 5)
    kernels = fake_kernels("Awc", lambda p: float(np.mean((p[0] * np.sin(p[1] * target) + p[2] - target) ** 2)))
    start = examine_start(kernels, (), np.zeros(3))
    assert start.reason == Stop.SADDLE
    assert "A = w = 0" in start.message and "--init A=1,w=1" in start.advice


def test_a_zero_partial_that_the_other_parameters_unpin_is_no_saddle():
    # ∂/∂b is zero at the start only because of where w starts (balanced classes, say)
    kernels = fake_kernels("wb", lambda p: (p[0] - 1.0) ** 2 + (p[1] - p[0]) ** 2 * 0.1 + p[0] * p[1])
    start = examine_start(kernels, (), np.array([0.0, 0.0]))
    assert start.reason is None


def test_a_parameter_at_its_own_minimum_is_no_saddle():
    # k only meets a penalty k², at its minimum 0: pinned, but nothing is lower nearby
    kernels = fake_kernels("mk", lambda p: (p[0] - 3.0) ** 2 + p[1] ** 2)
    assert examine_start(kernels, (), np.array([0.0, 0.0])).reason is None


def test_a_start_where_the_loss_is_not_finite_names_the_culprit():
    kernels = fake_kernels("as", lambda p: (p[0] - 1.0) ** 2 + 1.0 / p[1] ** 2 if p[1] != 0 else np.inf)
    start = examine_start(kernels, (), np.array([0.0, 0.0]))
    assert start.reason == Stop.UNDEFINED and "s = 0 makes it so" in start.message
    assert start.advice == "start elsewhere: `param s = 1` in the model, or --init s=1"


# --- the ray test ----------------------------------------------------------------------------------

def judged(loss, start, end, reason=Stop.XTOL, certify=True):
    kernels = fake_kernels("wb", loss)
    problem = Problem(kernels, (), (), "<arrays>", 0)
    params = np.array(end, dtype=float)
    result = FitResult(params={}, loss=loss(params), iterations=1, converged=reason.converged, reason=reason,
                       seconds=0.0, method="gd", lr=None, history=np.zeros(2), message="converged: test")
    return judge(problem, Options(method="gd", certify=certify), result, params, np.array(start, dtype=float))


def test_a_loss_falling_without_bound_along_the_fit_is_unbounded():
    result = judged(lambda p: -(p[0] ** 2) - p[1], [0.0, 0.0], [3.0, 1.0])
    assert result.reason == Stop.UNBOUNDED and not result.converged and "−∞" in result.message


def test_a_loss_falling_to_an_asymptote_has_its_minimum_at_infinity():
    result = judged(lambda p: float(np.logaddexp(0.0, -p[0] - p[1])), [0.0, 0.0], [20.0, 1.0])
    assert result.reason == Stop.AT_INFINITY and "penalty" in result.advice


def test_a_true_minimum_keeps_its_claim_and_states_its_gap():
    result = judged(lambda p: (p[0] - 2.0) ** 2 + (p[1] + 1.0) ** 2 + 5.0, [0.0, 0.0], [2.0, -1.0])
    assert result.converged and "of a minimum" in result.message


def test_certify_false_skips_the_gap_and_says_only_the_stop_rule_vouches():
    """A saddle the certificate would refuse passes without it, but its message says why it
    was not checked (and the ray test still runs: an unbounded loss is still refused)."""
    saddle = judged(lambda p: p[0] ** 2 - p[1] ** 2, [1.0, 0.0], [0.0, 0.0], certify=False)
    assert saddle.converged and math.isnan(saddle.gap) and not saddle.certified
    assert saddle.message == ("converged: test; not certified: certify=False (--no-certify) skipped the "
                              "curvature estimate, so only the stop rule vouches for it")
    assert not judged(lambda p: p[0] ** 2 - p[1] ** 2, [1.0, 0.0], [0.0, 0.0]).converged
    unbounded = judged(lambda p: -(p[0] ** 2) - p[1], [0.0, 0.0], [3.0, 1.0], certify=False)
    assert unbounded.reason == Stop.UNBOUNDED


@pytest.mark.parametrize("exact, bound", [(True, 1e-6), (False, 1e-4)])
def test_a_negative_curvature_past_rounding_is_a_saddle_and_one_within_it_is_flat(exact, bound):
    """The saddle test's threshold, relative to the largest |eigenvalue|: 1e-6 for a Hessian from
    kernels (exact), 1e-4 for one by differences; ten times past it is a saddle (no gap), a
    tenth of it is rounding, a flat direction whose slope counts |g|·radius. The eigenvectors are
    turned 45° so that H's diagonal is even: estimated_gap scales H by its diagonal first, which
    would make a diagonal H's small entry as large as the other."""
    turn = np.array([[1.0, 1.0], [-1.0, 1.0]]) / math.sqrt(2.0)
    grad = 1e-9 * turn[:, 1]
    for times, gap in ((10.0, np.inf), (0.1, pytest.approx(1e-9))):
        matrix = turn @ np.diag([1.0, -times * bound]) @ turn.T
        assert estimated_gap(grad, matrix, radius=1.0, exact=exact) == gap


@pytest.mark.parametrize("times, converged", [(3.0, False), (0.3, True)])
def test_a_fit_is_called_converged_only_within_its_claim(times, converged):
    """f − f* = ‖θ − θ*‖² of a quadratic, at `times` the gap gd may claim (relative to the loss):
    three times over it is not converged, whatever the stop rule said; a third of it is."""
    from gdc.fitting.verdict import claim_for
    claim, loss_at_minimum = claim_for(Options(method="gd")), 5.0
    offset = math.sqrt(times * claim * loss_at_minimum)
    result = judged(lambda p: (p[0] - 2.0) ** 2 + (p[1] + 1.0) ** 2 + loss_at_minimum, [0.0, 0.0],
                    [2.0 + offset, -1.0])
    assert result.converged is converged
    assert result.gap == pytest.approx(offset ** 2, rel=1e-3)
