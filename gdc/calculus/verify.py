"""Whether two expressions are equal: the check every derivation step passes.

Structural equality first, then a numeric comparison at random points of the real domain
(data reduced over a few samples; a float disagreement is looked at again in 40 digits),
and only where the numbers still disagree the algebra (expansion, cancelling) under a size
guard. Numbers before algebra is the cheap order, since nearly every step is equal, and
it rejects nothing that algebra would accept. `derivative` is sympy.diff, remembered, for
the oracle side of every check.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

import mpmath
import sympy

from .indexed import collapse_deltas, instances, is_indexed
from .simplify import REDUCTIONS, evaluate_reductions, has_denominator, size
from .symbolic import PerSample, mean, sigmoid, softplus


def equal(a: sympy.Expr, b: sympy.Expr, limit: int = 400) -> bool:
    """Whether a and b are the same function of their symbols (every symbol independent).

    Index form (vectors, sums over elements) is compared written out at fixed sizes, where
    symbolic checking of indexed expressions is out of reach (indexed.instances).
    """
    if a == b:
        return True
    if is_indexed(a) or is_indexed(b):
        return all(_equal(evaluate_reductions(x), evaluate_reductions(y), limit) for x, y in instances(a, b))
    return _equal(evaluate_reductions(a), evaluate_reductions(b), limit)


@lru_cache(maxsize=8192)
def _equal(a: sympy.Expr, b: sympy.Expr, limit: int) -> bool:
    if a == b:
        return True
    diff = a - b
    if diff == 0 or numeric_equal(a, b):
        return True
    return _expands_to_zero(diff, limit)


def _expands_to_zero(diff: sympy.Expr, limit: int) -> bool:
    small = size(diff)
    if small > limit or _large_powers(diff):
        return False
    expanded = sympy.expand(diff)
    if expanded == 0:
        return True
    return small <= 80 and has_denominator(diff) and sympy.cancel(expanded) == 0


def _large_powers(expr) -> bool:
    return any(p.exp.is_Integer and abs(p.exp) > 6 and p.base.is_Add
               for p in expr.atoms(sympy.Pow))


_SAMPLES = 3
_SEED = 20240501


def numeric_equal(a: sympy.Expr, b: sympy.Expr, tries: int = 16) -> bool:
    """Compare at random points of the real domain; a mean or sum is taken over three samples.

    A point counts only where both sides, and every part of them, are finite real numbers
    (gradient descent lives there; off it, |u|′ = sign(u)·u′ and sympy's complex form differ).
    Three points that agree decide; so does one disagreement.
    """
    agreed = one_sided = 0
    for attempt in range(tries):
        va, vb = value(a, attempt), value(b, attempt)
        if va is None or vb is None:
            one_sided += (va is None) != (vb is None)
            continue
        if not _close(va, vb) and not _close_precisely(a, b, attempt):
            return False
        agreed += 1
        if agreed == 3:
            return True
    return agreed > 0 or one_sided == 0  # or nowhere defined, either of them (0**m·log 0)


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-7 * (1 + max(abs(x), abs(y)))


def _close_precisely(a: sympy.Expr, b: sympy.Expr, attempt: int) -> bool:
    """Floating point can disagree where the two forms differ only in rounding (log(1 − σ(z)) for
    a large z against −softplus(z)); 40 digits at the same point settle it."""
    with mpmath.workdps(40):
        try:
            va, vb = _precise(a, attempt, 0), _precise(b, attempt, 0)
        except (ArithmeticError, ValueError, TypeError):
            return False
        return abs(va - vb) <= mpmath.mpf(10) ** -20 * (1 + max(abs(va), abs(vb)))


_PRECISE = {
    sympy.exp: mpmath.exp, sympy.log: mpmath.log, sympy.sin: mpmath.sin, sympy.cos: mpmath.cos,
    sympy.tan: mpmath.tan, sympy.asin: mpmath.asin, sympy.acos: mpmath.acos, sympy.atan: mpmath.atan,
    sympy.sinh: mpmath.sinh, sympy.cosh: mpmath.cosh, sympy.tanh: mpmath.tanh, sympy.Abs: abs,
    sympy.sign: mpmath.sign, sympy.Heaviside: lambda x, h=0.5: mpmath.mpf(h) if x == 0 else mpmath.mpf(x > 0),
    sigmoid: lambda z: 1 / (1 + mpmath.exp(-z)), softplus: lambda z: mpmath.log(1 + mpmath.exp(z)),
    sympy.re: lambda x: x, sympy.im: lambda x: mpmath.mpf(0), sympy.conjugate: lambda x: x,
}


def _precise(expr, attempt: int, sample: int):
    """The value in mpmath at the working precision; ValueError off the real domain."""
    if expr.is_Symbol:
        return mpmath.mpf(_coordinate(expr, attempt, sample if isinstance(expr, PerSample) else -1))
    if expr.is_Number or expr.is_NumberSymbol:
        return mpmath.mpf(expr.evalf(mpmath.mp.dps)) if not expr.is_Rational else \
            mpmath.mpf(expr.p) / expr.q
    args = expr.args
    if isinstance(expr, REDUCTIONS):
        values = [_precise(args[0], attempt, j) for j in range(_SAMPLES)]
        return mpmath.fsum(values) / (len(values) if isinstance(expr, mean) else 1)
    values = [_precise(a, attempt, sample) for a in args]
    if expr.is_Add:
        result = mpmath.fsum(values)
    elif expr.is_Mul:
        result = mpmath.fprod(values)
    elif expr.is_Pow:
        result = values[0] ** values[1]
    elif isinstance(expr, (sympy.Max, sympy.Min)):
        result = max(values) if isinstance(expr, sympy.Max) else min(values)
    elif type(expr) in _PRECISE:
        result = _PRECISE[type(expr)](*values)
    else:
        raise TypeError(f"no precise evaluation of {type(expr).__name__}")
    if isinstance(result, mpmath.mpc) or not mpmath.isfinite(result):
        raise ValueError("not a finite real number")
    return result


# Point number k gives each symbol a value of its own, drawn from the symbol and k alone (not
# from the other symbols compared), so a node's value at point k is the same in every
# comparison and is computed once: ∂J/∂w₁ … ∂J/∂w_d all contain σ(z), evaluated once a point.
_coordinates: dict[tuple, float] = {}
_values: dict[tuple, object] = {}
_LIMIT = 1 << 18


class _Undefined(ValueError):
    """Not a finite real number at this point (remembered, like a value)."""


def _coordinate(sym: sympy.Symbol, attempt: int, sample: int) -> float:
    """Symbol values at point `attempt`: signed at even points, positive at odd ones."""
    key = (sym, attempt, sample)
    found = _coordinates.get(key)
    if found is None:
        low, high = (-2.0, 2.0) if attempt % 2 == 0 else (0.1, 2.0)
        tag = (_SEED, type(sym).__name__, sym.name, getattr(sym, "dummy_index", None),
               sorted(sym.assumptions0.items()), attempt, sample)
        found = _coordinates[key] = random.Random(repr(tag)).uniform(low, high)
    return found


def value(expr: sympy.Expr, attempt: int, sample: int = 0) -> float | None:
    """The value at point `attempt`; None where it, or any part of it, is not a finite real number.

    Data take their values at `sample` outside a mean or sum; inside one, at each sample.
    """
    try:
        result = _eval(expr, attempt, sample)
    except (ArithmeticError, ValueError, TypeError):
        return None
    return result if math.isfinite(result) else None


def _sign(x: float) -> float:
    return 0.0 if x == 0 else math.copysign(1.0, x)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def _softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _heaviside(x: float, at_zero: float = 0.5) -> float:
    return at_zero if x == 0 else float(x > 0)


# Real functions only: math.log(−1), math.asin(2) raise ValueError, so a point outside the
# real domain is skipped rather than compared.
_FUNCTIONS = {
    sympy.exp: math.exp, sympy.log: math.log, sympy.sin: math.sin, sympy.cos: math.cos,
    sympy.tan: math.tan, sympy.asin: math.asin, sympy.acos: math.acos, sympy.atan: math.atan,
    sympy.sinh: math.sinh, sympy.cosh: math.cosh, sympy.tanh: math.tanh,
    sympy.Abs: abs, sympy.sign: _sign, sympy.Heaviside: _heaviside,
    sigmoid: _sigmoid, softplus: _softplus,
    sympy.re: lambda x: x, sympy.im: lambda x: 0.0, sympy.conjugate: lambda x: x,
}


def _eval(expr, attempt: int, sample: int) -> float:
    """Evaluate in real floating point, each node once a point: quick, for the numeric check only."""
    key = (expr, attempt, sample)
    found = _values.get(key)
    if found is None:
        try:
            found = _compute(expr, attempt, sample)
        except (ArithmeticError, ValueError, TypeError):
            found = _Undefined
        if len(_values) > _LIMIT:
            _values.clear()
        _values[key] = found
    if found is _Undefined:
        raise _Undefined("not a finite real number here")
    return found


def _compute(expr, attempt: int, sample: int) -> float:
    if expr.is_Symbol:
        return _coordinate(expr, attempt, sample if isinstance(expr, PerSample) else -1)
    if expr.is_Number or expr.is_NumberSymbol:
        return float(expr)
    args = expr.args
    if expr.is_Add:
        return math.fsum(_eval(a, attempt, sample) for a in args)
    if expr.is_Mul:
        total = 1.0
        for a in args:
            total *= _eval(a, attempt, sample)
        return total
    if expr.is_Pow:
        result = _eval(args[0], attempt, sample) ** _eval(args[1], attempt, sample)
        if isinstance(result, complex):  # (−8)^(1/3) in Python: not on the real domain here
            raise ValueError("a root of a negative number")
        return result
    if isinstance(expr, REDUCTIONS):
        values = [_eval(args[0], attempt, j) for j in range(_SAMPLES)]
        return math.fsum(values) / (len(values) if isinstance(expr, mean) else 1)
    if isinstance(expr, (sympy.Max, sympy.Min)):
        values = [_eval(a, attempt, sample) for a in args]
        return max(values) if isinstance(expr, sympy.Max) else min(values)
    fn = _FUNCTIONS.get(type(expr))
    if fn is None:  # something rare: let sympy evaluate it (TypeError if not a real number)
        point = {s: sympy.Float(_compute(s, attempt, sample)) for s in expr.free_symbols}
        return float(expr.xreplace(point).evalf())
    return fn(*(_eval(a, attempt, sample) for a in args))


@lru_cache(maxsize=4096)
def derivative(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
    """sympy.diff, remembered: several checks of one parameter ask for the same derivative.

    By an element w[j], its Kronecker deltas collapsed: Σ_k δ_jk·x_k = x_j.
    """
    found = sympy.diff(expr, var)
    return collapse_deltas(found) if isinstance(var, sympy.Indexed) else found


def clear_caches() -> None:
    """Forget every derivative, decided pair and value (a benchmark's cold start)."""
    derivative.cache_clear()
    _equal.cache_clear()
    _values.clear()
    _coordinates.clear()
