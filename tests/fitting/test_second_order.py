"""Second-order kernels and fits (gdc.fitting.least_squares, newton, trust_region): JᵀJ, the Hessian, lm, damped newton, auto, statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gdc
from gdc.cli import main
from gdc.errors import GdcError
from gdc.api import prepare
from gdc.fitting.optimizers import Objective, curvature
from gdc.fitting.newton import HessianKernels, newton, raw_newton_step
from locations import TESTS, EXAMPLES, NIST

STUDENTS = EXAMPLES / "students.csv"
NIST = TESTS / "data" / "nist"
MAP = {"x": "height", "Y": "weight"}
LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"
DECAY = "model f = a*exp(-k*x) + c\nloss mean((f - Y)^2)/2\n"
LOGISTIC = "model p = sigmoid(w0 + w1*x)\nloss -mean(Y*log(p) + (1 - Y)*log(1 - p))\n"
# log cosh: convex, but its curvature vanishes far from the minimum, so the raw Newton step
# z ← z − tanh(z)/sech²(z) overshoots further each time from |z| ≳ 1.1.
LOGCOSH = "model y = w*x\nloss mean(log(cosh(y - Y)))\n"


@pytest.fixture(scope="module")
def decay():
    rng = np.random.default_rng(1)
    x = np.linspace(0.0, 4.0, 40)
    data = {"x": x, "Y": 3.0 * np.exp(-0.7 * x) + 0.5 + 0.01 * rng.standard_normal(40)}
    return prepare(DECAY, data)


@pytest.fixture(scope="module")
def logcosh():
    x = np.linspace(0.5, 1.5, 21)
    return prepare(LOGCOSH, {"x": x, "Y": 0.7 * x})


def numeric_jacobian(problem, params, h=1e-6):
    k = problem.kernels
    inputs = [problem.column(n) for n in k.input_names]
    cols = []
    for j in range(len(params)):
        step = np.zeros_like(params)
        step[j] = h * max(1.0, abs(params[j]))
        cols.append((k.predict(params + step, *inputs) - k.predict(params - step, *inputs)) / (2 * step[j]))
    return np.column_stack(cols)


def test_jtj_jtr_is_the_explicit_product(decay):
    k = decay.kernels
    assert k.lsq_scale == 0.5 and k.lsq_mean
    params = np.array([2.0, 0.4, 0.1])
    jtj, jtr = np.zeros((3, 3)), np.zeros(3)
    rss = k.jtj_jtr(params, *decay.data, jtj, jtr)
    r = k.predict(params, decay.column("x")) - decay.column("Y")
    jac = numeric_jacobian(decay, params)
    assert rss == pytest.approx(r @ r, rel=1e-13)
    np.testing.assert_allclose(jtj, jac.T @ jac, rtol=1e-7)
    np.testing.assert_allclose(jtr, jac.T @ r, rtol=1e-7)
    assert k.loss(params, *decay.data) == pytest.approx(0.5 * rss / len(r), rel=1e-13)
    r_out, jac_out = np.empty(len(r)), np.empty((len(r), 3))
    k.residuals_jacobian(params, *decay.data, r_out, jac_out)
    np.testing.assert_allclose(r_out, r, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(jac_out.T @ jac_out, jtj, rtol=1e-12)


def test_a_loss_that_is_not_least_squares_has_no_jtj_kernel(logcosh):
    k = logcosh.kernels
    assert k.jtj_jtr is None and k.residuals_jacobian is None and k.lsq_scale is None
    assert k.loss_grad_hess is not None


def test_loss_grad_hess_matches_finite_differences(decay):
    k = decay.kernels
    params = np.array([2.0, 0.4, 0.1])
    grad, hess = np.zeros(3), np.zeros((3, 3))
    loss = k.loss_grad_hess(params, *decay.data, grad, hess)
    g0 = np.zeros(3)
    assert loss == pytest.approx(k.loss_grad(params, *decay.data, g0), rel=1e-14)
    np.testing.assert_allclose(grad, g0, rtol=1e-12)
    numeric = np.zeros((3, 3))
    for j in range(3):
        step = np.zeros(3)
        step[j] = 1e-6
        gp, gm = np.zeros(3), np.zeros(3)
        k.loss_grad(params + step, *decay.data, gp)
        k.loss_grad(params - step, *decay.data, gm)
        numeric[:, j] = (gp - gm) / 2e-6
    np.testing.assert_allclose(hess, numeric, rtol=1e-6, atol=1e-9)
    assert np.array_equal(hess, hess.T)


def decay_residuals(theta, x, y):
    a, k, c = theta
    return a * np.exp(-k * x) + c - y


def decay_jacobian(theta, x, y):
    a, k, c = theta
    return np.column_stack([np.exp(-k * x), -a * x * np.exp(-k * x), np.ones_like(x)])


def decay_optimum(x, y, start) -> np.ndarray:
    """scipy's MINPACK lm on residuals and a Jacobian written from the formula, to full precision."""
    from scipy.optimize import least_squares
    found = least_squares(decay_residuals, start, jac=decay_jacobian, args=(x, y), method="lm",
                          xtol=1e-15, ftol=1e-15, gtol=1e-15)
    return found.x


