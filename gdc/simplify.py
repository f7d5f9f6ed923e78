"""Targeted simplification: small named rewrites and the equality check every step passes.

Nothing here calls an unbounded `sympy.simplify`: each rewrite is one cheap, named move a
person would make ("factor out the constant 2", "p(1 − p) cancels"), kept only when it
helps. `equal` decides whether two expressions agree: structurally, then by expansion under
a size guard, then numerically at random points (data reduced over a few samples).
"""

from __future__ import annotations

import math
import random
from typing import Iterable, Mapping

import sympy
from sympy import Mul, S

from .rules import DoesNotApply
from .symbolic import PerSample, Sum, mean, sigmoid, softplus

REDUCTIONS = (mean, Sum)


# ---------------------------------------------------------------- small helpers


def tidy(expr: sympy.Expr) -> sympy.Expr:
    """Keep an integer factor outside its sum: 2·(y − Y), not 2y − 2Y (sympy distributes)."""
    if expr.is_Add:
        return _keep_content(expr)
    if expr.is_Mul and any(f.is_Add for f in expr.args):
        factors = [_keep_content(f) if f.is_Add else f for f in expr.args]
        if factors != list(expr.args):
            return Mul(*factors)
    return expr


def _keep_content(add: sympy.Expr) -> sympy.Expr:
    content, rest = add.primitive()
    if content.is_Integer and content != 1 and rest.is_Add:
        return Mul(content, rest, evaluate=False)
    return add


def reductions(expr: sympy.Expr) -> list[sympy.Expr]:
    """The means and sums in an expression, in a fixed order."""
    return sorted(expr.atoms(*REDUCTIONS), key=sympy.default_sort_key)


def evaluate_reductions(expr: sympy.Expr) -> sympy.Expr:
    """Rebuild means and sums built unevaluated (constants inside) in their usual form."""
    found = reductions(expr)
    if not found:
        return expr
    return expr.xreplace({r: type(r)(tidy(r.args[0])) for r in found})


def per_sample(expr: sympy.Expr) -> sympy.Expr:
    """Each reduction replaced by its term at one sample i (the SGD objective).

    Rebuilt by hand so that 2·mean(y − Y) becomes 2·(y − Y), not 2y − 2Y.
    """
    if isinstance(expr, REDUCTIONS):
        return tidy(expr.args[0])
    if not expr.has(*REDUCTIONS):
        return expr
    args = [per_sample(a) for a in expr.args]
    if expr.is_Mul:
        numbers = [a for a in args if a.is_Number]
        rest = [a for a in args if not a.is_Number]
        if numbers and len(rest) == 1 and rest[0].is_Add:
            return Mul(Mul(*numbers), rest[0], evaluate=False)
    return tidy(expr.func(*args))


