"""Uncertainties of a least-squares fit: Student's t (against scipy.stats), covariance and
correlation, asymptotic and profile-likelihood intervals (profile against lmfit's conf_interval
on NIST problems), measurement errors (--sigma) against scipy's curve_fit, and their report,
JSON, saved file and errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gdc
from gdc.cli import main
from gdc.errors import GdcError
from gdc.fitting.distributions import t_cdf, t_quantile
from gdc.fitting.intervals import parse_ci
from locations import NIST

stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("dof", [1, 2, 3, 7, 12, 30, 250, 10_000, 0.5])
def test_t_quantile_and_cdf_match_scipy(dof):
    for q in (1e-12, 0.001, 0.025, 0.3, 0.5000001, 0.8413447, 0.975, 0.995, 1 - 1e-9):
        assert t_quantile(q, dof) == pytest.approx(stats.t.ppf(q, dof), rel=1e-9, abs=1e-300)
    for t in (-40.0, -2.0, -0.1, 0.0, 0.7, 3.0, 1e3):
        assert t_cdf(t, dof) == pytest.approx(stats.t.cdf(t, dof), rel=1e-9, abs=1e-15)


def nist(name: str, ci=None):
    meta = json.loads((NIST / f"{name}.json").read_text())
    result = gdc.fit(NIST / f"{name}.gd", NIST / f"{name}.csv",
                     init=dict(zip(meta["parameters"], meta["start2"])), ci=ci)
    return result, meta


def test_standard_errors_by_name_covariance_and_correlation_on_misra1a():
    result, meta = nist("Misra1a")
    assert list(result.std_errors) == ["b1", "b2"]
    for name, certified in zip(meta["parameters"], meta["certified_std_dev"]):
        assert result.std_errors[name] == pytest.approx(certified, rel=1e-6)
    cov, corr = result.covariance, result.correlation
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), meta["certified_std_dev"], rtol=1e-6)
    assert corr[0, 1] == pytest.approx(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]))
    assert -1 < corr[0, 1] < -0.99 and np.allclose(np.diag(corr), 1.0)


def test_asymptotic_intervals_are_value_plus_minus_t_standard_errors():
    result, meta = nist("Misra1a", ci=0.9)
    t = stats.t.ppf(0.95, 14 - 2)
    for name in meta["parameters"]:
        low, high = result.conf_int(0.9)[name]
        value, error = result.params[name], result.std_errors[name]
        assert low == pytest.approx(value - t * error, rel=1e-12)
        assert high == pytest.approx(value + t * error, rel=1e-12)
    assert result.intervals.how == "asymptotic" and result.intervals.level == 0.9
    text = str(result)
    assert "90 % confidence intervals (value ± t·standard error; t with 12 degrees of freedom)" in text
    assert "correlation" in text and "-0.999" in text
    html = result._repr_html_()   # the notebook's table shows the same correlation
    assert 'class="gdc-fit gdc-correlation"' in html and "<th>b2</th><td class=\"num\">-0.999</td>" in html


MODELS = {   # the NIST model and the same residual for lmfit
    "Misra1a": lambda p, x: p["b1"] * (1 - np.exp(-p["b2"] * x)),
    "DanWood": lambda p, x: p["b1"] * x ** p["b2"],
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_profile_intervals_match_lmfit_conf_interval(name):
    lmfit = pytest.importorskip("lmfit")
    result, meta = nist(name, ci="profile:0.95")
    data = np.genfromtxt(NIST / f"{name}.csv", delimiter=",", names=True)
    params = lmfit.Parameters()
    for n, v in zip(meta["parameters"], meta["start2"]):
        params.add(n, value=v)
    minimizer = lmfit.Minimizer(lambda p: MODELS[name](p, data["x"]) - data["y"], params)
    best = minimizer.minimize(method="leastsq", xtol=1e-14, ftol=1e-14)
    theirs = lmfit.conf_interval(minimizer, best, sigmas=[0.95])
    for n in meta["parameters"]:
        low, high = result.intervals.low[meta["parameters"].index(n)], result.intervals.high[
            meta["parameters"].index(n)]
        assert low == pytest.approx(theirs[n][0][1], rel=1e-3)
        assert high == pytest.approx(theirs[n][-1][1], rel=1e-3)
        # the profile differs from the asymptotic interval: it follows the model's curvature
        assert (low, high) != pytest.approx(result.conf_int(0.95)[n], rel=1e-6)


def test_intervals_and_covariance_travel_through_json_and_the_saved_file(tmp_path):
    result, _ = nist("DanWood", ci="profile")
    doc = result.to_dict()
    assert doc["intervals"]["method"] == "profile" and doc["intervals"]["level"] == 0.95
    assert np.allclose(doc["covariance"], result.covariance) and np.allclose(doc["correlation"], result.correlation)
    result.save(tmp_path / "fit.json")
    back = gdc.load_result(tmp_path / "fit.json")
    np.testing.assert_array_equal(back.covariance, result.covariance)
    assert back.intervals == result.intervals and back.std_errors == result.std_errors
    saved = json.loads((tmp_path / "fit.json").read_text())   # a file from before these fields
    for key in ("covariance", "correlation", "intervals"):
        del saved["fit"][key]
    (tmp_path / "old.json").write_text(json.dumps(saved))
    old = gdc.load_result(tmp_path / "old.json")
    assert old.covariance is None and old.intervals is None and old.std_errors == result.std_errors


@pytest.mark.parametrize("text, error", [
    ("2", "the level must be between 0 and 1"), ("profile:x", "is not a level between 0 and 1"),
    ("bogus", "is not a level between 0 and 1"), ("0", "the level must be between 0 and 1")])
def test_a_bad_ci_is_refused(text, error):
    with pytest.raises(GdcError, match=error) as caught:
        parse_ci(text)
    assert caught.value.where == "--ci"
    assert parse_ci("profile") == (0.95, "profile") and parse_ci(0.9) == (0.9, "asymptotic")


def test_intervals_need_a_least_squares_loss():
    result = gdc.fit("model y = m*x\nloss mean(abs(y - Y))", {"x": [1.0, 2.0, 3.0], "Y": [1.0, 2.2, 2.9]})
    assert result.covariance is None and result.std_errors is None
    with pytest.raises(GdcError, match="confidence intervals need a least-squares loss"):
        result.conf_int()


# --- measurement errors, against scipy's curve_fit ---------------------------------------------

def _exp(x, a, k, c):
    return a * np.exp(-k * x) + c


def _gauss(x, h, m, s):
    return h * np.exp(-(x - m) ** 2 / (2 * s ** 2))


def _rational(x, a, b, c):
    return (a + b * x) / (1 + c * x)


def _exp_jac(x, a, k, c):
    e = np.exp(-k * x)
    return np.column_stack([e, -a * x * e, np.ones_like(x)])


def _gauss_jac(x, h, m, s):
    g = np.exp(-(x - m) ** 2 / (2 * s ** 2))
    return np.column_stack([g, h * g * (x - m) / s ** 2, h * g * (x - m) ** 2 / s ** 3])


def _rational_jac(x, a, b, c):
    d = 1 + c * x
    return np.column_stack([1 / d, x / d, -(a + b * x) * x / d ** 2])


WEIGHTED = [   # the model text (three loss scales), the function and its Jacobian (curve_fit's J exact)
    ("model f = a*exp(-k*x) + c\nloss sum((f - Y)^2)", _exp, _exp_jac, dict(a=3.0, k=0.8, c=0.5)),
    ("model f = h*exp(-(x - m)^2/(2*s^2))\nloss mean((f - Y)^2)", _gauss, _gauss_jac, dict(h=2.0, m=2.4, s=0.9)),
    ("model f = (a + b*x)/(1 + c*x)\nloss 0.5*sum((f - Y)^2)", _rational, _rational_jac, dict(a=1.0, b=2.0, c=0.3)),
]


@pytest.mark.parametrize("absolute", [False, True])
@pytest.mark.parametrize("text, f, jac, true", WEIGHTED, ids=["exp", "gauss", "rational"])
def test_weighted_fits_match_curve_fit(text, f, jac, true, absolute):
    from scipy.optimize import curve_fit
    rng = np.random.default_rng(3)
    x = np.linspace(0.1, 5, 40)
    dy = 0.05 + 0.1 * rng.random(len(x))
    y = f(x, *true.values()) + 2.0 * dy * rng.standard_normal(len(x))   # χ²/(N − p) ≈ 4: the two covariances differ
    start = {k: 1.2 * v for k, v in true.items()}
    result = gdc.fit(text, {"x": x, "Y": y, "dY": dy}, sigma="dY", absolute_sigma=absolute, init=start)
    theirs, cov = curve_fit(f, x, y, p0=list(start.values()), sigma=dy, absolute_sigma=absolute, jac=jac,
                            xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert result.converged and result.method == "lm"
    np.testing.assert_allclose([result.params[k] for k in true], theirs, rtol=1e-6)
    np.testing.assert_allclose(result.covariance, cov, rtol=1e-6)
    chi2 = float(np.sum(((f(x, *theirs) - y) / dy) ** 2))
    assert result.rss == pytest.approx(chi2, rel=1e-9)


def test_sigma_errors_name_the_problem():
    data = {"x": [1.0, 2.0, 3.0, 4.0], "Y": [1.0, 2.1, 2.9, 4.2], "dY": [0.1, 0.0, 0.1, -1.0]}
    with pytest.raises(GdcError, match="must be finite and > 0; row 2 holds 0.0 \\(2 such rows\\)"):
        gdc.fit("model y = m*x\nloss mean((y - Y)^2)", data, sigma="dY")
    data["dY"] = [0.1, 0.2, 0.1, 0.3]
    with pytest.raises(GdcError, match="divides the residuals of a least-squares loss") as caught:
        gdc.fit("model y = m*x\nloss mean(abs(y - Y))", data, sigma="dY")
    assert caught.value.where == "--sigma"
    with pytest.raises(GdcError, match="--sigma weighs the full-batch fit"):
        gdc.fit("model y = m*x\nloss mean((y - Y)^2)", data, sigma="dY", method="sgd")
    lbfgs = gdc.fit("model y = m*x\nloss mean((y - Y)^2)", data, sigma="dY", method="lbfgs", gtol=1e-12)
    w = 1 / np.square(data["dY"])
    x, y = np.array(data["x"]), np.array(data["Y"])
    assert lbfgs.params["m"] == pytest.approx(np.sum(w * x * y) / np.sum(w * x * x), rel=1e-9)


def test_the_command_line_takes_sigma_and_ci(tmp_path, capsys):
    (tmp_path / "m.gd").write_text("model y = a*exp(-k*x)\nloss sum((y - Y)^2)\n")
    x = np.linspace(0, 3, 12)
    dy = np.linspace(0.1, 0.3, 12)
    y = 2 * np.exp(-0.7 * x) + dy * np.sin(7 * x)
    rows = "\n".join(f"{a:.17g},{b:.17g},{c:.17g}" for a, b, c in zip(x, y, dy))
    (tmp_path / "d.csv").write_text("x,Y,dY\n" + rows + "\n")
    args = ["fit", str(tmp_path / "m.gd"), str(tmp_path / "d.csv"), "--sigma", "dY", "--ci", "0.95", "-q"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "residuals divided by column dY" in out and "95 % confidence intervals" in out
    assert main(args + ["--json", "--absolute-sigma"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sigma"] == "dY" and doc["absolute_sigma"] and len(doc["covariance"]) == 2
    assert set(doc["intervals"]["low"]) == {"a", "k"}
    assert main(["fit", str(tmp_path / "m.gd"), str(tmp_path / "d.csv"), "--absolute-sigma"]) == 1
    assert "--absolute-sigma says how to read the errors of --sigma" in capsys.readouterr().err


def test_a_ci_that_starts_like_profile_but_is_not_is_refused():
    with pytest.raises(GdcError, match="'profiles' is not a level or 'profile'") as caught:
        parse_ci("profiles")
    assert caught.value.where == "--ci"


def test_intervals_need_degrees_of_freedom_and_profiles_need_the_data(tmp_path):
    line = "model y = m*x + b\nloss mean((y - Y)^2)"
    exact = gdc.fit(line, {"x": [1.0, 2.0], "Y": [1.0, 2.2]})   # two rows, two parameters
    with pytest.raises(GdcError, match="2 rows for 2 parameters leave no degrees of freedom") as caught:
        exact.conf_int()
    assert caught.value.where == "--ci"
    result = gdc.fit(line, {"x": [1.0, 2.0, 3.0], "Y": [1.0, 2.2, 2.9]})
    result.save(tmp_path / "fit.json")
    loaded = gdc.load_result(tmp_path / "fit.json")
    assert loaded.conf_int()["m"][0] < result.params["m"]   # asymptotic intervals need no data
    with pytest.raises(GdcError, match="profile intervals refit the model, so they need its data") as caught:
        loaded.conf_int(profile=True)
    assert "--ci LEVEL for asymptotic intervals" in caught.value.render()


@pytest.mark.parametrize("text, f, jac, true", WEIGHTED, ids=["exp", "gauss", "rational"])
def test_weighted_kernels_are_the_loss_of_r_over_sigma_and_its_gradient(text, f, jac, true):
    """The --sigma kernels every method runs (lbfgs and gd through loss_grad, the checks through
    jtj_jtr): c·Σ((f − Y)/σ)² (c/N for a mean), its gradient against central differences of that
    loss written in numpy, and Σ(r/σ)² with JᵀJ and Jᵀr of J/σ."""
    from gdc.fitting.weights import weighted
    from oracles import central_differences
    rng = np.random.default_rng(5)
    x = np.linspace(0.1, 5, 30)
    dy = 0.05 + 0.1 * rng.random(len(x))
    y = f(x, *true.values()) + dy * rng.standard_normal(len(x))
    kernels = weighted(gdc.compile(text), dy, "dY")
    scale = {"sum": 1.0, "mean": 1.0 / len(x), "0.5*": 0.5}[next(k for k in ("0.5*", "sum", "mean") if k in text)]

    def loss(theta):
        return scale * float(np.sum(((f(x, *theta) - y) / dy) ** 2))
    theta = np.array([1.1 * v for v in true.values()])
    data = tuple({"x": x, "Y": y}[n] for n in kernels.data_names)
    grad = np.zeros(3)
    assert kernels.loss(theta, *data) == pytest.approx(loss(theta), rel=1e-12)
    assert kernels.loss_grad(theta, *data, grad) == pytest.approx(loss(theta), rel=1e-12)
    np.testing.assert_allclose(grad, central_differences(loss, theta), rtol=1e-6)
    jtj, jtr = np.zeros((3, 3)), np.zeros(3)
    j, r = jac(x, *theta) / dy[:, None], (f(x, *theta) - y) / dy
    assert kernels.jtj_jtr(theta, *data, jtj, jtr) == pytest.approx(float(r @ r), rel=1e-12)
    np.testing.assert_allclose(jtj, j.T @ j, rtol=1e-10)
    np.testing.assert_allclose(jtr, j.T @ r, rtol=1e-10)
