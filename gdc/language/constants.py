"""A model's named constants: the `let NAME = NUMBER` lines (a penalty's weight, say), which a
caller such as a scikit-learn grid search may set to other values. A new value is written as a
number literal in place of the old one, by its span; the text is then compiled as any other."""

from __future__ import annotations

import math
from typing import Mapping

from gdc.errors import GdcError, Span
from . import ir
from .lower import lower


def constants(text: str, where: str = "<string>") -> dict[str, float]:
    """Each named constant's value, in the order of the model text."""
    return {name: value for name, (value, _) in _found(text, where).items()}


def with_constants(text: str, values: Mapping[str, float], where: str = "<string>") -> str:
    """The model text with the constants in `values` set to them; an unknown name is an error."""
    found = _found(text, where)
    edits = []
    for name, value in values.items():
        if name not in found:
            raise GdcError(f"the model has no constant {name!r} (a `let {name} = NUMBER` line)",
                           where=where, hint=f"its constants: {', '.join(found) or '(none)'}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise GdcError(f"the constant {name!r} must be a number, not {value!r}", where=where) from None
        if not math.isfinite(number):
            raise GdcError(f"the constant {name!r} must be finite, not {number}", where=where)
        edits.append((found[name][1], repr(number)))
    starts = _line_starts(text)
    for span, literal in sorted(edits, key=lambda edit: (edit[0].line, edit[0].col), reverse=True):
        start = starts[span.line - 1] + span.col - 1
        end = starts[span.end_line - 1] + span.end_col - 1
        text = text[:start] + f"({literal})" + text[end:]   # brackets keep a negative value one term
    return text


def _found(text: str, where: str) -> dict[str, tuple[float, Span]]:
    """name -> (value, span of the number, its sign included)."""
    found = {}
    for statement in lower(text, where).statements:
        if isinstance(statement, ir.Let):
            value = _number(statement.expr)
            if value is not None:
                found[statement.name] = (value, statement.expr.span)
    return found


def _number(expr) -> float | None:
    if isinstance(expr, ir.Num):
        return float(expr.value)
    if isinstance(expr, ir.Neg) and isinstance(expr.operand, ir.Num):
        return -float(expr.operand.value)
    return None


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts
