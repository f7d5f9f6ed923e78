"""Rules of the index calculus: an element of a vector or matrix parameter, and sums over elements."""

from __future__ import annotations

import sympy
from sympy import Derivative, Indexed, KroneckerDelta, Mul

from ..indexed import collapse_deltas
from .base import Rule


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
