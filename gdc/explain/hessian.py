"""The second derivatives (`gdc derive --hessian`) as text and JSON."""

from __future__ import annotations

import sympy

from gdc.calculus.functions import PerSample, mean
from gdc.calculus.derivation import UNDECIDED
from gdc.calculus.hessian import HessianReport
from .text import UnicodePrinter, unicode_name


def _shown(expr: sympy.Expr) -> str:
    """Unicode math, as in the rest of the derivation; the mean of a constant is that constant."""
    expr = expr.replace(lambda e: isinstance(e, mean) and not e.atoms(PerSample), lambda e: e.args[0])
    return UnicodePrinter().doprint(expr)


def hessian_text(report: HessianReport) -> str:
    lines = ["", "Second derivatives (∂²J/∂θⱼ∂θₖ, each checked against sympy.diff):", ""]
    lines += [f"  ∂²J/∂{unicode_name(a)}∂{unicode_name(b)} = {_shown(v)}"
              + (f" — {UNDECIDED}" if (a, b) in report.undecided else "") for a, b, v in report.entries]
    if report.gauss_newton is not None:
        lines += ["", "The loss is a sum of squared residuals r; the Gauss–Newton approximation "
                  "(what --method lm uses) drops the terms in r·∂²r:", ""]
        lines += [f"  ∂²J/∂{unicode_name(a)}∂{unicode_name(b)} ≈ {_shown(v)}" for a, b, v in report.gauss_newton]
    return "\n".join(lines) + "\n"


def hessian_json(report: HessianReport) -> dict:
    return {"entries": [{"wrt": [a, b], "value": sympy.sstr(v), "verified": (a, b) not in report.undecided}
                        for a, b, v in report.entries],
            "gauss_newton": None if report.gauss_newton is None else
            [{"wrt": [a, b], "value": sympy.sstr(v)} for a, b, v in report.gauss_newton]}
