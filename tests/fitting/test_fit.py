"""Fits against closed-form or certified answers, with real generated kernels (gdc.fitting.run, gdc.fitting.optimizers)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import gdc
from gdc.errors import GdcError
from gdc.api import prepare
from gdc.fitting.problem import FitDiverged, FitResult
from gdc.fitting.reasons import Stop
from gdc.fitting.run import run
from gdc.fitting.optimizers import Objective, curvature
from gdc.fitting.options import Options, Schedule
from locations import TESTS, EXAMPLES

STUDENTS = EXAMPLES / "students.csv"
DIABETES = TESTS / "data" / "diabetes.csv"
CANCER = TESTS / "data" / "breast_cancer.csv"

# The seed's model on raw heights (~170 cm: badly conditioned), unless the example exists.
LINEAR = EXAMPLES / "linear.gd" if (EXAMPLES / "linear.gd").exists() else \
    "model y = m*x + b\nloss mean((y - Y)^2)\n"
# The same line, centred and scaled: well conditioned, for the methods with a fixed rate.
SCALED = "model y = m*(x - 170)/10 + b\nloss mean((y - Y)^2)\n"
MAP = {"x": "height", "Y": "weight"}
DIABETES_MODEL = ("model y = w0 + w1*age + w2*sex + w3*bmi + w4*bp + w5*s1 + w6*s2 + w7*s3"
                  " + w8*s4 + w9*s5 + w10*s6\nloss mean((y - progression)^2)\n")
LOGISTIC = "model p = sigmoid(w0 + w1*x1 + w2*x2 + w3*x3)\nloss -mean(Y*log(p) + (1 - Y)*log(1 - p))\n"


def columns(path: Path) -> dict[str, np.ndarray]:
    table = np.genfromtxt(path, delimiter=",", names=True)
    return {name: table[name] for name in table.dtype.names}


def least_squares(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """numpy's lstsq, on a design matrix written from the model's formula (not from gdc)."""
    return np.linalg.lstsq(design, target, rcond=None)[0]


def students(scaled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The design [x, 1] of y = m·x + b (scaled: [(x − 170)/10, 1]) and the weights."""
    table = columns(STUDENTS)
    x = (table["height"] - 170) / 10 if scaled else table["height"]
    return np.column_stack([x, np.ones_like(x)]), table["weight"]


def diabetes() -> tuple[np.ndarray, np.ndarray]:
    """The design [1, age, sex, bmi, bp, s1 … s6] of DIABETES_MODEL (w0 first) and the target."""
    table = columns(DIABETES)
    names = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    return np.column_stack([np.ones(len(table["age"]))] + [table[n] for n in names]), table["progression"]


def values(result: FitResult) -> np.ndarray:
    return np.array(list(result.params.values()))


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want) / np.abs(want)))


# --- closed-form answers ------------------------------------------------------------------------

def test_gd_with_automatic_step_solves_the_ill_conditioned_seed_model():
    want = least_squares(*students())
    result = gdc.fit(LINEAR, STUDENTS, mapping=MAP, gtol=1e-9)   # a tolerance makes auto choose gd
    assert result.method == "gd" and result.converged and result.reason == "gtol"
    assert result.iterations < 100          # plain gd at a fixed rate needs millions here
    assert relative_error(values(result), want) < 1e-6
    assert result.lr_note.startswith("automatic")


def test_gd_with_a_fixed_rate_is_the_seed_algorithm():
    want = least_squares(*students(scaled=True))
    result = gdc.fit(SCALED, STUDENTS, lr=0.2, mapping=MAP, gtol=1e-9)
    assert result.converged and result.lr == 0.2 and result.lr_note is None
    assert relative_error(values(result), want) < 1e-6
    assert np.all(np.diff(result.history) <= 0)  # a stable rate: the loss never rises


@pytest.mark.parametrize("options, tolerance", [
    (dict(method="sgd", schedule="invscaling", power_t=1.0, epochs=2000, tol=0), 1e-3),
    (dict(method="minibatch", batch_size=5, schedule="invscaling", power_t=1.0, epochs=2000, tol=0), 1e-3),
    (dict(method="adam", tol=0), 1e-6),
    (dict(method="adam", batch_size=10, schedule="step", step_every=100, epochs=1500, tol=0), 1e-4),
    (dict(method="momentum", tol=0), 1e-6),
    (dict(method="momentum", nesterov=True, tol=0), 1e-6),
    (dict(method="momentum", batch_size=6, schedule="step", step_every=100, epochs=1500, tol=0), 1e-4),
])
def test_every_method_reaches_least_squares(options, tolerance):
    want = least_squares(*students(scaled=True))
    result = gdc.fit(SCALED, STUDENTS, mapping=MAP, gtol=1e-9, **options)
    assert relative_error(values(result), want) < tolerance, result


