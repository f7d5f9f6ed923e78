"""Rules for the structure of an expression: constants, sums, products, quotients, the samples, the definitions."""

from __future__ import annotations

from functools import lru_cache

import sympy
from sympy import Add, Mul, S

from ..functions import SampleReduction
from .base import Rule



class ConstantRule(Rule):
    """d/dθ c = 0 for anything c that does not depend on θ: numbers, data, other parameters."""

    name = "constant rule"

    def derive(self, expr, var, engine):
        if engine.depends(expr, var):
            raise self.refuse(expr, var)
        return self.step(expr, var, S.Zero)


class VariableRule(Rule):
    """d/dθ θ = 1."""

    name = "variable rule"

    def derive(self, expr, var, engine):
        if expr != var:
            raise self.refuse(expr, var)
        return self.step(expr, var, S.One)


class SumRule(Rule):
    """d/dθ (u + v) = du/dθ + dv/dθ: term by term; terms without θ drop out."""

    name = "sum rule"

    def derive(self, expr, var, engine):
        if not expr.is_Add:
            raise self.refuse(expr, var)
        terms = [t for t in ordered_terms(expr) if engine.depends(t, var)]
        subs = [engine.d(t, var) for t in terms]
        note = "the constant terms drop out" if len(terms) < len(expr.args) else ""
        return self.step(expr, var, Add(*(s.after for s in subs)), subs, note=note)


class DifferenceRule(SumRule):
    """d/dθ (u − v) = du/dθ − dv/dθ."""

    name = "difference rule"

    def derive(self, expr, var, engine):
        if not (expr.is_Add and any(t.could_extract_minus_sign() for t in expr.args)):
            raise self.refuse(expr, var)
        return super().derive(expr, var, engine)


class ConstantMultipleRule(Rule):
    """d/dθ (c·u) = c·du/dθ when c does not depend on θ."""

    name = "constant multiple rule"

    def derive(self, expr, var, engine):
        const, rest = split_constant(expr, var, engine)
        if const == 1 or rest == 1:
            raise self.refuse(expr, var)
        if rest == var:
            return self.step(expr, var, const)
        inner = engine.d(rest, var)
        return self.step(expr, var, const * inner.after, (inner,))


class ProductRule(Rule):
    """d/dθ (u·v) = du/dθ·v + u·dv/dθ; with more factors, one term per factor."""

    name = "product rule"

    def derive(self, expr, var, engine):
        const, rest = split_constant(expr, var, engine)
        factors = Mul.make_args(rest)
        if const != 1 or len(factors) < 2:
            raise self.refuse(expr, var)
        subs = [engine.d(f, var) for f in factors]
        terms = [Mul(*factors[:k], s.after, *factors[k + 1:]) for k, s in enumerate(subs)]
        return self.step(expr, var, Add(*terms), subs)


class QuotientRule(Rule):
    """d/dθ (u/v) = (du/dθ·v − u·dv/dθ)/v²."""

    name = "quotient rule"

    def derive(self, expr, var, engine):
        const, rest = split_constant(expr, var, engine)
        num, den = numerator_denominator(rest)
        if const != 1 or den == 1 or not engine.depends(num, var):
            raise self.refuse(expr, var)
        dnum, dden = engine.d(num, var), engine.d(den, var)
        after = (dnum.after * den - num * dden.after) / den**2
        return self.step(expr, var, after, (dnum, dden))


@lru_cache(maxsize=1024)
def ordered_terms(expr) -> tuple[sympy.Expr, ...]:
    """The terms of a sum in sympy's display order, remembered: every parameter of
    w₁x₁ + … + w_dx_d asks for the order of the same d terms."""
    return tuple(expr.as_ordered_terms())


def split_constant(expr, var, engine) -> tuple[sympy.Expr, sympy.Expr]:
    """A product as (the factors free of θ, the factors with θ)."""
    if not expr.is_Mul:
        return S.One, expr
    const, rest = [], []
    for factor in expr.args:
        (rest if engine.depends(factor, var) else const).append(factor)
    return Mul(*const), Mul(*rest)


def numerator_denominator(expr) -> tuple[sympy.Expr, sympy.Expr]:
    """Split a product at its factors with a negative numeric exponent."""
    num, den = [], []
    for factor in Mul.make_args(expr):
        if factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative:
            den.append(factor.base ** -factor.exp)
        else:
            num.append(factor)
    return Mul(*num), Mul(*den)


# ---------------------------------------------------------------- the samples and the definitions


class LinearityRule(Rule):
    """d/dθ (1/N)Σᵢ fᵢ = (1/N)Σᵢ ∂fᵢ/∂θ, and likewise for Σᵢ: a mean or a sum over the
    samples is linear, and the data are constants."""

    name = "linearity"

    def derive(self, expr, var, engine):
        if not isinstance(expr, SampleReduction):
            raise self.refuse(expr, var)
        inner = engine.d(expr.args[0], var)
        after = S.Zero if inner.after == 0 else type(expr)(inner.after, evaluate=False)
        return self.step(expr, var, after, (inner,))


class ThroughDefinitionsRule(Rule):
    """d/dθ ℓ = ∂ℓ/∂θ + Σ_d ∂ℓ/∂d·∂d/∂θ over the definitions d (the model, each `let`):
    the chain rule, with each ∂ℓ/∂d derived once and shared by every parameter."""

    name = "chain rule through the definitions"

    def derive(self, expr, var, engine):
        terms, middle, subs, names = engine.through_definitions(expr, var)
        if not names:
            raise self.refuse(expr, var)
        return self.step(expr, var, Add(*terms), subs, middle=Add(*middle))


