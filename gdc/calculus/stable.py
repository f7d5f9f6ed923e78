"""Numerically stable rewrites of a loss: softplus for the log of a sigmoid, the log-sum-exp shift.

`stabilize(expr)` returns the rewritten expression and the names of the rewrites applied;
the code generator calls it on the loss, `gdc derive` shows each rewrite as a step. Every
rewrite is an identity, checked numerically at random points before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import sympy
from sympy import Add, Max, exp, log

from gdc.errors import InternalError
from .rules import DoesNotApply
from .simplify import size, tidy
from .functions import sigmoid, softplus
from .verify import Verdict, compare

@dataclass(frozen=True)
class Rewrite:
    """A stable form: its name, `apply` on one node (or DoesNotApply), and the identity it
    uses, built on demand as (lhs, rhs) in the symbols z, a, M for display."""

    name: str
    apply: Callable[[sympy.Expr], sympy.Expr]
    shown: Callable[[sympy.Expr, sympy.Expr, sympy.Expr], tuple[sympy.Expr, sympy.Expr]]

    @property
    def identity(self) -> tuple[sympy.Expr, sympy.Expr]:
        return self.shown(*sympy.symbols("z a M", real=True))


def _log_sigmoid(node):
    if isinstance(node, log) and isinstance(node.args[0], sigmoid):
        return -softplus(-node.args[0].args[0])
    raise DoesNotApply("not log σ(z)")


def _log_one_minus_sigmoid(node):
    if isinstance(node, log) and node.args[0].is_Add:
        rest = node.args[0] - 1
        if isinstance(-rest, sigmoid):
            return -softplus((-rest).args[0])
    raise DoesNotApply("not log(1 − σ(z))")


def _log_one_plus_exp(node):
    if isinstance(node, log) and node.args[0].is_Add:
        rest = node.args[0] - 1
        if isinstance(rest, exp):
            return softplus(rest.args[0])
    raise DoesNotApply("not log(1 + exp(z))")


def _log_sum_exp(node):
    if isinstance(node, log) and node.args[0].is_Add:
        terms = node.args[0].args
        if len(terms) >= 2 and all(isinstance(t, exp) for t in terms):
            exponents = [t.args[0] for t in terms]
            shift = Max(*exponents)
            return shift + log(Add(*(exp(a - shift) for a in exponents)))
    raise DoesNotApply("not log of a sum of exponentials")


def _softplus_pair(node):
    """Y·softplus(−z) + (1 − Y)·softplus(z) = softplus(z) − Y·z, through softplus(−z) = softplus(z) − z."""
    if not node.is_Add:
        raise DoesNotApply("not a sum")
    found = node.atoms(softplus)
    for sp in sorted(found, key=sympy.default_sort_key):
        z = sp.args[0]
        if z.could_extract_minus_sign() or softplus(-z) not in found:
            continue
        S_, Z = sympy.Dummy("S"), sympy.Dummy("Z")
        linear = node.xreplace({softplus(-z): S_ - Z, sp: S_})
        new = tidy(sympy.expand_mul(linear).xreplace({S_: sp, Z: z}))
        if len(new.atoms(softplus)) < len(found) and size(new) <= size(node):
            return new
    raise DoesNotApply("no softplus(z) and softplus(−z) to combine")


REWRITES = (
    Rewrite("log σ(z) = −softplus(−z)", _log_sigmoid, lambda z, a, M: (log(sigmoid(z)), -softplus(-z))),
    Rewrite("log(1 − σ(z)) = −softplus(z)", _log_one_minus_sigmoid,
            lambda z, a, M: (log(1 - sigmoid(z)), -softplus(z))),
    Rewrite("log(1 + exp(z)) = softplus(z)", _log_one_plus_exp, lambda z, a, M: (log(1 + exp(z)), softplus(z))),
    Rewrite("log-sum-exp with its shift M = max(a)", _log_sum_exp,
            lambda z, a, M: (log(exp(a) + exp(z)), M + log(exp(a - M) + exp(z - M)))),
    Rewrite("softplus(−z) = softplus(z) − z", _softplus_pair, lambda z, a, M: (softplus(-z), softplus(z) - z)),
)


@lru_cache(maxsize=1 << 14)
def _bottom_up(expr, k: int):
    """REWRITES[k] applied at every node, leaves first; remembered node by node, since the
    code generator stabilises many expressions that share their large parts."""
    if expr.is_Atom:
        return expr
    args = tuple(_bottom_up(a, k) for a in expr.args)
    if args != expr.args:
        expr = expr.func(*args)
    try:
        return REWRITES[k].apply(expr)
    except DoesNotApply:
        return expr


def stable_steps(expr: sympy.Expr) -> tuple[tuple[Rewrite, sympy.Expr, sympy.Expr], ...]:
    """Each stable rewrite that changes the expression: (rewrite, before, after), in order."""
    steps = []
    for k, rewrite in enumerate(REWRITES):
        new = _bottom_up(expr, k)
        if new != expr:
            verdict = compare(expr, new)
            if verdict is Verdict.UNEQUAL:
                raise InternalError(f"the stable form '{rewrite.name}' changed the value of {expr}")
            if verdict is Verdict.UNDECIDED:   # not shown equal: the form as written stays
                continue
            steps.append((rewrite, expr, new))
            expr = new
    return tuple(steps)


def stabilize(expr: sympy.Expr) -> tuple[sympy.Expr, tuple[str, ...]]:
    """The expression in a numerically careful form, and the names of the rewrites applied."""
    steps = stable_steps(expr)
    if not steps:
        return expr, ()
    return steps[-1][2], tuple(rewrite.name for rewrite, _, _ in steps)