def test_diabetes_matches_lstsq_to_six_significant_digits():
    want = least_squares(*diabetes())
    result = gdc.fit(DIABETES_MODEL, DIABETES, gtol=1e-9, tol=0)
    assert result.converged
    assert relative_error(values(result), want) < 5e-7
    assert result.path is None              # parameter paths are kept for two parameters only


def standardized_cancer() -> dict[str, np.ndarray]:
    raw = columns(CANCER)
    names = ["mean_radius", "mean_texture", "mean_smoothness"]
    data = {f"x{j}": (raw[n] - raw[n].mean()) / raw[n].std() for j, n in enumerate(names, 1)}
    data["Y"] = raw["benign"]
    return data


def newton_reference(data: dict) -> tuple[np.ndarray, float]:
    """Unpenalized logistic regression by Newton's method, in numpy: an independent answer."""
    X = np.column_stack([np.ones(len(data["Y"]))] + [data[f"x{j}"] for j in (1, 2, 3)])
    y, w = data["Y"], np.zeros(4)
    for _ in range(50):
        p = 1 / (1 + np.exp(-X @ w))
        hessian = X.T @ (X * (p * (1 - p))[:, None]) / len(y)
        w -= np.linalg.solve(hessian, X.T @ (p - y) / len(y))
    z = X @ w
    loss = float(np.mean(np.logaddexp(0, z) - y * z))
    return w, loss


@pytest.mark.parametrize("method", ["gd", "adam", "momentum"])
def test_logistic_regression_is_certified_and_matches_scikit_learn(method):
    data = standardized_cancer()
    result = gdc.fit(LOGISTIC, data, method=method, gtol=1e-8, tol=0)
    got = values(result)
    # The certificate needs no scikit-learn: a vanishing gradient (computed here, in numpy)
    # and a loss no higher than that of Newton's method.
    X = np.column_stack([np.ones(len(data["Y"]))] + [data[f"x{j}"] for j in (1, 2, 3)])
    p = 1 / (1 + np.exp(-X @ got))
    assert np.linalg.norm(X.T @ (p - data["Y"]) / len(p)) < 1e-7
    newton, newton_loss = newton_reference(data)
    assert result.loss <= newton_loss + 1e-12
    assert relative_error(got, newton) < 1e-6
    from sklearn.linear_model import LogisticRegression  # a test dependency: never skipped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X[:, 1:], data["Y"])
    want = np.concatenate([reference.intercept_, reference.coef_[0]])
    assert relative_error(got, want) < 1e-5


def test_certify_false_takes_no_curvature_estimate_in_the_loop_or_after(monkeypatch):
    """A stochastic fit's stop rule is the certificate of its best iterate (gdc.fitting.
    run_first_order.Settling); certify=False skips it there as after a full-batch fit, and the
    fits say so: sgd cannot call itself settled then, gd converges on --gtol alone."""
    from gdc.fitting.verdict import Curvature
    certified = gdc.fit(SCALED, STUDENTS, mapping=MAP, method="sgd")
    assert certified.converged and certified.reason == Stop.NEAR_MINIMUM and math.isfinite(certified.gap)
    assert certified.certified

    def refused(*args, **kwargs):
        raise AssertionError("certify=False took a curvature estimate")
    monkeypatch.setattr(Curvature, "gap", refused)
    bare = gdc.fit(SCALED, STUDENTS, mapping=MAP, method="sgd", certify=False)
    assert not bare.converged and math.isnan(bare.gap)
    gd = gdc.fit(SCALED, STUDENTS, mapping=MAP, method="gd", certify=False)
    assert gd.converged and "is at most --gtol" in gd.message and "not certified: certify=False" in gd.message
    assert not gd.certified


def test_curvature_estimate_is_the_largest_hessian_eigenvalue():
    problem = prepare(LINEAR, STUDENTS, mapping=MAP)
    x = problem.column("x")
    design = np.column_stack([x, np.ones_like(x)])
    exact = np.linalg.eigvalsh(2 * design.T @ design / len(x)).max()
    estimate = curvature(Objective(problem.kernels, problem.data), np.zeros(2))
    assert estimate == pytest.approx(exact, rel=1e-3)