def size(expr: sympy.Expr) -> int:
    """The number of nodes: a cheap measure for guards and for 'is this simpler'."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


# ---------------------------------------------------------------- equality


def equal(a: sympy.Expr, b: sympy.Expr, limit: int = 400) -> bool:
    """Whether a and b are the same function of their symbols (every symbol independent)."""
    a, b = evaluate_reductions(a), evaluate_reductions(b)
    if a == b:
        return True
    diff = a - b
    if diff == 0:
        return True
    small = size(diff)
    if small <= limit and not _large_powers(diff):
        expanded = sympy.expand(diff)
        if expanded == 0:
            return True
        if small <= 80 and _has_denominator(diff) and sympy.cancel(expanded) == 0:
            return True
    return numeric_equal(a, b)


def _large_powers(expr) -> bool:
    return any(p.exp.is_Integer and abs(p.exp) > 6 and p.base.is_Add
               for p in expr.atoms(sympy.Pow))


def _has_denominator(expr) -> bool:
    return any(p.exp.is_Number and p.exp.is_negative for p in expr.atoms(sympy.Pow))


_SAMPLES = 3


def numeric_equal(a: sympy.Expr, b: sympy.Expr, tries: int = 16, seed: int = 20240501) -> bool:
    """Compare at random points of the real domain; a mean or sum is taken over three samples.

    A point counts only where both sides, and every part of them, are finite real numbers
    (gradient descent lives there; off it, |u|′ = sign(u)·u′ and sympy's complex form differ).
    Three points that agree decide; so does one disagreement.
    """
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: (s.name, type(s).__name__))
    rng = random.Random(seed)
    agreed = one_sided = 0
    for attempt in range(tries):
        point, samples = _draw(rng, symbols, attempt)
        va, vb = value(a, point, samples), value(b, point, samples)
        if va is None or vb is None:
            one_sided += (va is None) != (vb is None)
            continue
        if not _close(va, vb):
            return False
        agreed += 1
        if agreed == 3:
            return True
    return agreed > 0 or one_sided == 0  # or nowhere defined, either of them (0**m·log 0)


def _draw(rng: random.Random, symbols, attempt: int):
    """A random point and three samples of the data: signed values, then positive ones."""
    low, high = (-2.0, 2.0) if attempt % 2 == 0 else (0.1, 2.0)
    point = {s: rng.uniform(low, high) for s in symbols if not isinstance(s, PerSample)}
    samples = [{s: rng.uniform(low, high) for s in symbols if isinstance(s, PerSample)}
               for _ in range(_SAMPLES)]
    return point, samples


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-7 * (1 + max(abs(x), abs(y)))


def value(expr, point: Mapping, samples: list[Mapping]) -> float | None:
    """The value at a point; None where it, or any part of it, is not a finite real number."""
    try:
        result = _eval(expr, {**point, **samples[0]}, point, samples)
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


def _eval(expr, env, point, samples) -> float:
    """Evaluate in real floating point: quick, for the numeric check only."""
    if expr.is_Symbol:
        return float(env[expr])
    if expr.is_Number or expr.is_NumberSymbol:
        return float(expr)
    args = expr.args
    if expr.is_Add:
        return math.fsum(_eval(a, env, point, samples) for a in args)
    if expr.is_Mul:
        total = 1.0
        for a in args:
            total *= _eval(a, env, point, samples)
        return total
    if expr.is_Pow:
        result = _eval(args[0], env, point, samples) ** _eval(args[1], env, point, samples)
        if isinstance(result, complex):  # (−8)^(1/3) in Python: not on the real domain here
            raise ValueError("a root of a negative number")
        return result
    if isinstance(expr, REDUCTIONS):
        values = [_eval(args[0], {**point, **sample}, point, samples) for sample in samples]
        return math.fsum(values) / (len(values) if isinstance(expr, mean) else 1)
    if isinstance(expr, (sympy.Max, sympy.Min)):
        values = [_eval(a, env, point, samples) for a in args]
        return max(values) if isinstance(expr, sympy.Max) else min(values)
    fn = _FUNCTIONS.get(type(expr))
    if fn is None:  # something rare: let sympy evaluate it (TypeError if not a real number)
        return float(expr.xreplace({s: sympy.Float(env[s]) for s in expr.free_symbols}).evalf())
    return fn(*(_eval(a, env, point, samples) for a in args))


# ---------------------------------------------------------------- named rewrites
#
# Each rewrite is a function expr -> (new expr, name template, name arguments) that raises
# DoesNotApply when it has nothing to do; derive.py turns each into a verified Step.


def recognise(expr: sympy.Expr, bodies: Mapping[sympy.Symbol, sympy.Expr]):
    """Write a definition's body as its name again: σ(z) is p, so σ(z)(1 − σ(z)) is p(1 − p)."""
    found = [sym for sym, body in bodies.items() if expr.has(body)]
    if not found:
        raise DoesNotApply("no definition body appears")
    new = tidy(expr.xreplace({bodies[s]: s for s in found}))
    if len(found) == 1:
        return new, "recognise the definition {0}", (found[0],)
    return new, "recognise the definitions " + _slots(len(found)), tuple(found)


def cancel(body: sympy.Expr, bodies: Mapping[sympy.Symbol, sympy.Expr]):
    """Cancel common factors of a fraction, e.g. p(1 − p)·(−Y/p + (1 − Y)/(1 − p)) = p − Y."""
    if not _has_denominator(body) or size(body) > 200:
        raise DoesNotApply("no fraction to cancel")
    new = tidy(sympy.factor(body))
    if size(new) >= size(body):
        raise DoesNotApply("cancelling does not make it simpler")
    for s in _sigmoid_like(body, bodies):
        if body.has(s * (1 - s)) or any(f == 1 - s for f in Mul.make_args(body)):
            return new, "{0}(1 − {0}) cancels", (s,)
    return new, "cancel common factors", ()


def _sigmoid_like(expr, bodies) -> list[sympy.Expr]:
    found = sorted(expr.atoms(sigmoid), key=sympy.default_sort_key)
    found += [s for s, body in bodies.items() if isinstance(body, sigmoid) and expr.has(s)]
    return found


def collect(body: sympy.Expr):
    """Multiply out and collect like terms: −Y(1 − σ) + (1 − Y)σ = σ − Y."""
    if size(body) > 200 or not any(f.is_Add for f in sympy.preorder_traversal(body) if f.is_Mul):
        raise DoesNotApply("no product of sums")
    new = tidy(sympy.expand_mul(body))
    if size(new) >= size(body):
        raise DoesNotApply("multiplying out does not make it simpler")
    return new, "collect terms", ()


def factor_constants(expr: sympy.Expr):
    """Move factors that are the same for every sample out of each mean and sum."""
    found = reductions(expr)
    moved = []
    replaced = {}
    for r in found:
        body = tidy(r.args[0])
        const = S.One
        if body.is_Mul and body.atoms(PerSample):
            const, _ = body.as_independent(*body.atoms(PerSample), as_Add=False)
        if const != 1:
            moved.append(const)
        replaced[r] = type(r)(body)
    if not moved:
        raise DoesNotApply("nothing to move out of a sum")
    new = expr.xreplace(replaced)
    shown = [c for c in moved if c != -1]  # a lone minus sign is not worth a name
    if not shown:
        return new, "move the minus sign out of the sum", ()
    if len(shown) == 1:
        return new, "factor out the constant {0}", (shown[0],)
    return new, "factor out the constants " + _slots(len(shown)), tuple(shown)


def _slots(n: int) -> str:
    return ", ".join("{%d}" % k for k in range(n))


def per_sample_rewrites(expr: sympy.Expr, bodies: Mapping[sympy.Symbol, sympy.Expr],
                        rewrites: Iterable = ("cancel", "collect")):
    """Apply `cancel` and `collect` inside each reduction; yields (new expr, name, args)."""
    for which in rewrites:
        for r in reductions(expr):
            try:
                new_body, name, args = (cancel(r.args[0], bodies) if which == "cancel"
                                        else collect(r.args[0]))
            except DoesNotApply:
                continue
            expr = expr.xreplace({r: type(r)(new_body, evaluate=False)})
            yield expr, name, args