def test_lm_fits_decay_and_reports_standard_errors(decay):
    x, y = decay.column("x"), decay.column("Y")
    result = gdc.fit(DECAY, {"x": x, "Y": y}, "auto", init={"a": 1, "k": 1, "c": 0})
    assert result.method == "lm" and "sum of squared residuals" in result.method_note
    assert result.converged and result.reason in ("xtol", "ftol", "gtol")
    fitted = np.array(list(result.params.values()))
    optimum = decay_optimum(x, y, [1.0, 1.0, 0.0])
    np.testing.assert_allclose(fitted, optimum, rtol=1e-9)
    # s²(JᵀJ)⁻¹ at the optimum, J and s² = RSS/(n − p) written out
    jac, r = decay_jacobian(optimum, x, y), decay_residuals(optimum, x, y)
    covariance = (r @ r) / (len(x) - 3) * np.linalg.inv(jac.T @ jac)
    np.testing.assert_allclose(result.stats.std_errors, np.sqrt(np.diag(covariance)), rtol=1e-6)


def test_standard_errors_are_the_ols_closed_form():
    result = gdc.fit(LINEAR, STUDENTS, "auto", mapping=MAP)
    assert result.method == "lm" and result.stats is not None
    table = np.genfromtxt(STUDENTS, delimiter=",", names=True)
    x, y = table["height"], table["weight"]
    design = np.column_stack([x, np.ones_like(x)])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    rss = float(np.sum((design @ beta - y) ** 2))
    cov = rss / (len(x) - 2) * np.linalg.inv(design.T @ design)
    np.testing.assert_allclose([result.params["m"], result.params["b"]], beta, rtol=1e-9)
    np.testing.assert_allclose(result.stats.std_errors, np.sqrt(np.diag(cov)), rtol=1e-7)
    assert result.stats.rss == pytest.approx(rss, rel=1e-9) and result.stats.dof == len(x) - 2


def test_auto_picks_newton_for_a_loss_that_is_not_least_squares():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200)
    y = (rng.random(200) < 1 / (1 + np.exp(-(0.5 + 2 * x)))).astype(float)
    result = gdc.fit(LOGISTIC, {"x": x, "Y": y}, "auto")
    assert result.method == "newton" and result.converged
    assert result.stats is None and "not a sum of squares" in result.method_note
    assert result.grad_norm < 1e-8


def test_raw_newton_diverges_where_the_safeguarded_one_converges(logcosh):
    engine = HessianKernels(logcosh.kernels, logcosh.data)
    w = np.array([3.0])
    losses = [engine.loss(w)]
    for _ in range(2):   # undamped Newton: each step lands further out, the loss grows
        w = w + raw_newton_step(engine, w)
        losses.append(engine.loss(w))
    assert losses[0] < losses[1] < losses[2] and abs(w[0]) > 1e6
    params = np.array([3.0])
    out = newton(engine, params)
    assert out.converged and out.history == sorted(out.history, reverse=True)
    # log(cosh(z)) rounds to 0 for |z| < 1e-8: no loss-based test can see further than that
    assert params[0] == pytest.approx(0.7, rel=1e-8)


