"""Generated kernels against oracles: finite differences, sympy.diff, plain-Python SGD, each other.

The oracles share nothing with gdc's front end: each model is read by sympy's own parser
(oracles.ScalarModel) or drawn as sympy beside its text (random_models.py), differentiated by
sympy.diff and evaluated by the tests' own evaluator (oracles.Evaluator), sample by sample.

Tolerances (relative): the kernel gradient is within 1e-6 of central differences of the kernel
loss (h = 6e-6·max(1, |θ|); components below 1e-4·max(1, |J|) are compared at that scale) and
within 1e-9 of the oracle's sympy.diff; the kernels agree with each other to 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import oracles
from gdc.language.frontend import check_text
from gdc.api import compile as compile_model
from locations import EXAMPLES
from random_models import UNARY, expressions, trees


# Scalar examples: the oracles here are scalar sympy; the kernels of vectors and matrices
# have their own (codegen/test_shaped.py, fitting/test_network.py, fitting/test_fit_shaped.py).
EXAMPLE_MODELS = sorted(p for p in EXAMPLES.glob("*.gd")
                        if not check_text(p.read_text(encoding="utf-8")).shaped)

# What examples/ does not cover (the whole set stands in when examples/ is empty).
MODELS = {
    "sum": "model y = m*x + b\nloss sum((y - Y)^2)",
    "rmse": "model y = a*sin(w*x) + c\nloss sqrt(mean((y - Y)^2))",
    # a bare u^(-1/2), outside any product: the printer's own case, not the Mul's denominator
    "inverse_sqrt": "model y = 1/sqrt(a*x + b^2 + 1)\nloss mean((y - Y)^2)",
}
if not EXAMPLE_MODELS:
    MODELS |= {
        "linear": "model y = m*x + b\nloss mean((y - Y)^2)",
        "exp_decay": "model y = a*exp(-k*t) + c\nloss mean((y - Y)^2)",
        "logistic": "model p = sigmoid(a*x1 + b*x2 + c)\nloss mean(-Y*log(p) - (1 - Y)*log(1 - p))",
        "tanh": "model y = a*tanh(w*x + c)\nloss mean((y - Y)^2)",
        "relu_huber": "model y = max(m*x + b, 0)\nlet r = y - Y\n"
                      "loss mean(min(abs(r), 1)^2/2 + max(abs(r) - 1, 0))",
        "ridge": "model y = m*x + b\nloss mean((y - Y)^2) + 0.1*(m^2 + b^2)",
    }
CASES = [(f"examples/{p.stem}", p.read_text(encoding="utf-8"), None) for p in EXAMPLE_MODELS] + [
    (name, text, None) for name, text in MODELS.items()]

ROWS = 64


@pytest.fixture(scope="module")
def cache(kernel_dir):
    return kernel_dir


# ------------------------------------------------------------------ oracles

def evaluate(case, expr, params, data, row=None) -> float:
    """An expression of the oracle's sympy at the parameters, over the data (or at one row)."""
    values = {p.name: float(v) for p, v in zip(case.oracle.params, params)}
    columns = {d.name: np.asarray(c) for d, c in zip(case.oracle.data, data)}
    return oracles.Evaluator(values, columns, row=row)(expr)


def central_differences(loss, params, data):
    return oracles.central_differences(lambda p: loss(p, *data), params, step=6e-6)


def relative_error(got, want, scale):
    floor = 1e-4 * max(1.0, abs(scale))
    return np.max(np.abs(got - want) / np.maximum(np.maximum(np.abs(got), np.abs(want)), floor))


# ------------------------------------------------------------------ one model, compiled once

