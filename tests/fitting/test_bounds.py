"""Bounds and fixed parameters in the fit (gdc.fitting.bounds, projected.py): NIST problems against
scipy's least_squares(method="trf", bounds=...), a closed-form constrained optimum for gd, a fixed
parameter against the model with the constant written in, and every new error message."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import least_squares

from gdc.api import fit, prepare
from gdc.errors import GdcError
from gdc.fitting.bounds import parse_bounds, parse_fixed
from gdc.fitting.options import Options
from gdc.fitting.run import run
from locations import NIST

# name -> (the residuals as numpy writes them, a start inside the bounds, bounds that exclude the
# certified optimum: (lower, upper) per parameter)
EXCLUDING = {
    "Misra1a": (lambda b, x: b[0] * (1 - np.exp(-b[1] * x)), [200.0, 0.0005], {"b1": (0, 230)}),
    "DanWood": (lambda b, x: b[0] * x ** b[1], [0.7, 3.0], {"b2": (None, 3.5)}),
    "Chwirut2": (lambda b, x: np.exp(-b[0] * x) / (b[1] + b[2] * x), [0.2, 0.008, 0.01], {"b1": (0.17, 1)}),
}


def meta(name: str) -> dict:
    return json.loads((NIST / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def problems():
    """The compiled NIST problems, shared by the tests of this module."""
    return {name: prepare(NIST / f"{name}.gd", NIST / f"{name}.csv") for name in EXCLUDING}


def scipy_answer(name, problem, bounds):
    model, start, _ = EXCLUDING[name]
    x, y = problem.data
    names = problem.kernels.param_names
    lower = [-np.inf if bounds.get(n, (None, None))[0] is None else bounds[n][0] for n in names]
    upper = [np.inf if bounds.get(n, (None, None))[1] is None else bounds[n][1] for n in names]
    found = least_squares(lambda b: model(b, x) - y, start, bounds=(lower, upper), method="trf",
                          x_scale="jac", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=10_000)
    return found.x


@pytest.mark.parametrize("name", sorted(EXCLUDING))
@pytest.mark.parametrize("method", ["lm", "newton"])
def test_bounds_that_exclude_the_optimum_stop_on_the_bound_as_scipy_trf_does(problems, name, method):
    problem = problems[name]
    _, start, bounds = EXCLUDING[name]
    names = problem.kernels.param_names
    result = run(problem, Options(method=method), init=dict(zip(names, start)), bounds=bounds)
    assert result.converged, result.message
    expected = scipy_answer(name, problem, bounds)
    found = np.array([result.params[n] for n in names])
    np.testing.assert_allclose(found, expected, rtol=1e-6)
    (bounded, (lo, hi)), = bounds.items()
    end = lo if abs(result.params[bounded] - (lo or 0)) < abs(result.params[bounded] - (hi or 0)) else hi
    assert result.params[bounded] == end   # exactly on it, and flagged
    assert result.held[names.index(bounded)] == f"at {'lower' if end == lo else 'upper'} bound {end:g}"
    certified = meta(name)["certified_values"][names.index(bounded)]
    assert not (lo or -math.inf) <= certified <= (hi or math.inf)   # the bounds did exclude it
    if method == "lm":   # no standard error on the bound; the others' are finite
        errors = result.std_errors
        assert math.isnan(errors[bounded])
        assert all(math.isfinite(errors[n]) for n in names if n != bounded)


def test_bounds_that_include_the_optimum_reach_the_certified_values(problems):
    problem, data = problems["Misra1a"], meta("Misra1a")
    names = problem.kernels.param_names
    result = run(problem, Options(), init=dict(zip(names, data["start1"])),
                 bounds={"b1": "(0, 1000]", "b2": (0, 1)})
    assert result.converged and result.method == "lm", result.message
    np.testing.assert_allclose([result.params[n] for n in names], data["certified_values"], rtol=1e-8)
    np.testing.assert_allclose(result.stats.std_errors, data["certified_std_dev"], rtol=1e-3)
    assert result.held == ("", "")


def test_a_fixed_parameter_gives_the_fit_of_the_model_with_the_constant_written_in(problems):
    problem = problems["Misra1a"]
    held = run(problem, Options(), init={"b1": 250.0}, fixed={"b2": 0.0005})
    written = fit("param b1 = 250\ndata x, y\nmodel f = b1*(1 - exp(-0.0005*x))\nloss sum((f - y)^2)\n",
                  {"x": problem.data[0], "y": problem.data[1]})
    assert held.converged and written.converged
    assert held.params["b2"] == 0.0005
    assert held.params["b1"] == pytest.approx(written.params["b1"], rel=1e-10)
    assert held.loss == pytest.approx(written.loss, rel=1e-10)
    assert held.stats.dof == written.stats.dof
    assert held.std_errors["b1"] == pytest.approx(written.std_errors["b1"], rel=1e-8)
    assert math.isnan(held.std_errors["b2"]) and held.held == ("", "fixed")
    for method in ("newton", "gd"):   # every method holds it, and reaches the same answer
        other = run(problem, Options(method=method, epochs=200_000 if method == "gd" else None),
                    init={"b1": 250.0}, fixed={"b2": 0.0005})
        assert other.params["b2"] == 0.0005
        assert other.params["b1"] == pytest.approx(written.params["b1"], rel=1e-6), other.message


# --- first order: a line through data whose best slope is past the bound -------------------------

LINE = "model y = m*x + b\nloss mean((y - Y)^2)\n"


@pytest.fixture(scope="module")
def line():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 3, 200)
    data = {"x": x, "Y": 2.0 * x + 1.0 + 0.1 * rng.standard_normal(200)}
    return prepare(LINE, data), data


def constrained_line(data, cap):
    """The least-squares line with m ≤ cap: m = cap, b = mean(Y − cap·x) (the slope's bound binds)."""
    x, y = data["x"], data["Y"]
    return cap, float(np.mean(y - cap * x))


@pytest.mark.parametrize("options", [Options(method="gd"), Options(method="gd", lr=0.05),
                                     Options(method="momentum", lr=0.02), Options(method="adam", lr=0.01)],
                         ids=["gd auto", "gd lr", "momentum", "adam"])
def test_first_order_methods_project_onto_the_bounds_and_reach_the_constrained_optimum(line, options):
    problem, data = line
    result = run(problem, options, bounds={"m": (None, 1.5)})
    m, b = constrained_line(data, 1.5)
    assert result.converged, result.message
    assert result.params["m"] == 1.5 and result.held[problem.kernels.param_names.index("m")] == "at upper bound 1.5"
    # converged claims a loss within 1e-8 (relative) of the minimum: the loss there, and b near it
    best = float(np.mean((m * data["x"] + b - data["Y"]) ** 2))
    assert best <= result.loss <= best * (1 + 1e-8)
    assert result.params["b"] == pytest.approx(b, rel=1e-4)
    assert result.grad_norm < 1e-3   # the projected gradient; the raw one is far from zero here
    assert abs(float(np.mean(2 * (m * data["x"] + b - data["Y"]) * data["x"]))) > 0.1


def test_a_fit_stopped_before_the_constrained_optimum_is_not_called_converged(line):
    problem, _ = line
    result = run(problem, Options(method="gd", lr=1e-4, epochs=50), bounds={"m": (None, 1.5)})
    assert not result.converged and "not converged" in result.message


def test_an_open_end_is_never_reached(line):
    problem, _ = line
    result = run(problem, Options(), init={"m": 1.0}, bounds={"m": "(0, 1.5)"})
    assert 0 < result.params["m"] < 1.5
    assert result.params["m"] == pytest.approx(1.5, rel=1e-11)
    assert result.held[0].startswith("at upper bound") or result.held[1].startswith("at upper bound")


# --- vectors and matrices: a bound on all of them, a fixed element -------------------------------

def test_a_vector_bound_and_a_fixed_element():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 3))
    y = x @ np.array([0.5, -2.0, 3.0]) + 0.01 * rng.standard_normal(100)
    data = {"x": x, "Y": y}
    model = "param w[3]\ndata x[3], Y\nmodel f = dot(w, x)\nloss mean((f - Y)^2)\n"
    result = fit(model, data, bounds={"w": (-1, 1)}, fixed={"w[0]": 0.25})
    w = result.params["w"]
    assert w[0] == 0.25 and w[1] == -1.0 and w[2] == 1.0
    assert result.held == ("fixed", "at lower bound -1", "at upper bound 1")
    free = fit(model, data, fixed={"w[0]": 0.25})   # the others free: least squares on the rest
    rest = np.linalg.lstsq(x[:, 1:], y - 0.25 * x[:, 0], rcond=None)[0]
    np.testing.assert_allclose(free.params["w"][1:], rest, rtol=1e-9)
    assert free.converged


