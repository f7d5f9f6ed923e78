"""The report's uncertainty sections: the correlation table, the confidence intervals, and their JSON."""

from __future__ import annotations

import math

import numpy as np

MAX_CORRELATION_TABLE = 10   # parameter values shown in the text report's correlation table


def _names(result) -> tuple[str, ...]:
    return result.layout.element_names if result.layout is not None else tuple(result.params)


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def correlation_table(result) -> tuple[list[str], list[tuple[str, list[float]]]] | None:
    """The lower triangle of the correlation matrix over the parameter values a box leaves free,
    when there are 2 to MAX_CORRELATION_TABLE of them: (the columns' names, then each row's name
    with its correlations to the columns before it); None otherwise. Text and HTML print it."""
    correlation = result.correlation if not result.reason.failed else None
    names = _names(result)
    held = result.held or ("",) * len(names)   # fixed or at a bound: no standard error, no interval
    free = [k for k, why in enumerate(held) if not why]
    if correlation is None or not 2 <= len(free) <= MAX_CORRELATION_TABLE:
        return None
    rows = [(names[k], [float(correlation[k, free[j]]) for j in range(i)]) for i, k in enumerate(free[1:], start=1)]
    return [names[k] for k in free[:-1]], rows


def uncertainty_lines(result) -> list[str]:
    """The correlation table (2 to MAX_CORRELATION_TABLE parameter values) and the intervals."""
    lines = []
    names = _names(result)
    held = result.held or ("",) * len(names)
    table = correlation_table(result)
    if table is not None:
        columns, rows = table
        width = max(len(n) for n in (*columns, *(name for name, _ in rows), "correlation"))
        lines += ["", f"  {'correlation':<{width}}  " + "  ".join(f"{n:>6}" for n in columns)]
        for name, cells in rows:
            lines.append(f"  {name:<{width}}  " + "  ".join(f"{value:>6.3f}" for value in cells))
    found = result.intervals
    if found is not None and not result.reason.failed:
        width = max(len(n) for n in names)
        lines += ["", f"  {found.describe()}"]
        for name, low, high, why in zip(names, found.low, found.high, held):
            lines.append(f"  {name:<{width}}  " + (f"none: {why}" if why else f"[{low:.10g}, {high:.10g}]"))
    return lines


def uncertainty_json(result) -> dict:
    """covariance and correlation (nested lists, rows in `names` order), sigma and intervals."""
    out = {}
    if result.problem is not None and result.problem.sigma_column is not None:
        out.update(sigma=result.problem.sigma_column, absolute_sigma=result.problem.absolute_sigma)
    elif result.stats is not None and getattr(result.stats, "absolute_sigma", False):
        out.update(absolute_sigma=True)
    if result.covariance is not None and not result.reason.failed:
        out["covariance"] = [[_number(v) for v in row] for row in result.covariance]
        out["correlation"] = [[_number(v) for v in row] for row in result.correlation]
    found = result.intervals
    if found is not None and not result.reason.failed:
        names = _names(result)
        out["intervals"] = {"level": found.level, "method": found.how, "dof": found.dof,
                            "low": dict(zip(names, map(_number, found.low))),
                            "high": dict(zip(names, map(_number, found.high)))}
    return out


def restored(fit: dict, names: tuple[str, ...]):
    """The covariance (or None) and the intervals (or None) a saved report holds."""
    from .intervals import Intervals
    covariance = None
    if fit.get("covariance") is not None:
        covariance = np.array([[math.nan if v is None else v for v in row] for row in fit["covariance"]],
                              dtype=np.float64)
    intervals = None
    if fit.get("intervals"):
        saved = fit["intervals"]
        value = (lambda side, n: math.inf * (1 if side == "high" else -1) if saved[side].get(n) is None
                 else float(saved[side][n]))
        intervals = Intervals(float(saved["level"]), saved["method"], tuple(value("low", n) for n in names),
                              tuple(value("high", n) for n in names), int(saved.get("dof", 0)))
    return covariance, intervals