class Case:
    """A compiled model, its sympy form, random data and a random parameter point."""

    def __init__(self, text, data_names, cache, seed=0, rows=ROWS, oracle=None):
        self.kernels = compile_model(text, data_names, cache_dir=cache)
        self.oracle = oracle or oracles.ScalarModel(text, self.kernels.param_names, self.kernels.data_names)
        rng = np.random.default_rng(seed)
        self.data = tuple(rng.uniform(0.1, 2.0, rows) for _ in self.kernels.data_names)
        if "Y" in self.kernels.data_names:  # a target in (0, 1) suits log-losses too
            self.data = tuple(rng.uniform(0.05, 0.95, rows) if name == "Y" else column
                              for name, column in zip(self.kernels.data_names, self.data))
        self.params = self.kernels.initial + rng.uniform(-0.5, 0.5, len(self.kernels.initial))
        assert self.kernels.param_names == tuple(p.name for p in self.oracle.params)
        assert self.kernels.data_names == tuple(d.name for d in self.oracle.data)

    def loss_grad(self, params=None):
        grad = np.zeros(len(self.params))
        value = self.kernels.loss_grad(self.params if params is None else params, *self.data, grad)
        return value, grad


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request, cache):
    _, text, names = request.param
    return Case(text, names, cache)


# ------------------------------------------------------------------ the properties

def test_gradient_matches_central_differences(case):
    value, grad = case.loss_grad()
    fd = central_differences(case.kernels.loss, case.params, case.data)
    assert relative_error(grad, fd, value) < 1e-6, (grad, fd)


def test_loss_grad_matches_sympy(case):
    """loss_grad = the loss and the lambdified sympy.diff, each computed on its own."""
    value, grad = case.loss_grad()
    assert value == pytest.approx(case.kernels.loss(case.params, *case.data), rel=1e-12)
    assert value == pytest.approx(evaluate(case, case.oracle.loss, case.params, case.data), rel=1e-9)
    want = np.array([evaluate(case, g, case.params, case.data) for g in case.oracle.gradient()])
    assert relative_error(grad, want, value) < 1e-9, (grad, want)


def test_parallel_is_the_serial_sum_in_another_order(case):
    """Bit for bit the same on 1 to 4 threads: runtime/test_promises.py, in its own process."""
    rows = 1000 + 37  # several rows per chunk, unevenly split
    rng = np.random.default_rng(1)
    data = tuple(rng.uniform(0.1, 0.9, rows) for _ in case.data)
    parallel, serial = np.zeros(len(case.params)), np.zeros(len(case.params))
    value = case.kernels.loss_grad_parallel(case.params, *data, parallel)
    assert value == pytest.approx(case.kernels.loss_grad(case.params, *data, serial), rel=1e-12)
    np.testing.assert_allclose(parallel, serial, rtol=1e-12, atol=1e-15 * max(1.0, abs(value)))


def test_sgd_epoch_is_plain_python_updates(case):
    """Per-sample objective: every reduction replaced by its body (sympy.diff of that)."""
    sample = case.oracle.per_sample_loss()
    grads = [sympy.diff(sample, p) for p in case.oracle.params]
    order = np.random.default_rng(2).permutation(ROWS)
    lr = 0.01
    params = [float(v) for v in case.params]
    seen = []
    for i in order:
        seen.append(evaluate(case, sample, params, case.data, row=int(i)))
        step = [evaluate(case, g, params, case.data, row=int(i)) for g in grads]
        params = [v - lr * s for v, s in zip(params, step)]
    got = case.params.copy()
    mean_loss = case.kernels.sgd_epoch(got, *case.data, lr, order)
    assert np.allclose(got, params, rtol=1e-10, atol=1e-12)
    assert mean_loss == pytest.approx(sum(seen) / len(seen), rel=1e-10)


def test_minibatch_of_everything_is_one_gradient_step(case):
    lr = 0.01
    value, grad = case.loss_grad()
    got = case.params.copy()
    batch_loss = case.kernels.minibatch_epoch(got, *case.data, lr, ROWS, np.arange(ROWS))
    assert batch_loss == pytest.approx(value, rel=1e-12)
    assert np.allclose(got, case.params - lr * grad, rtol=1e-12, atol=1e-15)


