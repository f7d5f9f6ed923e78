"""Property: random well-formed models derive the same partials as sympy.diff, every step checked."""

from __future__ import annotations

import random

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gdc.calculus.derive import derive
from gdc.errors import GdcError
from gdc.language.frontend import check_text
from gdc.calculus.symbolic import PerSample, Sum, mean, sigmoid, softplus, symbolic

FUNCTIONS = ("exp", "log", "sqrt", "abs", "sin", "cos", "tan", "asin", "acos", "atan",
             "sinh", "cosh", "tanh", "sigmoid", "softplus")
LEAVES = st.sampled_from(["m", "b", "x", "Y", "2", "0.5", "3"])


def _node(children):
    unary = st.builds(lambda f, a: f"{f}({a})", st.sampled_from(FUNCTIONS), children)
    binary = st.builds(lambda a, op, b: f"({a} {op} {b})", children,
                       st.sampled_from(["+", "-", "*", "/"]), children)
    power = st.builds(lambda a, n: f"({a})^{n}", children, st.sampled_from(["2", "3", "m"]))
    kink = st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(["min", "max"]), children, children)
    return st.one_of(binary, binary, unary, power, kink)


EXPRESSIONS = st.recursive(LEAVES, _node, max_leaves=6)
LOSSES = st.sampled_from(["mean((y - Y)^2)", "mean(abs(y - Y))", "sum((y - Y)^2)/2 + 0.1*m^2",
                          "mean(log(1 + (y - Y)^2))", "mean(softplus(y) - Y*y)"])


def _value(expr, point, samples):
    expr = expr.replace(sigmoid, lambda z: 1 / (1 + sympy.exp(-z)))
    expr = expr.replace(softplus, lambda z: sympy.log(1 + sympy.exp(z)))
    expr = expr.replace(lambda n: isinstance(n, (mean, Sum)),
                        lambda n: sympy.Add(*(n.args[0].xreplace(s) for s in samples))
                        / (len(samples) if isinstance(n, mean) else 1))
    return complex(expr.xreplace(point).evalf(20))


def agree(a, b) -> bool:
    """Equal by expansion, or at random real points where both sides are finite and real."""
    if sympy.expand(a - b) == 0:
        return True
    rng = random.Random(3)
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    for _ in range(30):
        point = {s: sympy.Float(rng.uniform(0.1, 1.9)) for s in symbols}
        samples = [{s: sympy.Float(rng.uniform(0.1, 1.9)) for s in symbols if isinstance(s, PerSample)}
                   for _ in range(2)]
        try:
            va, vb = _value(a, point, samples), _value(b, point, samples)
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if any(v != v or abs(v) == float("inf") or abs(v.imag) > 1e-9 * (1 + abs(v)) for v in (va, vb)):
            continue
        return abs(va - vb) <= 1e-7 * (1 + abs(va))
    return True  # nowhere real and finite: nothing to compare


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(EXPRESSIONS, LOSSES)
def test_random_models_derive_the_partials_of_sympy_diff(expr, loss):
    text = f"param m, b\ndata x, Y\nmodel y = {expr}\nloss {loss}\n"
    try:
        model = symbolic(check_text(text, "<property>"))
    except GdcError:
        assume(False)
    assume(not model.loss.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo))
    d = derive(model)
    assert all(step.verified for root in d.steps for step in root.walk())
    for param, partial in d.partials.items():
        assert not partial.has(sympy.Derivative)
        assert agree(partial, sympy.diff(model.loss, param)), (text, param)