def test_lm_refuses_a_loss_that_is_not_least_squares(logcosh):
    data = {n: logcosh.column(n) for n in ("x", "Y")}
    with pytest.raises(GdcError, match="sum of squared residuals") as caught:
        gdc.fit(LOGCOSH, data, method="lm")
    assert caught.value.where == "--method"
    with pytest.raises(GdcError) as caught:
        gdc.fit(LOGCOSH, data, method="newton", lr=0.1)
    assert caught.value.where == "--lr"


def test_gd_on_misra1a_never_reports_a_stall_as_convergence():
    problem = prepare(NIST / "Misra1a.gd", NIST / "Misra1a.csv")
    start = np.array(problem.kernels.initial)
    engine = HessianKernels(problem.kernels, problem.data)
    engine.full(start)
    true_max = float(np.linalg.eigvalsh(engine.hess)[-1])
    estimate = curvature(Objective(problem.kernels, problem.data), start.copy())
    # power iteration stops when the estimate changes by less than 1e-3; the eigenvalues
    # (4e-2 and 1.2e12) are far apart, so it has converged to that
    assert estimate == pytest.approx(true_max, rel=1e-3)
    result = gdc.fit(NIST / "Misra1a.gd", NIST / "Misra1a.csv", method="gd", epochs=200)
    meta = json.loads((NIST / "Misra1a.json").read_text())
    optimum = engine.loss(np.array(meta["certified_values"]))
    # 200 epochs bring the loss down by orders of magnitude, yet far above the optimum: the
    # run is reported as what it is, out of epochs, and not as converged
    assert result.loss < result.history[0] / 100 and result.loss > 10 * optimum
    assert result.reason == "max_epochs" and not result.converged
    stuck = gdc.fit(NIST / "Misra1a.gd", NIST / "Misra1a.csv", method="gd", lr=1e-300)
    assert stuck.reason == "stalled" and not stuck.converged


