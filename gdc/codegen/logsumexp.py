"""The kernels' log-sum-exp of a vector: the max shift first, so that no exp overflows (issue 14)."""

from __future__ import annotations

import sympy

from gdc.errors import InternalError


def lse_loops(f, body: sympy.Expr, m: sympy.Symbol, sizes: dict) -> sympy.Expr:
    """logsumexpₘ(body) = M + log Σₘ exp(body − M), M = maxₘ body, into a scalar temp of the
    loops.Function f: two loops over m. A softmax's log-sum-exp is one number per sample."""
    if f.free(body, sizes) - {m}:
        raise InternalError("codegen: a log-sum-exp with free indices")
    value = f.hoist(body, frozenset({m}), sizes)
    shift, total, lse = f.new_scalar(), f.new_scalar(), f.new_scalar()
    f.flush()
    # The first element starts the max (-inf would need a name the module check refuses).
    f.emit(f"{f.names[shift]} = {f.text(value.xreplace({m: sympy.S.Zero}))}", f.depth)
    f.loops((m,), sizes, f.depth)
    f.emit(f"{f.names[shift]} = max({f.names[shift]}, {f.text(value)})", f.depth + 1)
    f.emit(f"{f.names[total]} = 0.0", f.depth)
    f.loops((m,), sizes, f.depth)
    f.values([(f.names[total], "+=", sympy.exp(value - shift))], f.depth + 1)
    f.emit(f"{f.names[lse]} = {f.names[shift]} + _log({f.names[total]})", f.depth)
    return lse
