"""Shaped models beyond the examples, through the whole pipeline: each index-form partial against
sympy.diff of the written-out scalar loss, and each compiled gradient against central differences."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gdc
from gdc.calculus.derive import derive
from gdc.language.frontend import check_text
from gdc.calculus.indexed import instances
from gdc.calculus.symbolic import Sum, mean, sigmoid, softplus, symbolic

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


def scalar_value(expr: sympy.Expr, point: dict, samples: list[dict]) -> float:
    """A written-out expression at a point: reductions over three samples, by evalf."""
    expr = expr.replace(sigmoid, lambda z: 1 / (1 + sympy.exp(-z)))
    expr = expr.replace(softplus, lambda z: sympy.log(1 + sympy.exp(z)))
    expr = expr.replace(lambda n: isinstance(n, (mean, Sum)),
                        lambda n: sympy.Add(*(n.args[0].xreplace(s) for s in samples))
                        / (len(samples) if isinstance(n, mean) else 1))
    return float(expr.xreplace(point).evalf(30))


@pytest.mark.parametrize("name", MODELS)
def test_partials_equal_sympy_diff_of_the_written_out_loss(name):
    sm = symbolic(check_text(MODELS[name]))
    d = derive(sm)
    rng = np.random.default_rng(5)
    for element, partial in d.partials.items():
        for scalar_partial, scalar_loss, scalar_element in instances(partial, sm.loss, element):
            oracle = sympy.diff(scalar_loss, scalar_element)
            symbols = sorted(scalar_partial.free_symbols | oracle.free_symbols, key=str)
            per_sample = [s for s in symbols if type(s).__name__ == "PerSample"]
            point = {s: sympy.Float(rng.uniform(-1, 1)) for s in symbols}
            samples = [{s: sympy.Float(rng.uniform(0.05, 0.95)) for s in per_sample} for _ in range(3)]
            got, want = scalar_value(scalar_partial, point, samples), scalar_value(oracle, point, samples)
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (element, scalar_element)


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

VECTOR_LEAVES = st.sampled_from(["w", "u", "x", "(W @ x)", "(b*x)", "w[1]*u"])
SCALAR_MODELS = ["dot({0}, {1}) + b", "sum({0}) * b", "dot(w, {0}) / (1 + sum({1}^2))", "sum({0} * {1})"]


def _vector_node(children):
    unary = st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["tanh", "sigmoid", "sin", "softplus"]), children)
    binary = st.builds(lambda a, op, b: f"({a} {op} {b})", children, st.sampled_from(["+", "-", "*"]), children)
    return st.one_of(unary, binary, binary)


VECTORS = st.recursive(VECTOR_LEAVES, _vector_node, max_leaves=4)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form=st.sampled_from(SCALAR_MODELS), a=VECTORS, b=VECTORS)
def test_random_shaped_models_derive_like_sympy_diff(form, a, b):
    text = (f"data x[d], Y\nparam w[d], u[d], W[d, d], b\nmodel y = {form.format(a, b)}\n"
            "loss mean((y - Y)^2)")
    sm = symbolic(check_text(text))
    d = derive(sm)   # every step is checked written out; here the results once more, independently
    rng = np.random.default_rng(0)
    for element, partial in d.partials.items():
        for scalar_partial, scalar_loss, scalar_element in instances(partial, sm.loss, element)[1:]:
            oracle = sympy.diff(scalar_loss, scalar_element)
            symbols = sorted(scalar_partial.free_symbols | oracle.free_symbols, key=str)
            per_sample = [s for s in symbols if type(s).__name__ == "PerSample"]
            point = {s: sympy.Float(rng.uniform(-1, 1)) for s in symbols}
            samples = [{s: sympy.Float(rng.uniform(-1, 1)) for s in per_sample} for _ in range(2)]
            got, want = scalar_value(scalar_partial, point, samples), scalar_value(oracle, point, samples)
            assert got == pytest.approx(want, rel=1e-8, abs=1e-10), (text, element)