def test_random_starts_of_a_bounded_vector_are_drawn_inside(tmp_path):
    model = "param w[4] in (0, 1)\ndata x[4], Y\nmodel f = dot(w, x)\nloss mean((f - Y)^2)\n"
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 4))
    result = fit(model, {"x": x, "Y": x @ np.array([0.2, 0.4, 0.6, 0.8])})
    np.testing.assert_allclose(result.params["w"], [0.2, 0.4, 0.6, 0.8], rtol=1e-8)


# --- the report -----------------------------------------------------------------------------------

def test_the_report_marks_held_parameters(problems):
    problem = problems["Misra1a"]
    result = run(problem, Options(), init={"b1": 200.0}, bounds={"b1": (0, 230)}, fixed={})
    text = str(result)
    assert "— at upper bound 230" in text and "projected onto the bounds" in text
    fixed = run(problem, Options(), init={"b1": 250.0}, fixed={"b2": 0.0005})
    assert "— (fixed)" in str(fixed)
    document = fixed.to_dict()
    assert document["held"] == {"b2": "fixed"} and document["std_errors"]["b2"] is None


# --- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bounds, fixed, init, message", [
    ({"q": (0, 1)}, None, None, "the model has no parameter 'q'"),
    (None, {"bb": 0}, None, "the model has no parameter 'bb'"),
    ({"x": (0, 1)}, None, None, "'x' is data, not a parameter"),
    ({"m": (0, 1)}, {"m": 2}, None, "'m' is fixed at 2, outside its bounds [0, 1]"),
    ({"m": (0, 1)}, None, {"m": 5}, "the start m = 5 is outside its bounds [0, 1]"),
    ({"m": (1, 0)}, None, None, "leave no room"),
    ({"m": (1, 1)}, None, None, "leave no room"),
    ({"m": 3}, None, None, "must be a pair"),
    ({"m": ("a", 1)}, None, None, "must be a number"),
    (None, {"m": math.nan}, None, "must be fixed at a finite number"),
    ({"m": "0;1"}, None, None, "is not a range"),
])
def test_bad_bounds_and_fixed_values_are_user_errors(line, bounds, fixed, init, message):
    problem, _ = line
    with pytest.raises(GdcError) as info:
        run(problem, Options(), bounds=bounds, fixed=fixed, init=init)
    assert message in str(info.value)
    if "no parameter" in message:
        assert "the parameters are m, b" in info.value.render() or "did you mean" in info.value.render()


