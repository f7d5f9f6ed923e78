"""Differentiation rules as data: one small class per rule, stating it and computing its result.

A rule builds an unverified `Step`; the engine in calculus/derive.py chooses the rule with
`rule_for`, checks the result against sympy.diff and marks the step verified. A rule asked about
an expression it does not cover raises `DoesNotApply`; it never returns None. Printing lives in
gdc/explain/. The rules by kind: `structure` (constants, sums, products, quotients, the samples,
the definitions), `functions` (f(u), powers, the chain rule, the kinks of max/min) and
`elements` (the index calculus of vectors and matrices).
"""

from __future__ import annotations

import sympy
from sympy import Indexed, S

from gdc.errors import InternalError
from ..functions import SampleReduction, where
from .base import DoesNotApply, Engine, Fresh, Rule, Step
from .elements import ElementRule, ElementSumRule
from ..catalog import BY_NAME, ENTRIES
from .functions import (ArgumentsRule, ChainRule, ExponentialRule, FunctionRule, GeneralPowerRule, MaxRule, MinRule, OuterRule,
                        PowerRule, SqrtRule, WhereRule)
from .structure import (ConstantMultipleRule, ConstantRule, DifferenceRule, LinearityRule, ProductRule,
                        QuotientRule, SumRule, ThroughDefinitionsRule, VariableRule, numerator_denominator,
                        ordered_terms, split_constant)

__all__ = ['ArgumentsRule', 'ChainRule', 'ConstantMultipleRule', 'ConstantRule', 'DifferenceRule', 'DoesNotApply',
           'ElementRule', 'ElementSumRule', 'Engine', 'ExponentialRule', 'Fresh', 'FunctionRule',
           'GeneralPowerRule', 'LinearityRule', 'MaxRule', 'MinRule', 'OuterRule', 'PowerRule',
           'ProductRule', 'QuotientRule', 'Rule', 'SqrtRule', 'Step', 'SumRule',
           'ThroughDefinitionsRule', 'VariableRule', 'WhereRule', 'numerator_denominator', 'ordered_terms',
           'split_constant', 'rule_for', 'outer_or_chain', 'FUNCTION_RULES', 'KINK_RULES']

# One rule per function of the catalog that has a derivative (sqrt is a power: the sqrt rule).
FUNCTION_RULES: dict[type, FunctionRule] = {e.cls: FunctionRule(e) for e in ENTRIES if e.derivative}
# The rules of functions of several arguments: max and min, where, and those whose entry gives partials.
KINK_RULES: dict[type, Rule] = {sympy.Max: MaxRule(), sympy.Min: MinRule(),
                                where: WhereRule(BY_NAME["where"])} | \
    {e.cls: ArgumentsRule(e) for e in ENTRIES if e.partials}

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
    if isinstance(expr, SampleReduction):
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
