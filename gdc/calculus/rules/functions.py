"""Rules for f(u): the named functions, powers and exponentials, and the chain rule around them."""

from __future__ import annotations

from typing import Callable

import sympy
from sympy import Add, Derivative, Heaviside, S

from ..catalog import Entry
from ..functions import where
from .base import DoesNotApply, Rule


class OuterRule(Rule):
    """A rule for f(u): it knows f′. When u is not θ itself, the ChainRule wraps it."""

    def split(self, expr) -> tuple[sympy.Expr, Callable[[sympy.Expr], sympy.Expr]]:
        """The inner expression u and f as a function, or DoesNotApply."""
        raise NotImplementedError

    def outer_derivative(self, expr) -> sympy.Expr:
        """f′(u) for expr = f(u)."""
        raise NotImplementedError

    def derive(self, expr, var, engine):
        inner, _ = self.split(expr)
        if inner != var:
            raise self.refuse(expr, var)
        return self.step(expr, var, self.outer_derivative(expr))


class FromEntry:
    """A rule made from a function's catalog entry: its name, its note at a kink, its statement."""

    def __init__(self, entry: Entry):
        self.entry = entry
        self.function = entry.make
        self.name = f"{entry.name} rule"
        self.note = entry.note
        self.__doc__ = entry.statement


class FunctionRule(FromEntry, OuterRule):
    """d/du f(u) = f′(u) for a named function f: its catalog entry states the rule and gives f′."""

    def split(self, expr):
        if type(expr) is not self.function:
            raise DoesNotApply(f"the {self.name} does not apply to {expr}")
        return expr.args[0], self.function

    def outer_derivative(self, expr):
        return self.derivative(expr.args[0])

    def derivative(self, u: sympy.Expr) -> sympy.Expr:
        return self.entry.derivative(u)


class PowerRule(OuterRule):
    """d/du uⁿ = n·uⁿ⁻¹ for a constant exponent n."""

    name = "power rule"

    def split(self, expr):
        if not expr.is_Pow:
            raise DoesNotApply(f"the {self.name} does not apply to {expr}")
        base, n = expr.args
        return base, lambda u: u**n

    def outer_derivative(self, expr):
        base, n = expr.args
        return n * base ** (n - 1)


class SqrtRule(PowerRule):
    """d/du √u = 1/(2√u)."""

    name = "sqrt rule"

    def split(self, expr):
        if not (expr.is_Pow and expr.exp == S.Half):
            raise DoesNotApply(f"the {self.name} does not apply to {expr}")
        return expr.base, sympy.sqrt

    def outer_derivative(self, expr):
        return 1 / (2 * sympy.sqrt(expr.base))


class ExponentialRule(OuterRule):
    """d/du aᵘ = aᵘ·ln a for a constant base a."""

    name = "exponential rule"

    def split(self, expr):
        if not expr.is_Pow:
            raise DoesNotApply(f"the {self.name} does not apply to {expr}")
        base, exponent = expr.args
        return exponent, lambda u: base**u

    def outer_derivative(self, expr):
        return expr * sympy.log(expr.base)


class ChainRule(Rule):
    """d/dθ f(g) = f′(u)·du/dθ with u = g: the outer derivative at the inner function, times
    the inner derivative. Each use names its inner function afresh: u₁, u₂, …"""

    name = "chain rule"

    def __init__(self, outer: OuterRule):
        self.outer = outer

    def derive(self, expr, var, engine):
        inner, rebuild = self.outer.split(expr)
        if inner == var or not engine.depends(inner, var):
            raise self.refuse(expr, var)
        u = engine.fresh()
        outer = engine.apply(self.outer, rebuild(u), u)
        inside = engine.d(inner, var)
        after = outer.after.xreplace({u: inner}) * inside.after
        return self.step(expr, var, after, (outer, inside), where=((u, inner),),
                         middle=outer.after * Derivative(u, var))


class GeneralPowerRule(Rule):
    """d/dθ uᵛ = uᵛ·(dv/dθ·ln u + v·(du/dθ)/u) when both base and exponent vary."""

    name = "general power rule"

    def derive(self, expr, var, engine):
        if not (expr.is_Pow and engine.depends(expr.base, var) and engine.depends(expr.exp, var)):
            raise self.refuse(expr, var)
        base, exponent = expr.args
        dbase, dexp = engine.d(base, var), engine.d(exponent, var)
        after = expr * (dexp.after * sympy.log(base) + exponent * dbase.after / base)
        return self.step(expr, var, after, (dbase, dexp))


class MaxRule(Rule):
    """d/dθ max(a, b) = a′·H(a − b) + b′·H(b − a), where H is the unit step with H(0) = 1/2:
    at a tie (the kink) the derivative is the average of the one-sided derivatives."""

    name, function = "max rule", sympy.Max
    note = "H(0) = 1/2: at a tie, the average of the one-sided derivatives"

    def selector(self, arg, others):
        rival = others[0] if len(others) == 1 else self.function(*others)
        return Heaviside(arg - rival)

    def derive(self, expr, var, engine):
        if type(expr) is not self.function:
            raise self.refuse(expr, var)
        args = expr.args
        subs, terms = [], []
        for k, arg in enumerate(args):
            if engine.depends(arg, var):
                sub = engine.d(arg, var)
                subs.append(sub)
                terms.append(sub.after * self.selector(arg, args[:k] + args[k + 1:]))
        return self.step(expr, var, Add(*terms), subs)


class MinRule(MaxRule):
    """d/dθ min(a, b) = a′·H(b − a) + b′·H(a − b), with H(0) = 1/2 (the average at a tie)."""

    name, function = "min rule", sympy.Min

    def selector(self, arg, others):
        rival = others[0] if len(others) == 1 else self.function(*others)
        return Heaviside(rival - arg)


class ArgumentsRule(FromEntry, Rule):
    """d/dθ f(a, b, …) = ∂f/∂a·a′ + ∂f/∂b·b′ + … for a function of several arguments (clip,
    hypot): its catalog entry states the rule and gives the partials; arguments without θ drop out."""

    def derive(self, expr, var, engine):
        if type(expr) is not self.function:
            raise self.refuse(expr, var)
        partials = self.entry.partials(*expr.args)
        subs, terms = [], []
        for arg, partial in zip(expr.args, partials):
            if engine.depends(arg, var):
                sub = engine.d(arg, var)
                subs.append(sub)
                terms.append(partial * sub.after)
        return self.step(expr, var, Add(*terms), subs)


class WhereRule(Rule):
    """d/dθ where(u < v, a, b) = where(u < v, a′, b′): each piece's derivative on its side; on the
    boundary u = v the average (a′ + b′)/2, as H(0) = 1/2 for max. The condition's jump is not
    differentiated (as sign′ = 0), so u and v contribute nothing."""

    name = "where rule"

    def __init__(self, entry: Entry):
        self.note = entry.note

    def derive(self, expr, var, engine):
        if type(expr) is not where:
            raise self.refuse(expr, var)
        u, v, a, b, _ = expr.args
        subs = [engine.d(piece, var) for piece in (a, b)]
        da, db = (sub.after for sub in subs)
        return self.step(expr, var, where(u, v, da, db, (da + db) / 2), subs)
