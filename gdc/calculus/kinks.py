"""Where a loss has kinks: the parameters inside an abs, max or min (where the derivation puts sign
and Heaviside), for the runtime's choice of method (the generated module's KINKS)."""

from __future__ import annotations

import sympy

KINKED = (sympy.Abs, sympy.Max, sympy.Min, sympy.sign, sympy.Heaviside)


def kinked_parameters(loss: sympy.Expr, params) -> tuple[str, ...]:
    """The names of the parameters (symbols or IndexedBases, in their order) that occur inside
    a kinked function of the loss."""
    inside: set[str] = set()
    for node in loss.atoms(*KINKED):
        inside |= {symbol.name for symbol in node.free_symbols if isinstance(symbol, sympy.Symbol)}
        inside |= {element.base.label.name for element in node.atoms(sympy.Indexed)}
    names = [p.label.name if isinstance(p, sympy.IndexedBase) else p.name for p in params]
    return tuple(name for name in names if name in inside)