# --- reproducibility ----------------------------------------------------------------------------

@pytest.mark.parametrize("options", [dict(method="sgd", epochs=50, tol=0), dict(method="gd"),
                                     dict(method="adam", batch_size=7, epochs=50, tol=0)])
def test_same_seed_same_data_same_bits(options):
    first = gdc.fit(SCALED, STUDENTS, mapping=MAP, seed=7, **options)
    second = gdc.fit(SCALED, STUDENTS, mapping=MAP, seed=7, **options)
    assert values(first).tobytes() == values(second).tobytes()
    assert first.history.tobytes() == second.history.tobytes()


def test_the_seed_drives_the_shuffle_and_no_shuffle_ignores_it():
    fits = {seed: gdc.fit(SCALED, STUDENTS, mapping=MAP, method="sgd", epochs=20, tol=0, seed=seed)
            for seed in (1, 2)}
    assert values(fits[1]).tobytes() != values(fits[2]).tobytes()
    ordered = [gdc.fit(SCALED, STUDENTS, mapping=MAP, method="sgd", epochs=20, tol=0, seed=seed,
                       shuffle=False) for seed in (1, 2)]
    assert values(ordered[0]).tobytes() == values(ordered[1]).tobytes()


# --- stopping -----------------------------------------------------------------------------------

def test_a_too_large_rate_diverges_at_once_with_advice():
    with pytest.raises(FitDiverged) as caught:
        gdc.fit(LINEAR, STUDENTS, lr=0.01, mapping=MAP)
    result = caught.value.result
    assert result.reason == "diverged" and not result.converged
    assert result.iterations < 50
    assert "diverged" in caught.value.message
    assert "smaller learning rate" in caught.value.hint and "--lr 0.001" in caught.value.hint


def test_a_loss_that_is_not_finite_at_the_start_is_refused_before_fitting():
    problem = prepare(SCALED, STUDENTS, mapping=MAP)
    result = run(problem, Options(lr=1.0), init={"m": 1e300})
    assert result.reason == "undefined" and result.reason.failed and result.iterations == 0
    assert result.message.startswith("the loss is inf at the start: m = 1e+300 makes it so")
    assert result.advice == "start elsewhere: `param m = 1` in the model, or --init m=1"


def test_epoch_limit_is_reported_as_not_converged():
    result = gdc.fit(SCALED, STUDENTS, lr=0.01, epochs=5, mapping=MAP)
    assert (result.reason, result.converged, result.iterations) == ("max_epochs", False, 5)
    assert len(result.history) == 6 and "not converged" in result.message
    assert result.path.shape == (6, 2)


def test_long_fits_grow_their_history():
    result = gdc.fit(SCALED, STUDENTS, lr=1e-7, epochs=70_000, tol=0, gtol=0, mapping=MAP)
    assert len(result.history) == 70_001 and result.path.shape == (70_001, 2)
    assert np.all(np.diff(result.history) <= 0)


def test_loss_tolerance_stops_a_stalled_fit():
    result = gdc.fit(SCALED, STUDENTS, lr=0.2, tol=1e-6, gtol=0, mapping=MAP)
    assert result.reason == "tol" and result.converged
    assert "--tol" in result.message


# --- options and data ---------------------------------------------------------------------------

def test_init_overrides_and_is_checked():
    result = gdc.fit(SCALED, STUDENTS, lr=0.01, epochs=1, mapping=MAP, init={"m": 8.0, "b": 60.0})
    assert result.path[0].tolist() == [8.0, 60.0]
    with pytest.raises(GdcError, match="no parameter 'mm'") as caught:
        gdc.fit(SCALED, STUDENTS, mapping=MAP, init={"mm": 1.0})
    assert caught.value.hint == "did you mean 'm'?"
    with pytest.raises(GdcError, match="'x' is data, not a parameter"):
        gdc.fit(SCALED, STUDENTS, mapping=MAP, init={"x": 1.0})
    with pytest.raises(GdcError, match="the initial value of 'm' must be a number, not 'abc'") as caught:
        gdc.fit(SCALED, STUDENTS, mapping=MAP, init={"m": "abc"})
    assert caught.value.where == "--init"
    with pytest.raises(GdcError, match="the initial value of 'b' must be finite, not inf"):
        gdc.fit(SCALED, STUDENTS, mapping=MAP, init={"b": math.inf})


