"""Model text to its checked symbolic form and plan, kept per process: the plan (the derivation,
every step verified: seconds) then serves the CPU module and each CUDA module made from it (a
shaped model's, one per set of sizes). Both are immutable; a few models are kept."""

from __future__ import annotations

import functools

from gdc.calculus.symbolic import SymbolicModel, symbolic
from gdc.language.frontend import check_text
from .plan import Plan, plan


@functools.lru_cache(maxsize=8)
def symbolic_model(text: str, where: str, names: tuple[str, ...] | None, data_origin: str) -> SymbolicModel:
    """The text parsed, lowered, checked (its data `names`, or the naming rule's) and made sympy."""
    return symbolic(check_text(text, where, names, data_origin))


@functools.lru_cache(maxsize=8)
def planned(text: str, where: str, names: tuple[str, ...] | None, data_origin: str) -> Plan:
    """The plan of symbolic_model(...): what the kernels compute."""
    return plan(symbolic_model(text, where, names, data_origin))
