"""Targeted simplification: small named rewrites that derive.py shows as steps.

Nothing here calls an unbounded `sympy.simplify`: each rewrite is one cheap, named move a
person would make ("factor out the constant 2", "p(1 − p) cancels"), kept only when it
helps. Whether two expressions agree is decided in verify.py.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterable, Mapping

import sympy
from sympy import Mul, S

from .rules import DoesNotApply
from .functions import PerSample, SampleReduction, clip, sigmoid, where



# ---------------------------------------------------------------- small helpers


def tidy(expr: sympy.Expr, source: sympy.Expr | None = None) -> sympy.Expr:
    """Keep an integer factor outside its sum: 2·(y − Y), not 2y − 2Y (sympy distributes).

    With `source` (what was differentiated), a sum is kept the way round it is written there,
    the sign pulled to the front: from (xᵢ − μ)², −2(xᵢ − μ) rather than 2(μ − xᵢ)."""
    written = _sums(source) if source is not None else frozenset()
    if expr.is_Add:
        return _keep_content(expr, written)
    if expr.is_Mul and any(f.is_Add for f in expr.args):
        factors = [_keep_content(f, written) if f.is_Add else f for f in expr.args]
        if factors != list(expr.args):
            return Mul(*factors)
    return expr


def _keep_content(add: sympy.Expr, written: frozenset = frozenset()) -> sympy.Expr:
    content, rest = add.primitive()
    if rest.is_Add and rest not in written and -rest in written:
        return Mul(-content, -rest, evaluate=False)
    if content.is_Integer and content != 1 and rest.is_Add:
        return Mul(content, rest, evaluate=False)
    return add


@lru_cache(maxsize=4096)
def _sums(expr: sympy.Expr) -> frozenset:
    """The sums (Add nodes) of an expression."""
    return frozenset(node for node in sympy.preorder_traversal(expr) if node.is_Add)


def reductions(expr: sympy.Expr) -> list[sympy.Expr]:
    """The means and sums in an expression, in a fixed order."""
    return sorted(_reductions(expr), key=sympy.default_sort_key)


@lru_cache(maxsize=1 << 16)
def _reductions(expr: sympy.Expr) -> frozenset:
    # Remembered node by node: the partials of every parameter share their large parts.
    if expr.is_Atom:
        return frozenset()
    found = frozenset().union(*(_reductions(a) for a in expr.args))
    return found | {expr} if isinstance(expr, SampleReduction) else found


def evaluate_reductions(expr: sympy.Expr) -> sympy.Expr:
    """Rebuild means and sums built unevaluated (constants inside) in their usual form."""
    found = reductions(expr)
    if not found:
        return expr
    return expr.xreplace({r: type(r)(tidy(r.args[0])) for r in found})


def per_sample(expr: sympy.Expr, shown: bool = True) -> sympy.Expr:
    """Each reduction replaced by its term at one sample i (the SGD objective).

    shown: rebuilt by hand so that 2·mean(y − Y) becomes 2·(y − Y), as a person writes it
    (the derivation's update rules). Otherwise sympy's own form, 2y − 2Y: the same value,
    and the form the kernels print (their text, hence the golden files, depend on it).
    """
    if not shown:
        return expr.xreplace({r: r.args[0] for r in reductions(expr)})
    if isinstance(expr, SampleReduction):
        return tidy(expr.args[0])
    if not expr.has(SampleReduction):
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


def has_denominator(expr: sympy.Expr) -> bool:
    """Whether a power with a negative exponent appears (a fraction to cancel)."""
    return any(p.exp.is_Number and p.exp.is_negative for p in expr.atoms(sympy.Pow))


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
    if not has_denominator(body) or size(body) > 200:
        raise DoesNotApply("no fraction to cancel")
    new = tidy(_factor(body))
    if size(new) >= size(body):
        raise DoesNotApply("cancelling does not make it simpler")
    for s in _sigmoid_like(body, bodies):
        if body.has(s * (1 - s)) or any(f == 1 - s for f in Mul.make_args(body)):
            return new, "{0}(1 − {0}) cancels", (s,)
    return new, "cancel common factors", ()


def _factor(expr: sympy.Expr) -> sympy.Expr:
    """sympy.factor, with lone symbols set aside: the bodies x₁·F, …, x_d·F of the parameters
    w₁ … w_d share F, which is factored once."""
    alone = [f for f in Mul.make_args(expr) if f.is_Symbol]
    rest = Mul(*(f for f in Mul.make_args(expr) if not f.is_Symbol))
    return Mul(*alone) * _factor_once(rest)


@lru_cache(maxsize=1024)
def _factor_once(expr: sympy.Expr) -> sympy.Expr:
    """sympy.factor with each function application held whole: factor would split
    exp(−(x − b)²/2) into exp(−x²/2)·exp(−b²/2)·exp(b·x), which no textbook writes and whose
    factors overflow apart (e^2500 · e^−1250 is inf · 0 in float64) where the whole is finite."""
    whole = {f: sympy.Dummy() for f in expr.atoms(sympy.Function)}
    return sympy.factor(expr.xreplace(whole)).xreplace({d: f for f, d in whole.items()})


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


def clip_form(expr: sympy.Expr, equal: Callable[[sympy.Expr], bool]):
    """A piecewise derivative written as a clip, as a textbook prints Huber's gradient:
    where(|r| < d, r, d·sign(r)) is clip(r, −d, d) when d ≥ 0. The first candidate that `equal`
    (the verifier, in derive.py) accepts, or DoesNotApply."""
    for new, name, args in _clip_candidates(expr):
        if equal(new):
            return new, name, args
    raise DoesNotApply("no clip of the same value")


def _clip_candidates(expr: sympy.Expr):
    # |r| is |−r|: sympy may hold either, so both are tried (y − Y for |Y − y|)
    for node in sorted(expr.atoms(where), key=sympy.default_sort_key):   # a where, replaced in place
        u, v = node.args[:2]
        if isinstance(u, sympy.Abs) and not v.has(u.args[0]):
            for r in (-u.args[0], u.args[0]):
                yield expr.xreplace({node: clip(r, -v, v)}), "the pieces are a clip of {0}", (r,)
    # The whole expression, from the step H(d − |r|) of a min(|r|, d) (Huber written with min).
    for step in sorted(expr.atoms(sympy.Heaviside), key=sympy.default_sort_key):
        for term in sympy.Add.make_args(step.args[0]):
            rest = step.args[0] - term
            if isinstance(-term, sympy.Abs) and rest.is_number:
                for r in (-(-term).args[0], (-term).args[0]):
                    yield clip(r, -rest, rest), "the pieces are a clip of {0}", (r,)


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