def test_the_fit_bounds_narrow_the_model_bounds_and_never_widen_them():
    data = {"x": np.arange(5.0), "Y": 2.0 * np.arange(5.0)}
    model = "param m = 0.5 in [0, 1]\ndata x, Y\nmodel y = m*x\nloss mean((y - Y)^2)\n"
    assert fit(model, data).params["m"] == 1.0
    assert fit(model, data, bounds={"m": (0, 0.75)}).params["m"] == 0.75
    assert fit(model, data, bounds={"m": (0, 10)}).params["m"] == 1.0   # the intersection: [0, 1]
    with pytest.raises(GdcError, match="leave no room inside the model's"):
        fit(model, data, bounds={"m": (2, 3)})


def test_the_bundle_method_refuses_bounds(line):
    problem, _ = line
    with pytest.raises(GdcError, match="bundle method does not take bounds"):
        run(problem, Options(method="bundle"), bounds={"m": (0, 1)})


def test_lbfgs_keeps_a_fixed_parameter_where_it_is(line):
    problem, _ = line
    result = run(problem, Options(method="lbfgs"), fixed={"b": 0})
    assert result.method == "lbfgs" and result.params["b"] == 0.0 and result.held[-1] == "fixed"


def test_the_command_line_forms():
    assert parse_bounds(["k=0:10,b=0:", "c=:-1", "d=-inf:inf", "W[0, 1]=(0, 1]"]) == {
        "k": parse_bounds(["k=[0, 10]"])["k"], "b": parse_bounds(["b=[0, inf)"])["b"],
        "c": parse_bounds(["c=(-inf, -1]"])["c"], "d": parse_bounds(["d=(-inf, inf)"])["d"],
        "W[0, 1]": parse_bounds(["x=(0, 1]"])["x"]}
    assert parse_bounds(["k=(0,1]"])["k"].lower_open and not parse_bounds(["k=(0,1]"])["k"].upper_open
    assert parse_fixed(["b=0", "w[1]=2,c=-1.5"]) == {"b": 0.0, "w[1]": 2.0, "c": -1.5}
    for bad, option in (("k", "--bound"), ("k=0:x", "--bound"), ("=1:2", "--bound")):
        with pytest.raises(GdcError, match="NAME=LOW:HIGH|not a number|not a range"):
            parse_bounds([bad])
    with pytest.raises(GdcError, match="NAME=VALUE"):
        parse_fixed(["b"])