@pytest.mark.parametrize("options, where", [
    (dict(method="bfgs"), "--method"), (dict(method="lm", gtol=1e-9), "--tol/--gtol"), (dict(lr=-1.0), "--lr"), (dict(lr=math.nan), "--lr"),
    (dict(epochs=0), "--epochs"), (dict(method="sgd", batch_size=4), "--batch-size"),
    (dict(momentum=1.0, method="momentum"), "--momentum"), (dict(nesterov=True), "--nesterov"),
    (dict(schedule="cosine"), "--schedule"), (dict(tol=-1.0), "--tol"),
    # from Python any value can arrive: a wrong type is named too, not a TypeError
    (dict(lr="a"), "--lr"), (dict(epochs=1.5), "--epochs"), (dict(method=None), "--method"),
    (dict(seed="a", method="sgd"), "--seed"), (dict(certify="no"), "--no-certify"),
    (dict(batch_size=2.5, method="minibatch"), "--batch-size"), (dict(gtol="1e-6"), "--gtol"),
    (dict(bounds=[("m", 0, 1)]), "bounds"), (dict(fixed=["b"]), "fixed"),
    (dict(init=[1.0, 0.0]), "init"), (dict(init={0: 1.0}), "init"), (dict(seed=-1, method="sgd"), "--seed"),
])
def test_bad_options_name_the_option(options, where):
    with pytest.raises(GdcError) as caught:
        gdc.fit(SCALED, STUDENTS, mapping=MAP, **options)
    assert caught.value.where == where


@pytest.mark.parametrize("options, message, hint", [
    (dict(lr="a"), "lr must be a number, not 'a'", None),
    (dict(epochs=1.5), "epochs must be a whole number, not 1.5", None),
    (dict(certify="no"), "certify must be True or False, not 'no'", None),
    (dict(method="minibatch", batch_size=True), "batch_size must be a whole number, not True", None),
    (dict(bounds=[("m", 0, 1)]), "bounds must be a dict by parameter name, not list", "e.g. bounds={'k': (0, 10)}"),
    (dict(fixed=["b"]), "fixed must be a dict by parameter name, not list", "e.g. fixed={'k': 0}"),
    # init was read with .items(): an AttributeError; a negative seed reached numpy's ValueError
    (dict(init="m=1"), "init must be a dict by parameter name, not str", "e.g. init={'m': 1.0}"),
    (dict(init={0: 1.0}), "init must be a dict by parameter name; 0 is not a name", "e.g. init={'m': 1.0}"),
    (dict(seed=-1), "must be a whole number ≥ 0, not -1", None),
])
def test_an_option_of_the_wrong_type_says_what_it_must_be(options, message, hint):
    """The words a Python caller sees: the keyword they wrote, what it must be, what it was."""
    with pytest.raises(GdcError) as caught:
        gdc.fit(SCALED, STUDENTS, mapping=MAP, **options)
    assert caught.value.message == message and caught.value.hint == hint


def test_numpy_booleans_are_flags():
    """A flag taken from an array (np.True_, np.bool_(False)) is a truth value, kept as a bool:
    the options are written to JSON, which knows no NumPy scalars."""
    options = Options(certify=np.bool_(False), shuffle=np.True_, nesterov=np.False_).validate()
    assert (options.certify, options.shuffle, options.nesterov) == (False, True, False)
    assert all(type(value) is bool for value in (options.certify, options.shuffle, options.nesterov))
    assert not gdc.fit(SCALED, STUDENTS, mapping=MAP, certify=np.bool_(False)).certified


@pytest.mark.parametrize("lr, message", [([], "give at least one learning rate"),
                                         (None, "lr must be a list of numbers, not None"),
                                         ([0.1, "x"], "lr must be a list of numbers"),
                                         ("12", "lr must be a list of numbers, not '12'")])
def test_a_sweep_needs_rates(lr, message):
    with pytest.raises(GdcError, match=message):
        gdc.sweep(SCALED, STUDENTS, lr=lr, mapping=MAP)


def test_schedules():
    assert list(Schedule().rates(0.1, 3)) == [0.1, 0.1, 0.1]
    assert list(Schedule("invscaling", power_t=1.0).rates(1.0, 3)) == [1.0, 0.5, 1 / 3]
    assert list(Schedule("step", step_every=2, step_factor=0.5).rates(1.0, 5)) == [1, 1, 0.5, 0.5, 0.25]
    long = list(Schedule("step", step_every=5000, step_factor=0.5).rates(1.0, 10_001))
    assert len(long) == 10_001 and long[4999:5001] == [1.0, 0.5] and long[-1] == 0.25


