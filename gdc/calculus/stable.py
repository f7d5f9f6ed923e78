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
from .functions import LogSumExp, sigmoid, softplus
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


# issue 14 (softmax): log-softmax and the log-sum-exp of a vector, in index form.
def _exp_sum(node):
    """Whether node is Σₗ exp(zₗ) over one index: the denominator of a softmax."""
    return (isinstance(node, sympy.Sum) and len(node.limits) == 1 and isinstance(node.function, exp))


def _log_softmax(node):
    """log(exp(a)/Σₗ exp(zₗ)) = a − log Σₗ exp(zₗ)."""
    if isinstance(node, log) and node.args[0].is_Mul:
        factors = node.args[0].args
        sums = [f for f in factors if f.is_Pow and f.exp == -1 and _exp_sum(f.base)]
        exps = [f for f in factors if isinstance(f, exp)]
        if len(factors) == 2 and len(sums) == 1 and len(exps) == 1:
            return exps[0].args[0] - log(sums[0].base)
    raise DoesNotApply("not log of a softmax")


def _log_sum_exp_elements(node):
    """log Σₗ exp(zₗ) = logsumexpₗ(zₗ), which the kernels compute as M + log Σₗ exp(zₗ − M)."""
    if isinstance(node, log) and _exp_sum(node.args[0]):
        total = node.args[0]
        return LogSumExp(total.function.args[0], *total.limits)
    raise DoesNotApply("not the log of a sum of exponentials over elements")


def _softmax_shifted(node):
    """exp(a)/Σₗ exp(zₗ) = exp(a − logsumexpₗ(zₗ)): a softmax that cannot overflow."""
    if node.is_Mul:
        factors = list(node.args)
        sums = [f for f in factors if f.is_Pow and f.exp == -1 and _exp_sum(f.base)]
        exps = [f for f in factors if isinstance(f, exp)]
        if len(sums) == 1 and len(exps) == 1:
            total = sums[0].base
            rest = [f for f in factors if f is not sums[0] and f is not exps[0]]
            lse = LogSumExp(total.function.args[0], *total.limits)
            return sympy.Mul(exp(exps[0].args[0] - lse), *rest)
    raise DoesNotApply("not a softmax")


def _vector_identity(kind):
    """The identities of the softmax rewrites, in a vector z with elements zₖ, zₗ."""
    def shown(z, a, M):
        K = sympy.Symbol("K", integer=True, positive=True)
        zv = sympy.IndexedBase(z, shape=(K,))
        k, l = (sympy.Symbol(n, integer=True, nonnegative=True) for n in "kl")
        total = sympy.Sum(exp(zv[l]), (l, 0, K - 1))
        if kind == "log softmax":
            return log(exp(zv[k]) / total), zv[k] - log(total)
        if kind == "shift":
            return log(total), M + log(sympy.Sum(exp(zv[l] - M), (l, 0, K - 1)))
        return exp(zv[k]) / total, exp(zv[k] - M - log(sympy.Sum(exp(zv[l] - M), (l, 0, K - 1))))
    return shown


SOFTMAX_REWRITES = (
    Rewrite("log-softmax", _log_softmax, _vector_identity("log softmax")),
    Rewrite("log-sum-exp with its shift M = max(z)", _log_sum_exp_elements, _vector_identity("shift")),
    Rewrite("softmax with its shift M = max(z)", _softmax_shifted, _vector_identity("softmax")),
)


REWRITES = (
    Rewrite("log σ(z) = −softplus(−z)", _log_sigmoid, lambda z, a, M: (log(sigmoid(z)), -softplus(-z))),
    Rewrite("log(1 − σ(z)) = −softplus(z)", _log_one_minus_sigmoid,
            lambda z, a, M: (log(1 - sigmoid(z)), -softplus(z))),
    Rewrite("log(1 + exp(z)) = softplus(z)", _log_one_plus_exp, lambda z, a, M: (log(1 + exp(z)), softplus(z))),
    Rewrite("log-sum-exp with its shift M = max(a)", _log_sum_exp,
            lambda z, a, M: (log(exp(a) + exp(z)), M + log(exp(a - M) + exp(z - M)))),
    Rewrite("softplus(−z) = softplus(z) − z", _softplus_pair, lambda z, a, M: (softplus(-z), softplus(z) - z)),
) + SOFTMAX_REWRITES
LOG_SOFTMAX = REWRITES.index(SOFTMAX_REWRITES[0])


def log_softmax(expr: sympy.Expr) -> sympy.Expr:
    """log(softmax(z)ₖ) written zₖ − log Σₗ exp(zₗ) wherever it appears: the form whose
    derivative is the textbook p − Y (the derivation differentiates it)."""
    return _bottom_up(expr, LOG_SOFTMAX)


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
