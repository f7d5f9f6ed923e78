"""Shaped models beyond the examples, through the whole pipeline: each index-form partial, at
every element, against the complex step of the model's loss written in numpy from its
mathematics, and each compiled gradient against central differences.

Neither oracle goes through gdc: the partials are evaluated by the tests' evaluator
(oracles.Evaluator: loops over samples and elements), the losses are numpy. Kinks are written
so that the complex step passes through them (relu as where(Re z > 0, z, 0), |u| as u·sign(Re u)).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gdc
import oracles
from gdc.calculus.derive import derive
from gdc.calculus.symbolic import symbolic
from gdc.language.frontend import check_text

MODELS = {
    "element_mean": "data x[d], Y\nparam w[d], b\nmodel y = dot(w, x) + b\nloss mean((y - Y)^2) + mean(w^2)",
    "fixed_elements": "data x[3], Y\nparam w[3]\nmodel y = w[0]*x[1] + w[2]^2*x[0]\nloss mean((y - Y)^2)",
    "cosine": "data x[d], Y\nparam w[d] = 1\nmodel y = dot(w, x)/sqrt(sum(w^2))\nloss mean((y - Y)^2)",
    "relu_layer": "data x[d], Y\nparam W[4, d], v[4]\nmodel y = dot(v, max(W @ x, 0))\nloss mean(abs(y - Y))",
    "log_sum_exp": "data x[d], Y\nparam W[3, d]\nlet s = sum(exp(W @ x))\nmodel y = log(s)\nloss mean((y - Y)^2)",
    "two_layers": "data x[d], Y\nparam A[3, d], B[2, 3], v[2]\nmodel y = dot(v, sigmoid(B @ tanh(A @ x)))\n"
                  "loss mean((y - Y)^2)",
    "matrix_matrix": "data x[d], Y\nparam A[2, 3], B[3, 2], u[2]\nmodel y = sum((A @ B) @ u) + dot(x, x)\n"
                     "loss sum((y - Y)^2)",
    "vector_let": "data x[d], Y\nparam W[4, d], c[4], v[4], a\nlet h = tanh(W @ x + c)\n"
                  "model y = dot(v, h) + a\nloss mean((y - Y)^2) + 0.01*mean(sum(h^2))",
    "two_vectors": "data x[d], z[e], Y\nparam w[d], v[e]\nmodel p = sigmoid(dot(w, x) - dot(v, z))\n"
                   "loss mean(-Y*log(p) - (1 - Y)*log(1 - p))",
}


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _relu(z):
    return np.where(z.real > 0, z, 0)


def _two_layers(P, D):
    return np.mean((_sigmoid(np.tanh(D["x"] @ P["A"].T) @ P["B"].T) @ P["v"] - D["Y"]) ** 2)


def _vector_let(P, D):
    h = np.tanh(D["x"] @ P["W"].T + P["c"])
    return np.mean((h @ P["v"] + P["a"] - D["Y"]) ** 2) + 0.01 * np.mean(np.sum(h ** 2, axis=1))


def _two_vectors(P, D):
    p = _sigmoid(D["x"] @ P["w"] - D["z"] @ P["v"])
    return np.mean(-D["Y"] * np.log(p) - (1 - D["Y"]) * np.log(1 - p))


# Each model's loss in numpy: P the parameters by name, D the data by name (x is (N, d)).
NUMPY = {
    "element_mean": lambda P, D: np.mean((D["x"] @ P["w"] + P["b"] - D["Y"]) ** 2) + np.mean(P["w"] ** 2),
    "fixed_elements": lambda P, D: np.mean((P["w"][0] * D["x"][:, 1] + P["w"][2] ** 2 * D["x"][:, 0] - D["Y"]) ** 2),
    "cosine": lambda P, D: np.mean((D["x"] @ P["w"] / np.sqrt(np.sum(P["w"] ** 2)) - D["Y"]) ** 2),
    "relu_layer": lambda P, D: np.mean((lambda u: u * np.sign(u.real))(_relu(D["x"] @ P["W"].T) @ P["v"] - D["Y"])),
    "log_sum_exp": lambda P, D: np.mean((np.log(np.sum(np.exp(D["x"] @ P["W"].T), axis=1)) - D["Y"]) ** 2),
    "two_layers": _two_layers,
    "matrix_matrix": lambda P, D: np.sum((np.sum(P["A"] @ P["B"] @ P["u"]) + np.sum(D["x"] ** 2, axis=1)
                                          - D["Y"]) ** 2),
    "vector_let": _vector_let,
    "two_vectors": _two_vectors,
}
ROWS = 4


def point(d, sizes: dict, seed: int = 0):
    """Parameters (arrays of their shapes) and data at the given sizes."""
    rng = np.random.default_rng(seed)
    values = oracles.parameter_values(d.model.params, sizes, rng, 1.0)
    data = {}
    for label in d.model.data:
        name = label.label.name if isinstance(label, sympy.IndexedBase) else label.name
        if isinstance(label, sympy.IndexedBase):
            width = int(label.shape[0].xreplace({s: sizes[s.name] for s in label.shape[0].free_symbols}))
            data[name] = rng.uniform(-1.5, 1.5, (ROWS, width))
        else:
            data[name] = rng.uniform(0.05, 0.95, ROWS)
    return values, data


def every_element(var, values):
    if not isinstance(var, sympy.Indexed):
        return [({}, ())]
    shape = np.shape(values[var.base.label.name])
    return [({k.name: v for k, v in zip(var.indices, where)}, where) for where in np.ndindex(*shape)]


def assert_partials_match_numpy(d, loss, sizes: dict, what=""):
    """Every element of every partial, at one point, against the complex step of `loss`."""
    values, data = point(d, sizes)
    for var, partial in d.partials.items():
        name = var.base.label.name if isinstance(var, sympy.Indexed) else var.name
        for free, where in every_element(var, values):
            got = oracles.Evaluator({**values, **sizes, **free}, data)(partial)
            want = oracles.complex_step(lambda P: loss(P, data), values, name, where)
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (what, var, where, sizes)


@pytest.mark.parametrize("name", MODELS)
def test_partials_equal_the_derivatives_of_the_numpy_loss(name):
    d = derive(symbolic(check_text(MODELS[name])))
    for sizes in ({"d": 3, "e": 2}, {"d": 2, "e": 3}):
        assert_partials_match_numpy(d, NUMPY[name], sizes, name)


def random_data(kernels, rows: int, rng) -> tuple:
    sizes = {"d": 4, "e": 2}
    out = []
    for name, shape in zip(kernels.data_names, kernels.data_shapes):
        dims = tuple(n if isinstance(n, int) else sizes[n] for n in shape)
        low, high = (0.05, 0.95) if name == "Y" else (-1.5, 1.5)
        out.append(np.ascontiguousarray(rng.uniform(low, high, (rows,) + dims)))
    return tuple(out)


@pytest.mark.parametrize("name", MODELS)
def test_compiled_gradient_matches_central_differences(name, kernel_cache):
    kernels = gdc.compile(MODELS[name])
    rng = np.random.default_rng(11)
    data = random_data(kernels, 40, rng)
    size = kernels.layout(data).size
    theta = rng.uniform(-1, 1, size)
    grad = np.empty(size)
    value = kernels.loss_grad(theta, *data, grad)
    for k in range(size):
        h = 1e-6
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (kernels.loss(up, *data) - kernels.loss(down, *data)) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-5, abs=1e-7 * max(1.0, abs(value))), k


# ------------------------------------------------------------------ random shaped models

# Each piece as gd text and as numpy of the parameters P and data D (x is (N, d)).
VECTOR_LEAVES = st.sampled_from([
    ("w", lambda P, D: P["w"]), ("u", lambda P, D: P["u"]), ("x", lambda P, D: D["x"]),
    ("(W @ x)", lambda P, D: D["x"] @ P["W"].T), ("(b*x)", lambda P, D: P["b"] * D["x"]),
    ("w[1]*u", lambda P, D: P["w"][1] * P["u"]),
])
UNARY = {"tanh": np.tanh, "sigmoid": _sigmoid, "sin": np.sin, "softplus": lambda z: np.log(1 + np.exp(z))}
BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply}


def _total(v):
    return np.sum(v, axis=-1)


SCALAR_MODELS = {
    "dot({0}, {1}) + b": lambda a, b, P: _total(a * b) + P["b"],
    "sum({0}) * b": lambda a, b, P: _total(a + 0 * b) * P["b"],
    "dot(w, {0}) / (1 + sum({1}^2))": lambda a, b, P: _total(P["w"] * a) / (1 + _total(b ** 2)),
    "sum({0} * {1})": lambda a, b, P: _total(a * b),
}


def _vector_node(children):
    unary = st.builds(lambda f, a: (f"{f}({a[0]})", lambda P, D, g=UNARY[f], a=a[1]: g(a(P, D))),
                      st.sampled_from(sorted(UNARY)), children)
    binary = st.builds(lambda a, op, b: (f"({a[0]} {op} {b[0]})",
                                         lambda P, D, g=BINARY[op], a=a[1], b=b[1]: g(a(P, D), b(P, D))),
                       children, st.sampled_from(sorted(BINARY)), children)
    return st.one_of(unary, binary, binary)


VECTORS = st.recursive(VECTOR_LEAVES, _vector_node, max_leaves=4)


@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(form=st.sampled_from(sorted(SCALAR_MODELS)), a=VECTORS, b=VECTORS)
def test_random_shaped_models_derive_like_the_numpy_loss(form, a, b):
    text = (f"data x[d], Y\nparam w[d], u[d], W[d, d], b\nmodel y = {form.format(a[0], b[0])}\n"
            "loss mean((y - Y)^2)")
    d = derive(symbolic(check_text(text)))   # every step is checked written out; here the results once more

    def loss(P, D):
        y = SCALAR_MODELS[form](np.broadcast_to(a[1](P, D), D["x"].shape),
                                np.broadcast_to(b[1](P, D), D["x"].shape), P)
        return np.mean((y - D["Y"]) ** 2)

    for sizes in ({"d": 3}, {"d": 2}):
        assert_partials_match_numpy(d, loss, sizes, text)
