"""Where a loss has kinks: the parameters inside an abs, max, min, relu, clip, where, hypot or sign
(where the derivation puts sign and Heaviside), for the runtime's choice of method (the generated
module's KINKS); and the convention that a kink's derivative is 0 wherever it exists."""

from __future__ import annotations

import sympy

from .functions import clip, hypot, relu, where

KINKED = (sympy.Abs, sympy.Max, sympy.Min, sympy.sign, sympy.Heaviside, relu, clip, where, hypot)


def almost_everywhere(expr: sympy.Expr) -> sympy.Expr:
    """The derivative of a jump (sign, Heaviside) is 0 wherever it exists: sympy's DiracDelta → 0.

    This is the kink convention (sign′ = 0, H′ = 0) applied to what sympy.diff returns, so
    that the oracle, the Hessian and the least-squares Jacobian speak of the same function."""
    if not expr.has(sympy.DiracDelta):
        return expr
    return expr.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)


def kinked_parameters(loss: sympy.Expr, params) -> tuple[str, ...]:
    """The names of the parameters (symbols or IndexedBases, in their order) that occur inside
    a kinked function of the loss."""
    inside: set[str] = set()
    for node in loss.atoms(*KINKED):
        inside |= {symbol.name for symbol in node.free_symbols if isinstance(symbol, sympy.Symbol)}
        inside |= {element.base.label.name for element in node.atoms(sympy.Indexed)}
    names = [p.label.name if isinstance(p, sympy.IndexedBase) else p.name for p in params]
    return tuple(name for name in names if name in inside)
