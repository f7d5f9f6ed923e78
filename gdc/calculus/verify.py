"""Whether two expressions are equal: the check every derivation step passes.

`compare` gives a verdict, EQUAL, UNEQUAL or UNDECIDED, and never guesses. Structure first,
then numbers at points of the real domain (data reduced over a few samples; floats that
disagree, and at one point floats that agree, are looked at again in 40 digits). Two
expressions are equal when they are the same real function: a point where one side is a finite
real number and the other is not is a disagreement. Where too few points of the usual box are
defined for both sides, or a kink never turned there (max(x, 40)), wider boxes; then complex
points, for expressions built from analytic functions only; last the algebra (expansion,
cancelling) under a size guard. What none of these settles is UNDECIDED, and a node the
evaluator does not know is a bug (InternalError), never "undefined".
`derivative` is sympy.diff, remembered, for the oracle side of every check.
"""

from __future__ import annotations

import enum
import math
import random
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import mpmath
import sympy

from gdc.errors import InternalError
from .indexed import collapse_deltas, instances, is_indexed
from .functions import SampleReduction
from .simplify import evaluate_reductions, has_denominator, size
from .catalog import BY_CLASS
from .kinks import almost_everywhere, kinks_freed, never, on_the_kinks, switches
from .symbolic import PerSample, mean


class Verdict(enum.Enum):
    EQUAL = "equal"
    UNEQUAL = "unequal"
    UNDECIDED = "undecided"


def equal(a: sympy.Expr, b: sympy.Expr, limit: int = 400) -> bool:
    """Whether a and b are shown to be the same function (UNDECIDED is not shown)."""
    return compare(a, b, limit) is Verdict.EQUAL


def compare(a: sympy.Expr, b: sympy.Expr, limit: int = 400, domain: sympy.Expr | None = None) -> Verdict:
    """Whether a and b are the same function of their symbols (every symbol independent).

    Index form (vectors, sums over elements) is compared written out at fixed sizes, where
    symbolic checking of indexed expressions is out of reach (indexed.instances). With a
    `domain`, only the points where it is a finite real number count: a derivative is compared
    where the function it is the derivative of is defined (sympy.diff of log(m^b) is b/m, defined
    for m < 0 where log(m^b) is not, and where the chain rule's b·m^(b−1)/m^b is not either).
    """
    if a == b:
        return Verdict.EQUAL
    if not (is_indexed(a) or is_indexed(b) or (domain is not None and is_indexed(domain))):
        return _compare(evaluate_reductions(a), evaluate_reductions(b), limit,
                        None if domain is None else evaluate_reductions(domain))
    one_hot = _ONE_HOT.get()
    if domain is None:
        pairs = [(x, y, None) for x, y in instances(a, b, one_hot=one_hot)]
    else:
        pairs = instances(a, b, domain, one_hot=one_hot)
    verdicts = {_compare(evaluate_reductions(x), evaluate_reductions(y), limit,
                         None if d is None else evaluate_reductions(d)) for x, y, d in pairs}
    for verdict in (Verdict.UNEQUAL, Verdict.UNDECIDED):
        if verdict in verdicts:
            return verdict
    return Verdict.EQUAL


# Data vectors whose rows are one-hot (class labels): comparisons hold where each row sums to 1.
_ONE_HOT: ContextVar[tuple] = ContextVar("one_hot", default=())


@contextmanager
def rows_sum_to_one(bases):
    """Within: every comparison of index-form expressions takes each data vector in `bases` to
    have rows that sum to 1 (`data Y[K] from labels` guarantees it)."""
    token = _ONE_HOT.set(tuple(bases))
    try:
        yield
    finally:
        _ONE_HOT.reset(token)


@lru_cache(maxsize=8192)
def _compare(a: sympy.Expr, b: sympy.Expr, limit: int, domain: sympy.Expr | None = None) -> Verdict:
    if a == b or a - b == 0:
        return Verdict.EQUAL
    verdict = numeric_verdict(a, b, domain)
    if verdict is Verdict.UNDECIDED:
        verdict = complex_verdict(a, b)
    if verdict is Verdict.UNDECIDED and _expands_to_zero(a - b, limit):
        verdict = Verdict.EQUAL
    return verdict


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


# ---------------------------------------------------------------- real points

_SEED = 20240501
_ENOUGH = 3           # points that agree, none disagreeing, decide EQUAL ...
_LOOK_AT = 9          # ... once at least this many points of the usual box were looked at,
_USUAL = 24           # or all of them where a side has a kink: signed (−2, 2), every third positive
# Where the usual box has too few points defined for both sides (log(x − 5)), or a kink never turned: wider boxes.
_WIDER = ((-20.0, 20.0), (0.5, 20.0), (-20.0, -0.5), (-200.0, 200.0), (5.0, 200.0), (-200.0, -5.0))
_WIDE_POINTS = 4 * len(_WIDER)


