"""Rules for f(u): the named functions, powers and exponentials, and the chain rule around them."""

from __future__ import annotations

from typing import Callable, ClassVar

import sympy
from sympy import Add, Derivative, Heaviside, S

from ..functions import sigmoid, softplus
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


class FunctionRule(OuterRule):
    """A named function of one argument; subclasses give `function` and `derivative(u)`."""

    function: ClassVar[type]

    def split(self, expr):
        if type(expr) is not self.function:
            raise DoesNotApply(f"the {self.name} does not apply to {expr}")
        return expr.args[0], self.function

    def outer_derivative(self, expr):
        return self.derivative(expr.args[0])

    def derivative(self, u: sympy.Expr) -> sympy.Expr:
        raise NotImplementedError


class ExpRule(FunctionRule):
    """d/du eᵘ = eᵘ."""

    name, function = "exp rule", sympy.exp

    def derivative(self, u):
        return sympy.exp(u)


class LogRule(FunctionRule):
    """d/du ln u = 1/u."""

    name, function = "log rule", sympy.log

    def derivative(self, u):
        return 1 / u


class SinRule(FunctionRule):
    """d/du sin u = cos u."""

    name, function = "sin rule", sympy.sin

    def derivative(self, u):
        return sympy.cos(u)


class CosRule(FunctionRule):
    """d/du cos u = −sin u."""

    name, function = "cos rule", sympy.cos

    def derivative(self, u):
        return -sympy.sin(u)


class TanRule(FunctionRule):
    """d/du tan u = 1 + tan²u."""

    name, function = "tan rule", sympy.tan

    def derivative(self, u):
        return 1 + sympy.tan(u) ** 2


class AsinRule(FunctionRule):
    """d/du asin u = 1/√(1 − u²)."""

    name, function = "asin rule", sympy.asin

    def derivative(self, u):
        return 1 / sympy.sqrt(1 - u**2)


class AcosRule(FunctionRule):
    """d/du acos u = −1/√(1 − u²)."""

    name, function = "acos rule", sympy.acos

    def derivative(self, u):
        return -1 / sympy.sqrt(1 - u**2)


class AtanRule(FunctionRule):
    """d/du atan u = 1/(1 + u²)."""

    name, function = "atan rule", sympy.atan

    def derivative(self, u):
        return 1 / (1 + u**2)


class SinhRule(FunctionRule):
    """d/du sinh u = cosh u."""

    name, function = "sinh rule", sympy.sinh

    def derivative(self, u):
        return sympy.cosh(u)


class CoshRule(FunctionRule):
    """d/du cosh u = sinh u."""

    name, function = "cosh rule", sympy.cosh

    def derivative(self, u):
        return sympy.sinh(u)


class TanhRule(FunctionRule):
    """d/du tanh u = 1 − tanh²u."""

    name, function = "tanh rule", sympy.tanh

    def derivative(self, u):
        return 1 - sympy.tanh(u) ** 2


class SigmoidRule(FunctionRule):
    """d/du σ(u) = σ(u)·(1 − σ(u))."""

    name, function = "sigmoid rule", sigmoid

    def derivative(self, u):
        return sigmoid(u) * (1 - sigmoid(u))


class SoftplusRule(FunctionRule):
    """d/du softplus(u) = σ(u)."""

    name, function = "softplus rule", softplus

    def derivative(self, u):
        return sigmoid(u)


class AbsRule(FunctionRule):
    """d/du |u| = sign(u), with sign(0) = 0: at the kink, the average of −1 and 1."""

    name, function = "abs rule", sympy.Abs
    note = "sign(0) = 0: at the kink, the average of the one-sided slopes −1 and 1"

    def derivative(self, u):
        return sympy.sign(u)


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
