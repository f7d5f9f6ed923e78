"""Generated kernels against oracles: finite differences, sympy.diff, plain-Python SGD, each other.

Tolerances (relative): the kernel gradient is within 1e-6 of central differences of the kernel
loss (h = 6e-6·max(1, |θ|); components below 1e-4·max(1, |J|) are compared at that scale) and
within 1e-9 of the lambdified sympy.diff; the kernels agree with each other to 1e-12, the
parallel kernel with itself bit for bit. Compiled modules are kept in pytest's cache
directory, so only the first run pays numba's compile time.
"""

from __future__ import annotations

import math
from pathlib import Path

import numba
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gdc.language.frontend import check_text
from gdc.api import compile as compile_model
from gdc.calculus.symbolic import Sum, mean, symbolic
from locations import EXAMPLES


# Scalar examples: the oracles here lambdify scalar sympy; the kernels of vectors and matrices
# have their own (test_codegen_index.py, test_network.py, test_fit_shaped.py).
EXAMPLE_MODELS = sorted(p for p in EXAMPLES.glob("*.gd")
                  if not check_text(p.read_text(encoding="utf-8")).shaped)

# What examples/ does not cover (the whole set stands in when examples/ is empty).
MODELS = {
    "sum": "model y = m*x + b\nloss sum((y - Y)^2)",
    "rmse": "model y = a*sin(w*x) + c\nloss sqrt(mean((y - Y)^2))",
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

def _sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


_NAMESPACE = {"sigmoid": _sigmoid,
              "softplus": lambda z: max(z, 0.0) + math.log1p(math.exp(-abs(z))),
              "Heaviside": lambda z, at_zero=0.5: 1.0 if z > 0 else 0.0 if z < 0 else at_zero}


def _function(args, expr):
    return sympy.lambdify(args, expr, modules=[_NAMESPACE, "math"])


def evaluate(sm, expr, params, data) -> float:
    """An expression with reductions, by lambdify sample by sample and math.fsum."""
    atoms = sorted(expr.atoms(mean, Sum), key=sympy.default_sort_key)
    stand_ins = [sympy.Dummy() for _ in atoms]
    values = []
    for atom in atoms:
        body = _function(sm.params + sm.data, atom.args[0])
        total = math.fsum(body(*params, *row) for row in zip(*data))
        values.append(total / len(data[0]) if isinstance(atom, mean) else total)
    outer = _function(list(sm.params) + stand_ins, expr.xreplace(dict(zip(atoms, stand_ins))))
    return float(outer(*params, *values))


def central_differences(loss, params, data):
    fd = np.empty_like(params)
    for j in range(len(params)):
        h = 6e-6 * max(1.0, abs(params[j]))
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        fd[j] = (loss(up, *data) - loss(down, *data)) / (up[j] - down[j])
    return fd


def relative_error(got, want, scale):
    floor = 1e-4 * max(1.0, abs(scale))
    return np.max(np.abs(got - want) / np.maximum(np.maximum(np.abs(got), np.abs(want)), floor))


# ------------------------------------------------------------------ one model, compiled once

class Case:
    """A compiled model, its sympy form, random data and a random parameter point."""

    def __init__(self, text, data_names, cache, seed=0, rows=ROWS):
        self.kernels = compile_model(text, data_names, cache_dir=cache)
        self.sm = symbolic(check_text(text, "<test>", data_names))
        rng = np.random.default_rng(seed)
        self.data = tuple(rng.uniform(0.1, 2.0, rows) for _ in self.kernels.data_names)
        if "Y" in self.kernels.data_names:  # a target in (0, 1) suits log-losses too
            self.data = tuple(rng.uniform(0.05, 0.95, rows) if name == "Y" else column
                              for name, column in zip(self.kernels.data_names, self.data))
        self.params = self.kernels.initial + rng.uniform(-0.5, 0.5, len(self.kernels.initial))
        assert self.kernels.param_names == tuple(p.name for p in self.sm.params)
        assert self.kernels.data_names == tuple(d.name for d in self.sm.data)

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
    assert value == pytest.approx(evaluate(case.sm, case.sm.loss, case.params, case.data), rel=1e-9)
    want = np.array([evaluate(case.sm, g, case.params, case.data) for g in case.sm.gradient().values()])
    assert relative_error(grad, want, value) < 1e-9, (grad, want)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_parallel_is_serial_and_the_same_bits_on_1_and_2_threads(case):
    rows = 1000 + 37  # several rows per chunk, unevenly split
    rng = np.random.default_rng(1)
    data = tuple(rng.uniform(0.1, 0.9, rows) for _ in case.data)
    results = []
    saved = numba.get_num_threads()
    try:
        for threads in (1, 2, 1):
            numba.set_num_threads(threads)
            grad = np.zeros(len(case.params))
            value = case.kernels.loss_grad_parallel(case.params, *data, grad)
            results.append(np.append(grad, value).tobytes())
    finally:
        numba.set_num_threads(saved)
    assert results[0] == results[1] == results[2]
    grad = np.zeros(len(case.params))
    value = case.kernels.loss_grad(case.params, *data, grad)
    assert np.allclose(np.frombuffer(results[0]), np.append(grad, value), rtol=1e-12, atol=0)


def test_sgd_epoch_is_plain_python_updates(case):
    """Per-sample objective: every reduction replaced by its body (sympy.diff of that)."""
    sm = case.sm
    sample = sm.loss.replace(lambda e: isinstance(e, (mean, Sum)), lambda e: e.args[0])
    value_at = _function(sm.params + sm.data, sample)
    grads_at = [_function(sm.params + sm.data, sympy.diff(sample, p)) for p in sm.params]
    order = np.random.default_rng(2).permutation(ROWS)
    lr = 0.01
    params = [float(v) for v in case.params]
    seen = []
    for i in order:
        row = [column[i] for column in case.data]
        seen.append(value_at(*params, *row))
        step = [g(*params, *row) for g in grads_at]
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
    sm = case.sm
    f = _function(sm.params + sm.data, sm.prediction)
    inputs = [case.data[case.kernels.data_names.index(n)] for n in case.kernels.input_names]
    got = case.kernels.predict(case.params, *inputs)
    want = [f(*case.params, *row) for row in zip(*case.data)]
    assert np.allclose(got, want if case.kernels.input_names else want[:1], rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ random models

_LEAVES = st.sampled_from(["a", "b", "c", "x", "t", "0.5", "2"])


def _grow(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]}) / (1 + ({t[1]})^2)"),
        st.tuples(st.sampled_from(["exp", "tanh", "sigmoid", "softplus", "sin", "cos", "atan", "abs"]),
                  inner).map(lambda t: f"{t[0]}({t[1]})"),
        inner.map(lambda e: f"sqrt(1 + ({e})^2)"),
        inner.map(lambda e: f"log(1 + ({e})^2)"),
        inner.map(lambda e: f"({e})^3"),
        st.tuples(st.sampled_from(["max", "min"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
    )


_LOSSES = ["mean((y - Y)^2)", "mean(abs(y - Y))", "sum((y - Y)^2) / 50",
           "mean((y - Y)^2) + 0.1*c^2", "log(1 + mean((y - Y)^2))"]
random_models = st.tuples(st.recursive(_LEAVES, _grow, max_leaves=7), st.sampled_from(_LOSSES)).map(
    lambda t: f"model y = {t[0]} + c*t\nloss {t[1]}")


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=random_models)
def test_random_model_gradients(cache, text):
    """Only loss_grad is compiled (numba compiles each kernel on its first call)."""
    case = Case(text, None, cache, seed=4)
    value, grad = case.loss_grad()
    assume(math.isfinite(value) and np.isfinite(grad).all())
    scratch = np.zeros_like(grad)
    fd = central_differences(lambda p, *data: case.kernels.loss_grad(p, *data, scratch),
                             case.params, case.data)
    assert relative_error(grad, fd, value) < 1e-5, (text, grad, fd)
    try:
        want = np.array([evaluate(case.sm, g, case.params, case.data) for g in case.sm.gradient().values()])
    except (OverflowError, ValueError, ZeroDivisionError):
        return  # the oracle's math module raises where the kernels give inf
    assert relative_error(grad, want, value) < 1e-9, (text, grad, want)
