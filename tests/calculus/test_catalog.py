"""The function catalog: one entry per function, and each entry's parts agree with each other and with sympy."""

import math

import mpmath
import pytest
import sympy

from gdc.calculus.catalog import BY_CLASS, BY_NAME, ENTRIES
from gdc.calculus.rules import FUNCTION_RULES
from gdc.language.vocabulary import FUNCTIONS

u = sympy.Symbol("u", real=True)
POINTS = (-1.7, -0.3, 0.4, 0.9, 2.5)


def test_every_language_function_has_one_entry():
    assert set(BY_NAME) == set(FUNCTIONS)
    names = [e.name for e in ENTRIES if e.name]
    assert len(names) == len(set(names))
    assert len({e.make for e in ENTRIES}) == len(ENTRIES)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.derivative], ids=lambda e: e.name)
def test_each_derivative_is_sympys(entry):
    difference = (entry.derivative(u) - sympy.diff(entry.make(u), u)).rewrite(sympy.exp)
    for x in POINTS:
        at = difference.subs(u, sympy.Float(x, 30)).evalf(30)
        assert at.is_real is False or abs(at) < 1e-25, (entry.name, x, at)   # complex: outside the domain
    rule = FUNCTION_RULES[entry.cls]
    assert rule.name == f"{entry.name} rule" and rule.__doc__ == entry.statement


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.name and e.name != "where"], ids=lambda e: e.name)
def test_float_and_precise_values_agree(entry):
    arity = FUNCTIONS[entry.name].arity
    checked = 0
    for x in POINTS:
        args = (x, 0.7, 1.2)[:arity] if entry.name != "clip" else (x, -0.5, 0.7)
        try:
            value = entry.value(*args)
        except (ValueError, ArithmeticError):
            continue      # outside the domain (asin(2.5)): the precise form must not be real there either
        precise = entry.precise(*map(mpmath.mpf, args))
        assert math.isclose(value, float(precise), rel_tol=1e-14, abs_tol=1e-300), (entry.name, x)
        exact = float(entry.make(*map(sympy.Float, args)).rewrite(sympy.exp).evalf(30))
        assert math.isclose(value, exact, rel_tol=1e-14, abs_tol=1e-300), (entry.name, x)
        checked += 1
    assert checked >= 2


def test_every_class_reaches_its_entry():
    for entry in ENTRIES:
        if entry.cls is not None:
            assert BY_CLASS[entry.cls] is entry
    assert BY_NAME["sqrt"].cls is None   # a power: the sqrt rule and the power printer take it


def test_where_takes_its_piece_and_the_given_value_on_the_boundary():
    where = BY_NAME["where"]
    assert where.value(-1.0, 0.0, 10.0, 20.0, 30.0) == 10.0 and where.value(1.0, 0.0, 10.0, 20.0, 30.0) == 20.0
    assert where.value(0.0, 0.0, 10.0, 20.0, 30.0) == 30.0
    assert where.precise(*map(mpmath.mpf, (0.5, 0.25, 1, 2, 3))) == 2


@pytest.mark.parametrize("name", ["relu", "clip", "hypot", "where"])
def test_the_functions_of_several_pieces_differentiate_as_sympy_does(name):
    """sympy.diff of gdc's own class is the rule's result (fdiff or _eval_derivative), checked
    here against the function's definition in sympy's classes, at points off the kinks."""
    x, a, b = sympy.symbols("x a b", real=True)
    made = {"relu": (BY_NAME["relu"].make(a * x), sympy.Max(a * x, 0)),
            "clip": (BY_NAME["clip"].make(a * x, b, 1), sympy.Min(sympy.Max(a * x, b), 1)),
            "hypot": (BY_NAME["hypot"].make(a * x, b), sympy.sqrt((a * x)**2 + b**2)),
            "where": (BY_NAME["where"].make(a * x, b, sympy.sin(a * x), a**2, a**2),
                      sympy.Piecewise((sympy.sin(a * x), a * x < b), (a**2, True)))}[name]
    ours, theirs = (sympy.diff(f, a) for f in made)
    for point in ({x: 0.7, a: 1.3, b: 0.4}, {x: -0.4, a: 0.9, b: -0.1}, {x: 1.1, a: -0.6, b: -2.0}):
        got = float(ours.subs(point).rewrite(sympy.Heaviside).evalf(30))
        want = float(theirs.subs(point).evalf(30))
        assert math.isclose(got, want, rel_tol=1e-13, abs_tol=1e-14), (name, point, got, want)


def test_log10_and_log2_of_exact_powers_are_exact():
    assert BY_NAME["log10"].make(sympy.Integer(1000)) == 3 and BY_NAME["log2"].make(sympy.Rational(1, 8)) == -3
    assert BY_NAME["log10"].make(sympy.Integer(3)).func.__name__ == "log10"   # kept, not expanded