def test_arrays_are_data_too_and_nonfinite_rows_are_refused_or_dropped():
    height = np.array([150.0, 160.0, np.nan, 180.0])
    data = {"height": height, "weight": 0.5 * (height - 170) + 60}
    with pytest.raises(GdcError, match=r"data\['height'\]\[2\] is nan") as caught:
        gdc.fit(SCALED, data, mapping=MAP)
    assert "drop_nonfinite=True" in caught.value.hint
    result = gdc.fit(SCALED, data, mapping=MAP, drop_nonfinite=True, gtol=1e-10)
    assert result.n_rows == 3
    assert values(result) == pytest.approx([5.0, 60.0], rel=1e-8)
    with pytest.raises(GdcError, match="differ in length"):
        gdc.fit(SCALED, {"height": [1.0, 2.0], "weight": [1.0]}, mapping=MAP)


def test_names_in_the_header_are_data_the_rest_parameters():
    problem = prepare(SCALED, STUDENTS, mapping=MAP)
    assert problem.kernels.param_names == ("m", "b")
    assert problem.kernels.data_names == ("x", "Y")
    assert problem.columns == ("height", "weight")
    assert problem.classified_by == (("height", "weight", "x", "Y"), "the CSV header or --map")


def test_result_reads_well():
    result = gdc.fit(SCALED, STUDENTS, mapping=MAP)
    text = str(result)
    for expected in ("parameter", "standard error", "m ", "b ", "loss", "RSS", "iterations",
                     "lm (auto: the loss is a sum of squared residuals", "converged", "time"):
        assert expected in text
    assert callable(gdc.fit) and gdc.FitResult is FitResult


def test_gdc_fit_is_the_function_even_after_importing_the_module():
    import gdc.api
    assert gdc.fit is gdc.api.fit


class _Quartic:
    """An Objective-like f(θ) = Σθ⁴ in numpy: calling it sets .grad, loss_at does not."""

    def __init__(self, size: int):
        self.grad = np.zeros(size)

    def __call__(self, params):
        self.grad[:] = 4.0 * params ** 3
        return self.loss_at(params)

    def loss_at(self, params):
        return float(np.sum(params ** 4))


def test_armijo_takes_the_largest_halving_that_falls_by_half_the_first_order_promise():
    """At θ = 1 (g = 4): the step 1 raises f, ½ leaves it at 1, ¼ and ⅛ lower it by less than
    lr/2·g²; 1/16 is the first that lowers it by that much."""
    from gdc.fitting.optimizers import armijo
    objective = _Quartic(1)
    assert armijo(objective, np.array([1.0]), 1.0) == 1.0 / 16
    assert objective.grad[0] == 4.0   # the gradient left is the start's


def test_a_barzilai_borwein_step_that_does_not_lower_the_loss_is_halved():
    """From θ = 1 the step ½ lands on θ = −1, where f is 1 again: refused by the Armijo test
    (a fall of c·α·g² is needed), halved to ¼, which reaches the minimum θ = 0."""
    from gdc.fitting.optimizers import BarzilaiBorwein
    objective, params = _Quartic(1), np.array([1.0])
    rule = BarzilaiBorwein(objective, 0.5, objective(params))
    assert rule.epoch(params, 0.0) == 0.0 and params[0] == 0.0


@pytest.mark.parametrize("method", ["lm", "lbfgs", "gd"])
@pytest.mark.parametrize("scale", [1e-200, 1e-310])
def test_a_loss_that_underflows_is_not_converged(method, scale):
    """Targets of 1e-200 square to 0: the loss was 0 at m = b = 0 whatever the data, and the fit
    stopped there, 'converged' with a gap of 0 (the answer is m = 2.5e-200)."""
    data = {"x": np.array([1.0, 2.0, 3.0]), "Y": np.array([1.0, 4.0, 6.0]) * scale}
    fit = gdc.fit(LINEAR, data, method=method, init={"m": 0.0, "b": 0.0})
    assert not fit.converged and fit.reason == "stalled"
    assert "the loss underflows float64" in fit.message and "rescale the data" in fit.advice


def test_an_exact_fit_with_a_loss_of_zero_stays_converged():
    fit = gdc.fit(LINEAR, {"x": np.array([1.0, 2.0, 3.0]), "Y": np.array([3.0, 5.0, 7.0])}, method="lm",
                  init={"m": 2.0, "b": 1.0})
    assert fit.converged and fit.loss == 0.0
