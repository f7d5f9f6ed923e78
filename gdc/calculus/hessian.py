"""Symbolic model to second-order information: the least-squares form, ∂²J/∂θⱼ∂θₖ, and their display.

Both the kernels (codegen.py) and `gdc derive --hessian` take their second derivatives from
here. The first derivatives are the derivation's partials (codegen.gradient_exprs); each
second derivative is sympy.diff of a partial, checked by verify.compare (the one oracle of
every derivation step) against sympy.diff(sympy.diff(J)).
A loss is least squares when it is c·Σᵢ rᵢ² or c·mean(rᵢ²) with a constant c > 0; then
the Gauss–Newton matrix 2c·Σᵢ ∂r/∂θⱼ ∂r/∂θₖ (mean: 2c/N·Σ) approximates the Hessian.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from gdc.errors import InternalError
from gdc.runtime.limits import MAX_SECOND_ORDER  # noqa: F401 (the compiler's side of the limit)
from .functions import Sum, mean
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


def least_squares_form(loss: sympy.Expr) -> LeastSquares | None:
    """The residual when the (expanded) loss is a positive constant times mean/sum of a square."""
    scale, rest = loss.as_coeff_Mul()
    if not isinstance(rest, (mean, Sum)) or not scale.is_positive:
        return None
    body = rest.args[0]
    factor, square = body.as_coeff_Mul()
    if not (factor.is_positive and isinstance(square, sympy.Pow) and square.exp == 2):
        return None
    return LeastSquares(square.base, scale * factor, isinstance(rest, mean))


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
    form = least_squares_form(sm.loss)
    gn = None
    if form is not None:
        jac = form.jacobian(sm.params)
        red = mean if form.is_mean else Sum
        gn = tuple((names[j], names[k], 2 * form.scale * red(jac[j] * jac[k]))
                   for j in range(len(names)) for k in range(j, len(names)))
    return HessianReport(names, tuple(entries), gn, frozenset(undecided))
