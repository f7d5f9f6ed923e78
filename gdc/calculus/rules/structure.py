"""Differentiation rules as data: one small class per rule, stating it and computing its result.

A rule builds an unverified `Step`; the engine in derive.py chooses the rule, checks the
result against sympy.diff and marks the step verified. A rule asked about an expression it
does not cover raises `DoesNotApply`; it never returns None. Printing lives in gdc/explain/.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, ClassVar, Iterator, Protocol

import sympy
from sympy import Add, Derivative, Heaviside, Indexed, KroneckerDelta, Mul, S

from gdc.errors import InternalError
from .indexed import collapse_deltas
from .functions import Sum, mean, sigmoid, softplus


@dataclass(frozen=True)
class Step:
    """One step of a derivation: `rule` applied to `before` gives `after`.

    `before` is the derivative being taken (an unevaluated sympy.Derivative) for a
    differentiation rule, or the previous expression for a rewrite (a simplification, a
    substitution). `rule` is the rule's name, possibly with `{0}`-style slots filled by
    `rule_args` (so each printer can typeset them). `quantity` names what is computed
    (∂J/∂m, ∂y/∂m); `middle` is the rule written out between before and after
    (∂ℓ/∂y·∂y/∂m); `where` lists the fresh names the rule introduced (u₁ = …).
    """

    rule: str
    before: sympy.Expr
    after: sympy.Expr
    substeps: tuple["Step", ...] = ()
    verified: bool = False
    note: str = ""
    quantity: sympy.Expr | None = None
    middle: sympy.Expr | None = None
    where: tuple[tuple[sympy.Symbol, sympy.Expr], ...] = ()
    rule_args: tuple[sympy.Expr, ...] = ()

    @property
    def is_rewrite(self) -> bool:
        """A rewrite restates an expression; a rule step evaluates a derivative."""
        return not isinstance(self.before, Derivative)

    def title(self, show: Callable[[sympy.Expr], str] = str) -> str:
        """The rule's name with its slots filled, each expression shown by `show`."""
        return self.rule.format(*(show(a) for a in self.rule_args))

    def walk(self) -> Iterator["Step"]:
        """This step and every step below it, parents first."""
        yield self
        for sub in self.substeps:
            yield from sub.walk()


class DoesNotApply(InternalError):
    """A rule or rewrite was asked about an expression it does not cover."""


class Fresh(sympy.Symbol):
    """A name the chain rule introduces for an inner function: u₁, u₂, … never reused."""


class Engine(Protocol):
    """What a rule may ask of the engine that drives it (derive.py)."""

    def d(self, expr: sympy.Expr, var: sympy.Symbol) -> Step: ...
    def apply(self, rule: "Rule", expr: sympy.Expr, var: sympy.Symbol) -> Step: ...
    def depends(self, expr: sympy.Expr, var: sympy.Symbol) -> bool: ...
    def fresh(self) -> Fresh: ...
    def through_definitions(self, expr: sympy.Expr, var: sympy.Symbol) -> tuple: ...


class Rule:
    """A differentiation rule; `derive(expr, var, engine)` gives the Step for d expr/d var."""

    name: ClassVar[str] = ""
    note: ClassVar[str] = ""  # said wherever the rule is used, e.g. its convention at a kink

    def derive(self, expr: sympy.Expr, var: sympy.Symbol, engine: Engine) -> Step:
        raise NotImplementedError

    def step(self, expr, var, after, substeps=(), **extra) -> Step:
        extra.setdefault("note", self.note)
        return Step(self.name, Derivative(expr, var), after, tuple(substeps), **extra)

    def refuse(self, expr, var) -> DoesNotApply:
        return DoesNotApply(f"the {self.name} does not apply to d/d{var} of {expr}")


# ---------------------------------------------------------------- structure


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


# ---------------------------------------------------------------- functions of one inner expression


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


# ---------------------------------------------------------------- kinks


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


# ---------------------------------------------------------------- index calculus


class ElementRule(Rule):
    """∂w_k/∂w_j = δ_jk, the Kronecker delta (1 when k = j, else 0); for a matrix
    ∂W_lm/∂W_jk = δ_jl·δ_km: each element is a parameter of its own."""

    name = "element rule"

    def derive(self, expr, var, engine):
        if not (isinstance(expr, Indexed) and isinstance(var, Indexed) and expr.base == var.base):
            raise self.refuse(expr, var)
        return self.step(expr, var, Mul(*(KroneckerDelta(j, k) for j, k in zip(var.indices, expr.indices))))


class ElementSumRule(Rule):
    """∂/∂w_j Σ_k f_k = Σ_k ∂f_k/∂w_j, then Σ_k δ_jk·g_k = g_j: the derivative moves inside a
    sum over elements, and a Kronecker delta keeps the one term where k = j."""

    name = "sum over elements"

    def derive(self, expr, var, engine):
        if not isinstance(expr, sympy.Sum):
            raise self.refuse(expr, var)
        # Σ over several indices (sum(A) of a matrix) is Σ over the last of Σ over the others.
        *inner_limits, outer = expr.limits
        body = sympy.Sum(expr.function, *inner_limits) if inner_limits else expr.function
        inner = engine.d(body, var)
        summed = sympy.Sum(inner.after, outer)
        after = collapse_deltas(summed)
        return self.step(expr, var, after, (inner,), middle=sympy.Sum(Derivative(body, var), outer),
                         note=_delta_note(summed))


def _delta_note(summed: sympy.Sum) -> str:
    k = summed.limits[0][0]
    deltas = [d for d in summed.function.atoms(KroneckerDelta) if k in d.args]
    other = next((a for d in deltas for a in d.args if a != k), None)
    return f"the Kronecker delta keeps only the term {k} = {other}" if other is not None else ""


# ---------------------------------------------------------------- the samples and the definitions


class LinearityRule(Rule):
    """d/dθ (1/N)Σᵢ fᵢ = (1/N)Σᵢ ∂fᵢ/∂θ, and likewise for Σᵢ: a mean or a sum over the
    samples is linear, and the data are constants."""

    name = "linearity"

    def derive(self, expr, var, engine):
        if not isinstance(expr, (mean, Sum)):
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


FUNCTION_RULES: dict[type, FunctionRule] = {
    rule.function: rule for rule in (
        ExpRule(), LogRule(), SinRule(), CosRule(), TanRule(), AsinRule(), AcosRule(), AtanRule(),
        SinhRule(), CoshRule(), TanhRule(), SigmoidRule(), SoftplusRule(), AbsRule())}
KINK_RULES: dict[type, MaxRule] = {sympy.Max: MaxRule(), sympy.Min: MinRule()}

CONSTANT, VARIABLE, LINEARITY = ConstantRule(), VariableRule(), LinearityRule()
ELEMENT, ELEMENT_SUM = ElementRule(), ElementSumRule()
THROUGH_DEFINITIONS = ThroughDefinitionsRule()
SUM, DIFFERENCE, CONSTANT_MULTIPLE = SumRule(), DifferenceRule(), ConstantMultipleRule()
PRODUCT, QUOTIENT = ProductRule(), QuotientRule()
POWER, SQRT, EXPONENTIAL, GENERAL_POWER = PowerRule(), SqrtRule(), ExponentialRule(), GeneralPowerRule()


def outer_or_chain(outer: OuterRule, inner: sympy.Expr, var) -> Rule:
    """The outer rule itself when its argument is θ, otherwise the chain rule around it."""
    return outer if inner == var else ChainRule(outer)


def rule_for(expr: sympy.Expr, var: sympy.Symbol, engine: Engine, through: bool) -> Rule:
    """The rule a person would reach for, from the shape of the expression.

    `through` says the expression uses definitions (the model, a `let`) that depend on θ.
    """
    if not engine.depends(expr, var):
        return CONSTANT
    if expr == var:
        return VARIABLE
    if isinstance(expr, (mean, Sum)):
        return LINEARITY
    if through:
        return THROUGH_DEFINITIONS
    if isinstance(expr, sympy.Sum):
        return ELEMENT_SUM
    if isinstance(expr, Indexed):
        return ELEMENT
    if expr.is_Add:
        return DIFFERENCE if any(t.could_extract_minus_sign() for t in expr.args) else SUM
    if expr.is_Mul:
        const, rest = split_constant(expr, var, engine)
        if const != 1:
            return CONSTANT_MULTIPLE
        num, den = numerator_denominator(rest)
        return QUOTIENT if den != 1 and engine.depends(num, var) else PRODUCT
    if expr.is_Pow:
        if engine.depends(expr.exp, var):
            if engine.depends(expr.base, var):
                return GENERAL_POWER
            return outer_or_chain(EXPONENTIAL, expr.exp, var)
        return outer_or_chain(SQRT if expr.exp == S.Half else POWER, expr.base, var)
    if type(expr) in FUNCTION_RULES:
        return outer_or_chain(FUNCTION_RULES[type(expr)], expr.args[0], var)
    if type(expr) in KINK_RULES:
        return KINK_RULES[type(expr)]
    raise InternalError(f"no differentiation rule for {type(expr).__name__}: {expr}")