def test_a_held_parameter_has_no_interval_and_no_correlation_row(line):
    from gdc.api import fit
    _, data = line
    result = fit(LINE, data, bounds={"m": (0, 1.5)}, ci=0.95)
    assert result.held == ("at upper bound 1.5", "")
    report = str(result)
    assert "  m  none: at upper bound 1.5" in report
    low, high = result.intervals.low[1], result.intervals.high[1]
    assert low < result.params["b"] < high
    assert "correlation" not in report   # one free parameter: no table


def test_the_correlation_table_skips_a_held_parameter_that_comes_first(line):
    """a held at its bound: the table correlates m and b alone, as the line fit with a written in
    does, −Σx/√(N·Σx²) from (XᵀX)⁻¹ with X = [x, 1] (the held a's NaN column is no cell of it)."""
    from gdc.api import fit
    from gdc.fitting.uncertainty import correlation_table
    _, data = line
    result = fit("model y = a*x^2 + m*x + b\nloss mean((y - Y)^2)\n", data, bounds={"a": (0.5, 1.0)},
                 init={"a": 0.75})
    assert result.held == ("at lower bound 0.5", "", "")
    design = np.column_stack([data["x"], np.ones_like(data["x"])])
    inverse = np.linalg.inv(design.T @ design)
    columns, rows = correlation_table(result)
    assert columns == ["m"] and [name for name, _ in rows] == ["b"]
    assert rows[0][1] == [pytest.approx(inverse[0, 1] / math.sqrt(inverse[0, 0] * inverse[1, 1]), rel=1e-9)]


VECTOR = "param w[3]\ndata x[3], Y\nmodel f = dot(w, x)\nloss mean((f - Y)^2)\n"   # as above: one compile


@pytest.mark.parametrize("bounds, fixed, where, message", [
    (None, {"w[3]": 0.0}, "--fix", "'w[3]' is not an element of w, whose shape is [3]"),
    ({"w[0, 1]": (0, 1)}, None, "--bound", "'w[0, 1]' is not an element of w, whose shape is [3]"),
])
def test_an_element_outside_the_shape_is_named_with_the_shape(bounds, fixed, where, message):
    data = {"x": np.eye(3), "Y": np.array([1.0, 2.0, 3.0])}
    with pytest.raises(GdcError) as info:
        fit(VECTOR, data, bounds=bounds, fixed=fixed)
    assert message in str(info.value) and info.value.where == where
    assert "elements are numbered from 0" in info.value.render()


def test_an_element_of_a_scalar_parameter_is_refused(line):
    problem, _ = line
    with pytest.raises(GdcError) as info:
        run(problem, Options(), bounds={"m[0]": (0, 1)})
    assert "m is a number, not a vector" in str(info.value)


@pytest.mark.parametrize("text", ["m=inf:5", "m=nan:5", "m=-inf:-inf"])
def test_bounds_that_hold_no_number_are_refused(text):
    with pytest.raises(GdcError) as info:
        parse_bounds([text])
    assert "of 'm' hold no number" in str(info.value) and info.value.where == "--bound"
    assert "the lower end may be -inf, the upper inf" in info.value.render()