def test_minibatch_of_one_is_sgd(case):
    order = np.random.default_rng(3).permutation(ROWS)
    one, other = case.params.copy(), case.params.copy()
    a = case.kernels.minibatch_epoch(one, *case.data, 0.01, 1, order)
    b = case.kernels.sgd_epoch(other, *case.data, 0.01, order)
    assert a == pytest.approx(b, rel=1e-12)
    assert np.allclose(one, other, rtol=1e-12, atol=1e-15)


def test_predict_matches_the_model(case):
    inputs = [case.data[case.kernels.data_names.index(n)] for n in case.kernels.input_names]
    got = case.kernels.predict(case.params, *inputs)
    want = [evaluate(case, case.oracle.prediction, case.params, case.data, row=i) for i in range(ROWS)]
    assert np.allclose(got, want if case.kernels.input_names else want[:1], rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ random models

PARAMS = ("a", "b", "c")
SYMBOLS = {n: sympy.Symbol(n, real=True) for n in ("a", "b", "c", "x", "t", "Y")} | {
    "0.5": sympy.Rational(1, 2), "2": sympy.Integer(2), "3": sympy.Integer(3)}
_a, _b, _c, _x, _t, _Y = (SYMBOLS[n] for n in ("a", "b", "c", "x", "t", "Y"))
_UNARY = {name: f for name, f in UNARY.items()
          if name in ("exp", "tanh", "sigmoid", "softplus", "sin", "cos", "atan", "abs", "erf", "relu")}
BODIES = expressions(PARAMS, ("x", "t", "0.5", "2"), SYMBOLS,
                     trees(_UNARY, ("+", "-", "*"), kinks=("max", "min"), powers=("3",),
                           shapes=("ratio", "hypot", "log1sq", "clip", "where"), max_leaves=7))
# Each loss as gd text, and as the tests' sympy of the model y.
LOSSES = {
    "mean((y - Y)^2)": lambda y: oracles.mean((y - _Y) ** 2),
    "mean(abs(y - Y))": lambda y: oracles.mean(sympy.Abs(y - _Y)),
    "sum((y - Y)^2) / 50": lambda y: oracles.SampleSum((y - _Y) ** 2) / 50,
    "mean((y - Y)^2) + 0.1*c^2": lambda y: oracles.mean((y - _Y) ** 2) + _c ** 2 / 10,
    "log(1 + mean((y - Y)^2))": lambda y: sympy.log(1 + oracles.mean((y - _Y) ** 2)),
}
POINTS = 3


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=BODIES, loss=st.sampled_from(sorted(LOSSES)))
def test_random_model_gradients(cache, body, loss):
    """Models that use every parameter, at three parameter points; only loss_grad is compiled
    (numba compiles each kernel on its first call). Wherever the oracle is a finite real
    number the kernel must agree with it; a model where it is nowhere is no test case."""
    text, y = body
    oracle_loss = LOSSES[loss](y)
    assume(set(PARAMS) <= {s.name for s in oracle_loss.free_symbols})   # sympy may cancel a − a
    oracle = oracles.ScalarModel.of((_a, _b, _c), (_x, _t, _Y), y, oracle_loss)
    case = Case(f"param a, b, c\ndata x, t, Y\nmodel y = {text}\nloss {loss}", None, cache, oracle=oracle)
    gradient = oracle.gradient()
    scratch = np.zeros(len(case.params))
    compared = 0
    for seed in range(POINTS):
        params = case.params + np.random.default_rng(seed).uniform(-0.5, 0.5, len(case.params))
        try:
            want_value = evaluate(case, oracle_loss, params, case.data)
            want = np.array([evaluate(case, g, params, case.data) for g in gradient])
        except (ArithmeticError, ValueError):
            continue   # the oracle is no finite real number here (the kernel may give inf)
        value, grad = case.loss_grad(params)
        assert value == pytest.approx(want_value, rel=1e-9), (text, loss, seed)
        assert relative_error(grad, want, value) < 1e-9, (text, loss, seed, grad, want)
        fd = central_differences(lambda p, *data: case.kernels.loss_grad(p, *data, scratch), params, case.data)
        assert relative_error(grad, fd, value) < 1e-5, (text, loss, seed, grad, fd)
        compared += 1
    assume(compared > 0)
