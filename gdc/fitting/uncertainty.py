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
        for k, (name, why) in enumerate(zip(names, held)):
            text, notes = interval_text(found, k, why)
            lines.append(f"  {name:<{width}}  {text}")
            lines += [f"  {'':<{width}}    {note}" for note in notes]
    return lines


def _end(value: float) -> str:
    return "unknown" if math.isnan(value) else f"{value:.10g}"


def interval_text(found, k: int, held: str = "") -> tuple[str, list[str]]:
    """Element k's interval as the report prints it, `[low, high]`, and what each end that is
    not a plain number is (the bound; unknown, and why); `none: why` for an element the box holds."""
    low_why, high_why = found.notes(k)
    if low_why.startswith("none: "):
        return low_why, []
    if held and not (low_why or high_why):   # a saved report from before the notes
        return f"none: {held}", []
    text = f"[{_end(found.low[k])}, {_end(found.high[k])}]"
    return text, [f"{side} end: {why}" for side, why in (("low", low_why), ("high", high_why)) if why]


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
        notes = {name: {side: why for side, why in zip(("low", "high"), found.notes(k)) if why}
                 for k, name in enumerate(names) if any(found.notes(k))}
        if notes:   # an end that is null here with a note is unknown (or none); null without one is ±inf
            out["intervals"]["notes"] = notes
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
        notes = saved.get("notes") or {}
        why = {side: tuple(str(notes.get(n, {}).get(side, "")) for n in names) for side in ("low", "high")}

        def value(side: str, k: int, n: str) -> float:
            if saved[side].get(n) is not None:
                return float(saved[side][n])
            return math.nan if why[side][k] else math.inf * (1 if side == "high" else -1)

        intervals = Intervals(float(saved["level"]), saved["method"],
                              tuple(value("low", k, n) for k, n in enumerate(names)),
                              tuple(value("high", k, n) for k, n in enumerate(names)), int(saved.get("dof", 0)),
                              why["low"] if notes else (), why["high"] if notes else ())
    return covariance, intervals