def test_cli_fit_without_method_is_auto_with_standard_errors(tmp_path, capsys):
    (tmp_path / "linear.gd").write_text(LINEAR)
    model, data = str(tmp_path / "linear.gd"), str(STUDENTS)
    assert main(["fit", model, data, "--map", "x=height,Y=weight"]) == 0
    out = capsys.readouterr().out
    assert "auto: lm (Levenberg–Marquardt; the loss is a sum of squared residuals" in " ".join(out.split())
    assert "standard error" in out and "RSS" in out and "condition" in out
    for method in ("lm", "newton"):
        assert main(["fit", model, data, "--map", "x=height,Y=weight", "--method", method,
                     "--json", "--quiet"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["method"] == method and doc["converged"] and set(doc["std_errors"]) == {"m", "b"}
    assert main(["fit", model, data, "--map", "x=height,Y=weight", "--method", "lm", "--lr", "0.1"]) == 1
    assert "--lr" in capsys.readouterr().err


def test_derive_hessian_text_and_json(tmp_path, capsys):
    (tmp_path / "decay.gd").write_text(DECAY)
    assert main(["derive", str(tmp_path / "decay.gd"), "--data", "x,Y", "--hessian"]) == 0
    out = capsys.readouterr().out
    assert "∂²J/∂k∂k = " in out and "Gauss–Newton" in out
    assert main(["derive", str(tmp_path / "decay.gd"), "--data", "x,Y", "--hessian", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["hessian"]["entries"]) == 6 and len(doc["hessian"]["gauss_newton"]) == 6
    # Each printed entry, read back (test code may parse gdc's own output), is sympy's d²J.
    import sympy
    from gdc.language.frontend import check_source
    from gdc.calculus.symbolic import SampleSum, mean, symbolic
    sm = symbolic(check_source(DECAY, data_names=["x", "Y"]))
    names = {str(s): s for s in sm.params + sm.data}
    one_sample = {mean: lambda e: e, SampleSum: lambda e: e}   # the reductions over one sample
    point = {s: 0.3 + 0.1 * i for i, s in enumerate(names.values())}
    for entry in doc["hessian"]["entries"]:
        a, b = (names[n] for n in entry["wrt"])
        got = sympy.parse_expr(entry["value"], local_dict={**names, "mean": mean, "sum": SampleSum})
        want = sympy.diff(sm.loss, a, b)
        got, want = (e.replace(lambda t: type(t) in one_sample, lambda t: t.args[0]) for e in (got, want))
        assert float(got.subs(point)) == pytest.approx(float(want.subs(point)), rel=1e-12)


def test_a_poorly_determined_fit_is_flagged():
    redundant = "model y = (a + c)*(x - 170)/10 + b\nloss mean((y - Y)^2)\n"   # only a + c is determined
    result = gdc.fit(redundant, STUDENTS, "lm", mapping=MAP)
    assert result.stats is not None and result.stats.condition > 1e12
    assert any("poorly determined" in note for note in result.stats.warnings)
    assert "warning" in str(result)


@pytest.mark.parametrize("gap, flagged", [(2.0 ** -41, True), (2.0 ** -38, False)])
def test_the_poorly_determined_warning_is_at_a_condition_of_1e12(gap, flagged):
    """JᵀJ = [[1, ρ], [ρ, 1]] (unit columns) has the condition (1 + ρ)/(1 − ρ): 4.4e12 past
    COND_WARNING = 1e12 for 1 − ρ = 2⁻⁴¹, 5.5e11 inside it for 2⁻³⁸."""
    from types import SimpleNamespace
    from gdc.fitting.statistics import least_squares_stats
    rho = 1.0 - gap
    jtj = np.array([[1.0, rho], [rho, 1.0]])
    ls = SimpleNamespace(jtj=jtj, n=10, full=lambda params: 1.0)
    stats = least_squares_stats(ls, np.array([1.0, 2.0]), ["a", "b"])
    assert stats.condition == pytest.approx((1.0 + rho) / gap, rel=1e-3)
    assert any("poorly determined" in note for note in stats.warnings) is flagged


def test_trust_region_lm_alone_fits_decay_and_mgh10_from_nist_start_1(decay):
    """gdc.fitting.trust_region (MINPACK's bounded steps, lm's first fallback) on its own."""
    import math

    from gdc.fitting.least_squares import LeastSquaresKernels, levenberg_marquardt
    from gdc.fitting.reasons import Stop
    from gdc.fitting.second_order import FTOL, GTOL, XTOL, Outcome
    from gdc.fitting.trust_region import trust_region_lm

    def fit(problem, start, solver):
        ls, params = LeastSquaresKernels(problem.kernels, problem.data), np.array(start, float)
        out = solver(ls, params, Outcome(math.nan, 0, Stop.MAX_EPOCHS, math.nan), 1000,
                     XTOL, FTOL, GTOL)
        return out, params

    out, params = fit(decay, [1.0, 0.1, 0.0], trust_region_lm)
    assert out.converged and out.history == sorted(out.history, reverse=True)
    optimum = decay_optimum(decay.column("x"), decay.column("Y"), [1.0, 0.1, 0.0])
    np.testing.assert_allclose(params, optimum, rtol=1e-9)
    meta = json.loads((NIST / "MGH10.json").read_text())
    mgh10 = prepare(NIST / "MGH10.gd", NIST / "MGH10.csv")
    # λ-damped LM alone does not get there from NIST start 1 (b1 falls to ~1e-50) ...
    plain = levenberg_marquardt(LeastSquaresKernels(mgh10.kernels, mgh10.data), np.array(meta["start1"]))
    assert not plain.converged
    # ... the trust region does
    out, params = fit(mgh10, meta["start1"], trust_region_lm)
    assert out.converged
    np.testing.assert_allclose(params, meta["certified_values"], rtol=1e-7)


def test_derive_hessian_refuses_a_shaped_model(capsys):
    model = str(EXAMPLES / "diabetes.gd")
    assert main(["derive", model, "--hessian"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith("--hessian: error: --hessian shows the second derivatives of scalar "
                                   "parameters; this model has vectors or matrices")
    assert "hint: fit it with gd, adam or lm" in captured.err


def test_the_trust_regions_predicted_reduction_is_that_of_the_gauss_newton_model(decay):
    """For the damped step h, (JᵀJ + λD²)h = −Jᵀr, lmder's predicted reduction (‖Jh‖² + 2λ‖Dh‖²)/‖r‖²
    is (‖r‖² − ‖r + Jh‖²)/‖r‖², the fall of the linearized residuals: checked with J and r written
    out, on a step short enough (Δ a tenth of the Gauss–Newton step) that λ > 0."""
    from gdc.fitting.least_squares import LeastSquaresKernels
    from gdc.fitting.trust_region import _Region, _step
    ls, params = LeastSquaresKernels(decay.kernels, decay.data), np.array([1.0, 0.1, 0.0])
    region = _Region(ls, params, ls.full(params))
    vals, vecs = np.linalg.eigh(region.a / np.outer(region.d, region.d))
    c = vecs.T @ (region.g / region.d)
    newton_step, _ = _step(vecs, vals, c, region.d, np.inf, 0.0)
    h, region.lam = _step(vecs, vals, c, region.d, 0.1 * np.linalg.norm(region.d * newton_step), 0.0)
    assert region.lam > 0.0
    r, jac = np.empty(ls.n), np.empty((ls.n, 3))
    ls.kernels.residuals_jacobian(params, *ls.data, r, jac)
    _, predicted, _ = region._judge(h, params + h, float(np.linalg.norm(region.d * h)))
    rss = float(r @ r)
    assert predicted == pytest.approx((rss - float(np.sum((r + jac @ h) ** 2))) / rss, rel=1e-9)


def test_geodesic_acceleration_takes_the_second_directional_derivative_of_r():
    """r = a·b·x + c − Y is quadratic in θ, so lm's difference formula for r_vv is exact:
    r_vv = vᵀ∇²r v = 2·v_a·v_b·x, and the acceleration term is Jᵀr_vv, J = [b·x, a·x, 1]."""
    from gdc.fitting.least_squares import LeastSquaresKernels
    x = np.linspace(-1.0, 2.0, 9)
    problem = prepare("model y = a*b*x + c\nloss sum((y - Y)^2)\n", {"x": x, "Y": np.cos(x)})
    ls = LeastSquaresKernels(problem.kernels, problem.data)
    (a, b, _), v = np.array([0.7, -1.3, 0.2]), np.array([0.5, 2.0, -1.0])
    want = np.column_stack([b * x, a * x, np.ones_like(x)]).T @ (2.0 * v[0] * v[1] * x)
    np.testing.assert_allclose(ls.acceleration_term(np.array([a, b, 0.2]), v), want, rtol=1e-9)


def test_derive_hessian_gauss_newton_is_the_hessian_of_a_model_linear_in_its_parameters():
    """r linear in θ: ∂²r = 0, so the Gauss–Newton matrix 2c·Σ∂r∂r is the Hessian itself (sympy.diff
    twice of the loss), entry by entry, for a mean, a sum and a scaled sum."""
    import sympy
    from gdc.calculus.derive import derive
    from gdc.calculus.hessian import hessian_report
    from gdc.calculus.symbolic import SampleSum, mean, symbolic
    from gdc.language.frontend import check_source
    one_sample = {mean: lambda e: e, SampleSum: lambda e: e}
    for loss in ("mean((y - Y)^2)", "sum((y - Y)^2)", "0.5*sum((y - Y)^2)"):
        sm = symbolic(check_source(f"model y = m*x + b*x^2\nloss {loss}\n", data_names=["x", "Y"]))
        report = hessian_report(sm, dict(derive(sm).partials))
        names = {str(s): s for s in sm.params}
        point = {s: 0.3 + 0.1 * i for i, s in enumerate(sm.params + sm.data)}
        assert report.gauss_newton is not None and len(report.gauss_newton) == 3
        for a, b, value in report.gauss_newton:
            want = sympy.diff(sm.loss, names[a], names[b])
            got, want = (e.replace(lambda t: type(t) in one_sample, lambda t: t.args[0]) for e in (value, want))
            assert float(got.subs(point)) == pytest.approx(float(want.subs(point)), rel=1e-12), (loss, a, b)
