"""The bounds of a parameter, `param k = 0.5 in (0, inf)`, checked (part of the check stage):
ends that are numbers, inf or -inf, in order around some number, with the start inside."""

from __future__ import annotations

import math

from . import ir
from .limits import constant_value
from .vocabulary import CONSTANTS, FUNCTIONS
from .walk import walk
from gdc.runtime.intervals import Interval, end_text


def checked_bounds(item: ir.ParamItem, init: float | None, error) -> Interval | None:
    """The parameter's bounds, checked: ends in the right order around some number, and the
    start inside them (a vector or matrix without a value is drawn inside them at run time)."""
    b = item.bounds
    if b is None:
        return None
    lower, upper = _end(item, b.lower, error), _end(item, b.upper, error)
    interval = Interval(lower, upper, b.lower_open, b.upper_open)
    if lower == math.inf or upper == -math.inf:
        side, end = ("lower", b.lower) if lower == math.inf else ("upper", b.upper)
        raise error(f"the {side} bound of `{item.name}` cannot be {end_text(lower if side == 'lower' else upper)}",
                    end.span, "write -inf for no lower bound and inf for no upper bound")
    if lower > upper:
        raise error(f"the bounds of `{item.name}` are reversed: the lower end {end_text(lower)} is "
                    f"above the upper end {end_text(upper)}", b.span,
                    f"write `in {Interval(upper, lower, b.lower_open, b.upper_open).text()}`")
    if lower == upper:
        if interval.empty:
            raise error(f"the interval {interval.text()} of `{item.name}` holds no value", b.span,
                        "an open end leaves its number out; the lower end must be below the upper")
        raise error(f"the interval {interval.text()} of `{item.name}` holds a single value", b.span,
                    f"to hold `{item.name}` at {end_text(lower)}, give it that value and fit "
                    f"with --fix {item.name}={end_text(lower)}")
    start = 0.0 if init is None and not item.shape else init
    if start is None or interval.contains(start):
        return interval
    if item.init is not None:
        raise error(f"the initial value {start:g} of `{item.name}` is outside its bounds "
                    f"{interval.text()}", item.init.span, "give a start inside the bounds")
    raise error(f"`{item.name}` has no initial value, so it would start at 0, outside its "
                f"bounds {interval.text()}", item.name_span,
                f"give it a start inside them, e.g. `param {item.name} = {end_text(interval.inside())} "
                f"in {interval.text()}`")


def _end(item: ir.ParamItem, expr: ir.Expr, error) -> float:
    """An end's value: a number (or constant expression), inf or -inf."""
    if isinstance(expr, ir.Var) and expr.name == "inf":
        return math.inf
    if isinstance(expr, ir.Neg) and isinstance(expr.operand, ir.Var) and expr.operand.name == "inf":
        return -math.inf
    for node in walk(expr):
        if isinstance(node, ir.Var) and node.name not in CONSTANTS:
            raise error(f"a bound of `{item.name}` must be a number, inf or -inf, not `{node.name}`",
                        node.span)
        if isinstance(node, (ir.Call, ir.Element)) and getattr(node, "func", None) not in FUNCTIONS:
            raise error(f"a bound of `{item.name}` must be a number, inf or -inf", node.span)
    try:
        value = constant_value(expr)
    except (ArithmeticError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise error(f"a bound of `{item.name}` is not a finite number", expr.span,
                    "write inf or -inf (alone) for no bound on that side")
    return value