def _samples(attempt: int) -> int:
    """A mean or sum over the samples is taken over 2, 3 or 4 of them, changing from point to
    point: at any one count N, sum(u) and N·mean(u) would agree."""
    return 2 + attempt % 3


def _box(attempt: int) -> tuple[float, float]:
    if attempt >= _USUAL:
        return _WIDER[(attempt - _USUAL) % len(_WIDER)]
    return (0.1, 2.0) if attempt % 3 == 1 else (-2.0, 2.0)


def numeric_verdict(a: sympy.Expr, b: sympy.Expr, domain: sympy.Expr | None = None) -> Verdict:
    """Compare at points of the real domain; UNDECIDED when fewer than three are defined for both.

    Every symbol takes a value of its own at each point, positive at every third point of the
    usual box and signed at the others, so that both sides of a kink are seen (|x| and x agree
    on the positive points only). At least nine points are looked at, all of the usual box
    where either side has a kink (max(x, 0)·max(y, 0) and max(x, 0)·y differ on a quarter of
    them); analytic functions that agree on an open set agree on its component. EQUAL needs
    each kink's switch (kinks.switches) seen both ways, in the wider boxes if not in the usual
    one (max(x, 40) and 40 agree there), or where neither side is defined (sign(m² − 1) in
    ∂ acos(m)); else the kinks of a switch never seen turning are made free (kinks_freed). One
    disagreement decides; in the usual box so does a point where only one side is defined
    (within `domain`, when one is given: points where it is undefined are passed over). In the
    wider boxes such a point is passed over: 40 digits may not be enough there (log(1 − σ(z))
    at z = 200 is log 0 in 40 digits, −softplus(z) is not). Float agreement is confirmed last.
    """
    agreed: list[tuple[float, int]] = []     # (size of the values, point) where the sides agreed
    analytic = _analytic(a) and _analytic(b)
    look_at = _LOOK_AT if analytic else _USUAL
    unseen = set() if analytic else {(s, inside, side) for s, inside in switches(a) | switches(b)
                                     for side in (1, -1) if not never(s, side)}
    for attempt in range(_USUAL + _WIDE_POINTS):
        if len(agreed) >= _ENOUGH and attempt >= look_at and not unseen:
            return _confirmed(a, b, agreed)
        va, vb = (None, None) if domain is not None and value(domain, attempt) is None else \
            (value(a, attempt), value(b, attempt))    # outside the domain of what was differentiated
        seen = Verdict.EQUAL if va is not None and vb is not None and _close(va, vb) else \
            None if va is None and vb is None else _precise_verdict(a, b, attempt)
        if seen is None:     # nothing to compare here: a switch's side that lies here is no question
            unseen -= _sides(unseen, attempt)
        elif seen is Verdict.EQUAL:
            agreed.append((abs(va) + abs(vb) if va is not None and vb is not None else 0.0, attempt))
            unseen -= _sides(unseen, attempt)
        elif seen is Verdict.UNEQUAL and (attempt < _USUAL or (va is not None and vb is not None)):
            return Verdict.UNEQUAL
    if len(agreed) >= _ENOUGH and not unseen:
        return _confirmed(a, b, agreed)
    freed = kinks_freed(a, b, {s for s, _, _ in unseen}) if len(agreed) >= _ENOUGH else None
    equal = freed is not None and _compare(*freed, 400, domain) is Verdict.EQUAL   # unequal freed: no answer
    return Verdict.EQUAL if equal else Verdict.UNDECIDED


def _sides(unseen: set, attempt: int) -> set:
    """Those of `unseen` (switch, inside, side) that point `attempt` shows (inside: at any sample)."""
    return {(s, inside, side) for s, inside, side in unseen
            if any((value(s, attempt, j) or 0.0) * side > 0 for j in range(_samples(attempt) if inside else 1))}


def _confirmed(a: sympy.Expr, b: sympy.Expr, agreed: list[tuple[float, int]]) -> Verdict:
    """EQUAL once the sides agree in 40 digits at the point of `agreed` with the largest values
    (relative tolerance there: x·(1 + 10⁻⁹) and x agree in floats), and on each kink; UNEQUAL where
    40 and 120 digits tell them apart; UNDECIDED for a side with a float constant (two ways of
    computing it may round its last digits apart), or where nothing settles it."""
    for _, attempt in sorted(agreed, reverse=True)[:_ENOUGH]:
        verdict = _precise_verdict(a, b, attempt)
        if verdict is Verdict.EQUAL:   # random points never land on a kink: H(0) = 1/2, sign(0) = 0
            return Verdict.UNDECIDED if any(_apart(p, q) for p, q in on_the_kinks(a, b)) else verdict
        if verdict is Verdict.UNEQUAL:
            return Verdict.UNDECIDED if a.has(sympy.Float) or b.has(sympy.Float) else verdict
    return Verdict.UNDECIDED


def _apart(p: sympy.Expr, q: sympy.Expr) -> bool:
    point = next((t for t in range(_USUAL) if value(p, t) is not None and value(q, t) is not None), None)
    return point is not None and not _close(value(p, point), value(q, point)) and \
        _precise_verdict(p, q, point) is Verdict.UNEQUAL


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-7 * (1 + max(abs(x), abs(y)))


def _precise_verdict(a: sympy.Expr, b: sympy.Expr, attempt: int) -> Verdict:
    """The two sides at one point in 40 digits, then 120, before calling them different: floats
    round log(1 − σ(z)) and −softplus(z) apart at a large z, or overflow on one side only
    (e^(e^(e^x))·0 + 1). EQUAL, UNEQUAL, or UNDECIDED where neither is a finite real number."""
    for digits in (40, 120):
        with mpmath.workdps(digits):
            va, vb = _precise_or_none(a, attempt), _precise_or_none(b, attempt)
            if va is None and vb is None:
                return Verdict.UNDECIDED
            if va is not None and vb is not None and \
                    abs(va - vb) <= mpmath.mpf(10) ** -20 * (1 + max(abs(va), abs(vb))):
                return Verdict.EQUAL
    return Verdict.UNEQUAL


# ---------------------------------------------------------------- values at a point

# Each function's float and mpmath forms, and whether it is analytic (so that complex points may
# compare it), are its catalog entry. math.log(−1) and math.asin(2) raise ValueError, mpmath
# returns a complex number; either way a real point outside the domain is "not defined here".


class _Undefined(ValueError):
    """Not a finite real number at this point (remembered, like a value)."""


def _known(expr) -> None:
    """A node the evaluator does not know is a bug in gdc, not a point outside the domain."""
    if expr.is_Symbol and expr.is_integer:
        raise InternalError(f"the verifier was given the free index {expr} in an expression it compares")
    if not (expr.is_Symbol or expr.is_Number or expr.is_NumberSymbol or expr.is_Add or expr.is_Mul
            or expr.is_Pow or isinstance(expr, SampleReduction) or type(expr) in BY_CLASS):
        raise InternalError(f"the verifier cannot evaluate {type(expr).__name__} (in {expr})")


# Point number k gives each symbol a value of its own, drawn from the symbol and k alone (not
# from the other symbols compared), so a node's value at point k is the same in every
# comparison and is computed once: ∂J/∂w₁ … ∂J/∂w_d all contain σ(z), evaluated once a point.
_coordinates: dict[tuple, float] = {}
_values: dict[tuple, object] = {}
_LIMIT = 1 << 18


def _coordinate(sym: sympy.Symbol, attempt: int, sample: int) -> float:
    key = (sym, attempt, sample)
    found = _coordinates.get(key)
    if found is None:
        tag = (_SEED, type(sym).__name__, sym.name, getattr(sym, "dummy_index", None),
               sorted(sym.assumptions0.items()), attempt, sample)
        found = _coordinates[key] = random.Random(repr(tag)).uniform(*_box(attempt))
    return found


def value(expr: sympy.Expr, attempt: int, sample: int = 0) -> float | None:
    """The value at point `attempt`; None where it, or any part of it, is not a finite real number.

    Data take their values at `sample` outside a mean or sum; inside one, at each sample.
    """
    try:
        return _eval(expr, attempt, sample)
    except _Undefined:
        return None


def _eval(expr, attempt: int, sample: int) -> float:
    """Evaluate in real floating point, each node once a point: quick, for the numeric check only."""
    key = (expr, attempt, sample)
    found = _values.get(key)
    if found is None:
        try:
            found = _compute(expr, attempt, sample)
            if isinstance(found, complex) or not math.isfinite(found):
                found = _Undefined
        except (ArithmeticError, ValueError):   # math.log(0), overflow, 0.0 ** −1
            found = _Undefined
        if len(_values) > _LIMIT:
            _values.clear()
        _values[key] = found
    if found is _Undefined:
        raise _Undefined("not a finite real number here")
    return found


def _compute(expr, attempt: int, sample: int) -> float:
    _known(expr)
    if expr.is_Symbol:
        return _coordinate(expr, attempt, sample if isinstance(expr, PerSample) else -1)
    if expr.is_Number or expr.is_NumberSymbol:
        return float(expr) if expr.is_extended_real else math.nan    # zoo, nan: undefined
    args = expr.args
    if isinstance(expr, SampleReduction):
        values = [_eval(args[0], attempt, j) for j in range(_samples(attempt))]
        return math.fsum(values) / (len(values) if isinstance(expr, mean) else 1)
    values = [_eval(a, attempt, sample) for a in args]
    if expr.is_Add:
        return math.fsum(values)
    if expr.is_Mul:
        return math.prod(values)
    if expr.is_Pow:
        return values[0] ** values[1]       # (−8)^(1/3) is complex in Python: not real here
    return BY_CLASS[type(expr)].value(*values)


def _precise_or_none(expr, attempt: int):
    try:
        return _precise(expr, attempt, 0)
    except (ArithmeticError, ValueError):
        return None


def _precise(expr, attempt: int, sample: int, point=None):
    """The value in mpmath at the working precision; ValueError where not a finite real number.

    With `point` (symbol → complex number) the value at that complex point instead, for
    analytic nodes only.
    """
    _known(expr)
    if expr.is_Symbol:
        if point is not None:
            return point(expr, sample if isinstance(expr, PerSample) else -1)
        return mpmath.mpf(_coordinate(expr, attempt, sample if isinstance(expr, PerSample) else -1))
    if expr.is_Number or expr.is_NumberSymbol:
        if not expr.is_extended_real or not expr.is_finite:
            raise ValueError("not a finite number")
        return mpmath.mpf(expr.p) / expr.q if expr.is_Rational else mpmath.mpf(expr.evalf(mpmath.mp.dps))
    args = expr.args
    if isinstance(expr, SampleReduction):
        values = [_precise(args[0], attempt, j, point) for j in range(_samples(attempt))]
        return mpmath.fsum(values) / (len(values) if isinstance(expr, mean) else 1)
    values = [_precise(a, attempt, sample, point) for a in args]
    if expr.is_Add:
        result = mpmath.fsum(values)
    elif expr.is_Mul:
        result = mpmath.fprod(values)
    elif expr.is_Pow:
        result = values[0] ** values[1]
    else:
        entry = BY_CLASS[type(expr)]
        if point is not None and not entry.analytic:
            raise InternalError("a complex point reached a function that is not analytic")
        result = entry.precise(*values)
    if not mpmath.isfinite(result) or (point is None and isinstance(result, mpmath.mpc)):
        raise ValueError("not a finite real number")
    return result


# ---------------------------------------------------------------- complex points

_COMPLEX_POINTS = 6


def complex_verdict(a: sympy.Expr, b: sympy.Expr) -> Verdict:
    """Compare at complex points, principal branches, when both sides are analytic.

    For pairs too few real points decide, such as log(−x² − 1) and 2·log(−x² − 1), defined
    for no real x: as functions of a complex x they differ. Kinks (|u|, max) are not analytic,
    and their complex forms say nothing of the real ones: UNDECIDED.
    """
    if not (_analytic(a) and _analytic(b)):
        return Verdict.UNDECIDED
    agreed = 0
    with mpmath.workdps(30):
        for attempt in range(_COMPLEX_POINTS):
            rng = random.Random(f"{_SEED}:complex:{attempt}")
            drawn: dict = {}

            def point(sym, sample):
                key = (sym, sample)
                if key not in drawn:
                    drawn[key] = mpmath.mpc(rng.uniform(-2, 2), rng.uniform(-2, 2))
                return drawn[key]

            try:
                va, vb = _precise(a, attempt, 0, point), _precise(b, attempt, 0, point)
            except (ArithmeticError, ValueError):
                continue
            if abs(va - vb) > mpmath.mpf(10) ** -15 * (1 + max(abs(va), abs(vb))):
                return Verdict.UNEQUAL
            agreed += 1
    return Verdict.EQUAL if agreed >= _ENOUGH else Verdict.UNDECIDED


@lru_cache(maxsize=8192)
def _analytic(expr) -> bool:
    """Whether every node is an analytic function (no kink, no |u|, no max)."""
    if expr.is_Atom:
        return True
    _known(expr)
    entry = BY_CLASS.get(type(expr))
    return (entry is None or entry.analytic) and all(_analytic(a) for a in expr.args)


@lru_cache(maxsize=4096)
def derivative(expr: sympy.Expr, var: sympy.Symbol) -> sympy.Expr:
    """sympy.diff, remembered: several checks of one parameter ask for the same derivative.

    By an element w[j], its Kronecker deltas collapsed: Σ_k δ_jk·x_k = x_j. The derivative of a
    jump (sign, Heaviside) is 0 where it exists (kinks.almost_everywhere): sign′ = 0.
    """
    found = almost_everywhere(sympy.diff(expr, var))
    return collapse_deltas(found) if isinstance(var, sympy.Indexed) else found


def clear_caches() -> None:
    """Forget every derivative, decided pair and value (a benchmark's cold start)."""
    derivative.cache_clear()
    _compare.cache_clear()
    _analytic.cache_clear()
    _values.clear()
    _coordinates.clear()
