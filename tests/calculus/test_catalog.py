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


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.name], ids=lambda e: e.name)
def test_float_and_precise_values_agree(entry):
    arity = FUNCTIONS[entry.name].arity
    checked = 0
    for x in POINTS:
        args = (x, 0.7)[:arity]
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
