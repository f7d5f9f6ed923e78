"""Symbolic model to second-order information: the least-squares form, ∂²J/∂θⱼ∂θₖ, and their display.

Both the kernels (codegen.py) and `gdc derive --hessian` take their second derivatives from
here. The first derivatives are the derivation's partials (codegen.gradient_exprs); each
second derivative is sympy.diff of a partial, checked by verify.compare (the one oracle of
every derivation step) against sympy.diff(sympy.diff(J)).
A loss is least squares when it is c·Σᵢ rᵢ² or c·mean(rᵢ²) with a constant c > 0; then
the Gauss–Newton matrix 2c·Σᵢ ∂r/∂θⱼ ∂r/∂θₖ (mean: 2c/N·Σ) approximates the Hessian.
Weighted residuals count too: Σ W·(y − Y)² is Σ (√W·(y − Y))² and mean((y − Y)²/dY²) is
mean(((y − Y)/dY)²), a factor free of parameters (a weight W, an error dY⁻²) entering the
residual as its square root; the form found is checked against the loss (verify.compare), and
a weight that is negative on the data makes the residual NaN there, which the fit detects.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from gdc.errors import InternalError
from gdc.runtime.limits import MAX_SECOND_ORDER  # noqa: F401 (the compiler's side of the limit)
from .functions import SampleReduction, SampleSum, mean
from .kinks import almost_everywhere
from .symbolic import SymbolicModel
from .verify import Verdict, compare


@dataclass(frozen=True)
class LeastSquares:
    """loss = scale·Σᵢ residual² (is_mean: scale/N·Σᵢ); `residual` is per sample."""

    residual: sympy.Expr
    scale: sympy.Expr
    is_mean: bool

    def jacobian(self, params) -> tuple[sympy.Expr, ...]:
        return tuple(almost_everywhere(sympy.diff(self.residual, p)) for p in params)


def least_squares_form(loss: sympy.Expr, params=()) -> LeastSquares | None:
    """The residual when the (expanded) loss is a positive constant times mean/sum of a square,
    or of a square times factors free of `params` (weights, see the module's docstring)."""
    scale, rest = loss.as_coeff_Mul()
    if not isinstance(rest, SampleReduction) or not scale.is_positive:
        return None
    body = rest.args[0]
    factor, product = body.as_coeff_Mul()
    if not factor.is_positive:
        return None
    if isinstance(product, sympy.Pow) and product.exp == 2:
        return LeastSquares(product.base, scale * factor, isinstance(rest, mean))
    residual = _weighted_residual(product, params)
    if residual is None or compare(factor * residual ** 2, body) is not Verdict.EQUAL:
        return None
    return LeastSquares(residual, scale * factor, isinstance(rest, mean))


def _weighted_residual(product: sympy.Expr, params) -> sympy.Expr | None:
    """r with r² = product, for a product of even powers (at least one holding a parameter) and
    of factors free of parameters (√ of those); None for any other product."""
    if not params or not isinstance(product, sympy.Mul):
        return None
    roots, squared = [], False
    for f in product.args:
        if isinstance(f, sympy.Pow) and f.exp.is_integer and f.exp.is_even:
            roots.append(f.base ** (f.exp / 2))
            squared = squared or f.base.has(*params)
        elif not f.has(*params):
            roots.append(sympy.sqrt(f))
        else:
            return None
    return sympy.Mul(*roots) if squared else None


def second_derivatives(sm: SymbolicModel, partials: dict) -> dict[tuple[int, int], sympy.Expr]:
    """∂²J/∂θⱼ∂θₖ for j ≤ k, as sympy.diff of the partial ∂J/∂θⱼ."""
    params = sm.params
    return {(j, k): almost_everywhere(sympy.diff(partials[params[j]], params[k]))
            for j in range(len(params)) for k in range(j, len(params))}


def printable(exprs) -> bool:
    """Whether every expression is free of what the kernels cannot print (unevaluated derivatives)."""
    return not any(e.has(sympy.Derivative, sympy.Subs, sympy.DiracDelta) for e in exprs)


# ------------------------------------------------------------------ the display (`derive --hessian`)

@dataclass(frozen=True)
class HessianReport:
    params: tuple[str, ...]
    entries: tuple[tuple[str, str, sympy.Expr], ...]           # (θⱼ, θₖ, ∂²J/∂θⱼ∂θₖ), j ≤ k
    gauss_newton: tuple[tuple[str, str, sympy.Expr], ...] | None
    undecided: frozenset[tuple[str, str]] = frozenset()        # entries not shown equal to sympy.diff


def hessian_report(sm: SymbolicModel, partials: dict) -> HessianReport:
    """Every second derivative, each verified against sympy.diff twice of the loss."""
    second = second_derivatives(sm, partials)
    names = tuple(p.name for p in sm.params)
    entries, undecided = [], set()
    for (j, k), value in second.items():
        oracle = almost_everywhere(sympy.diff(sm.loss, sm.params[j], sm.params[k]))
        verdict = compare(value, oracle)
        if verdict is Verdict.UNEQUAL:
            raise InternalError(f"∂²J/∂{names[j]}∂{names[k]} differs from sympy.diff: {value} vs {oracle}")
        if verdict is Verdict.UNDECIDED:
            undecided.add((names[j], names[k]))
        entries.append((names[j], names[k], value))
    form = least_squares_form(sm.loss, sm.params)
    gn = None
    if form is not None:
        jac = form.jacobian(sm.params)
        red = mean if form.is_mean else SampleSum
        gn = tuple((names[j], names[k], 2 * form.scale * red(jac[j] * jac[k]))
                   for j in range(len(names)) for k in range(j, len(names)))
    return HessianReport(names, tuple(entries), gn, frozenset(undecided))
