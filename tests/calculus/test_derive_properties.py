"""Property: random well-formed models that use every parameter derive the partials of sympy.diff,
every step checked.

The oracle is the tests' own: each model is drawn as gd text and as sympy built beside it
(random_models.py), differentiated by sympy.diff through the reductions (oracles.gradient) and
evaluated by oracles.Evaluator, in 30 digits, at several points where it is a finite real number.
"""

from __future__ import annotations

import random

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import oracles
from gdc.calculus.derive import derive
from gdc.calculus.symbolic import symbolic
from gdc.errors import GdcError
from gdc.language.frontend import check_text
from random_models import NEW_UNARY, UNARY, expressions, trees

ORIGINAL = {k: f for k, f in UNARY.items() if k not in NEW_UNARY}

m, b, x, Y = sympy.symbols("m b x Y", real=True)
SYMBOLS = {"m": m, "b": b, "x": x, "Y": Y, "2": sympy.Integer(2), "0.5": sympy.Rational(1, 2),
           "3": sympy.Integer(3)}
EXPRESSIONS = expressions(("m", "b"), ("x", "Y", "2", "0.5", "3"), SYMBOLS,
                          trees(ORIGINAL, ("+", "-", "*", "/"), kinks=("min", "max"), powers=("2", "3", "m")))
# The functions of issue 14 in a pool of their own (the pool above is kept as it was: a new
# pool draws other models, and the random models that use m^b hit a known limit of the
# verifier, log(m^b) at m < 0; see the report of issue 14).
NEW_EXPRESSIONS = expressions(("m", "b"), ("x", "Y", "2", "0.5", "3"), SYMBOLS,
                              trees({k: UNARY[k] for k in NEW_UNARY + ("exp", "tanh", "abs")}, ("+", "-", "*", "/"),
                                    kinks=("min", "max", "hypot"), powers=("2", "3"), shapes=("clip", "where")))

# Each loss as gd text, and as the tests' sympy of the model y.
LOSSES = {
    "mean((y - Y)^2)": lambda y: oracles.mean((y - Y) ** 2),
    "mean(abs(y - Y))": lambda y: oracles.mean(sympy.Abs(y - Y)),
    "sum((y - Y)^2)/2 + 0.1*m^2": lambda y: oracles.SampleSum((y - Y) ** 2) / 2 + m ** 2 / 10,
    "mean(log(1 + (y - Y)^2))": lambda y: oracles.mean(sympy.log(1 + (y - Y) ** 2)),
    "mean(softplus(y) - Y*y)": lambda y: oracles.mean(sympy.log(1 + sympy.exp(y)) - Y * y),
}

POINTS = 3          # points that must agree
TRIES = 40          # points drawn to find them
ROWS = 3


def compare_at_points(partials: dict, oracle_loss: sympy.Expr, text: str) -> None:
    """At up to POINTS points where the oracle's loss and gradient are finite reals, gdc's
    partials are too, and agree to 1e-12 (evaluated in 30 digits)."""
    wanted = {p: oracles.gradient(oracle_loss, SYMBOLS[p.name]) for p in partials}
    rng = random.Random(text)
    agreed = 0
    with mpmath.workdps(30):
        for _ in range(TRIES):
            values = {"m": rng.uniform(-2, 2), "b": rng.uniform(-2, 2)}
            data = {"x": [rng.uniform(-2, 2) for _ in range(ROWS)], "Y": [rng.uniform(-2, 2) for _ in range(ROWS)]}
            evaluate = oracles.Evaluator(values, {k: np.array(v) for k, v in data.items()}, precise=True)
            try:
                evaluate(oracle_loss)
                want = {p: evaluate(w) for p, w in wanted.items()}
            except (ValueError, ZeroDivisionError, OverflowError):
                continue
            for p, partial in partials.items():
                got = evaluate(partial)   # raises where gdc's partial is not a finite real: a failure
                assert abs(got - want[p]) <= 1e-12 * (1 + abs(want[p])), (text, p, got, want[p])
            agreed += 1
            if agreed == POINTS:
                return
    # Where the oracle is finite at no point the model is no test case (hypothesis counts the
    # rejections and fails the test when they are too many); wherever it is, gdc was compared.
    assume(agreed > 0)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS, st.sampled_from(sorted(LOSSES)))
def test_random_models_derive_the_partials_of_sympy_diff(expression, loss):
    body, oracle_y = expression
    text = f"param m, b\ndata x, Y\nmodel y = {body}\nloss {loss}\n"
    oracle_loss = LOSSES[loss](oracle_y)
    assume({m, b} <= oracle_loss.free_symbols)   # sympy may cancel a parameter: m − m
    try:
        model = symbolic(check_text(text, "<property>"))
    except GdcError:
        assume(False)
    d = derive(model)
    assert d.verified and all(step.verified for root in d.steps for step in root.walk())
    assert {p.name for p in d.partials} == {"m", "b"}
    for partial in d.partials.values():
        assert not partial.has(sympy.Derivative)
    compare_at_points(d.partials, oracle_loss, text)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(NEW_EXPRESSIONS, st.sampled_from(sorted(LOSSES)))
def test_random_models_of_the_new_functions_derive_the_partials_of_sympy_diff(expression, loss):
    """The same property over the pool of the new functions (the test above, run on its draws)."""
    test_random_models_derive_the_partials_of_sympy_diff.hypothesis.inner_test(expression, loss)
