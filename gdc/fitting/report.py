"""What a fit tells the user: the text report, the JSON object, and the files it writes."""

from __future__ import annotations

import json
import math
import os
import re
import textwrap
from typing import TYPE_CHECKING, Iterable

import numpy as np

from gdc.io.files import guard_output, write_atomic
from .accuracy import training_accuracy
from gdc.io.params_file import PARAMS_FORMAT, load_params   # noqa: F401  (read where it is written)

if TYPE_CHECKING:   # FitResult's __str__ renders through this module
    from .problem import FitResult, Problem



# --- text --------------------------------------------------------------------------------------

def _table(rows: Iterable[tuple[str, str]], indent: str = "  ", columns: int = 92) -> str:
    """Keys in one column, values beside them, long values wrapped under themselves."""
    rows = list(rows)
    width = max(len(key) for key, _ in rows)
    hang = indent + " " * (width + 2)
    lines = []
    for key, value in rows:
        wrapped = textwrap.wrap(value, max(30, columns - len(hang)), break_on_hyphens=False) or [""]
        lines.append(f"{indent}{key:<{width}}  {wrapped[0]}")
        lines.extend(hang + more for more in wrapped[1:])
    return "\n".join(lines)


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "(none)"


def _declared(name: str, shape: tuple) -> str:
    """`w[10]`, `W[32, 10]`, or the bare name of a scalar."""
    return f"{name}[{', '.join(map(str, shape))}]" if shape else name


def _data_shapes(problem: Problem) -> dict[str, tuple]:
    """Each data name's shape, sizes resolved (the columns fix them)."""
    return {name: tuple(column.shape[1:]) for name, column in zip(problem.kernels.data_names, problem.data)}


def _data_entry(name: str, column: str, shape: tuple) -> str:
    """`x ← height`; a vector's columns as a range, `x[10] ← x1 … x10`, or as --map writes them."""
    if not shape:
        return name if column == name else f"{name} ← {column}"
    columns = column.split(":")
    if len(columns) > 2 and not _mapped(name, column, shape):
        return f"{_declared(name, shape)} ← {columns[0]} … {columns[-1]}"
    if len(columns) > 4:
        columns = columns[:2] + ["…", columns[-1]]
    return f"{_declared(name, shape)} ← {':'.join(columns)}"


def _mapped(name: str, column: str, shape: tuple) -> bool:
    if not shape:
        return column != name
    return not all(re.fullmatch(re.escape(name) + r"_?[0-9]+", c) for c in column.split(":"))


def preamble(problem: Problem, options) -> str:
    """Before the fit: which names are parameters, which are data and why, and the method."""
    k = problem.kernels
    layout = problem.params_layout
    shown = dict(zip(layout.names, (_declared(n, shape) for n, shape in zip(layout.names, layout.shapes))))
    where = os.path.basename(problem.source) if problem.source != "<arrays>" else "the arrays"
    outside = [shown[name] for name in k.param_names if name not in problem.columns]
    inside = [shown[name] for name in k.param_names if name in problem.columns]
    params_why = []
    if outside:
        params_why.append(f"{', '.join(outside)} (not {'a column' if len(outside) == 1 else 'columns'} "
                          f"of {where})")
    if inside:
        params_why.append(f"{', '.join(inside)} (declared `param`, although {where} has such columns)")
    shapes = _data_shapes(problem)
    data_why = [_data_entry(name, column, shapes[name]) for name, column in zip(k.data_names, problem.columns)]
    mapped = any(_mapped(name, column, shapes[name]) for name, column in zip(k.data_names, problem.columns))
    rows = [("parameters", "; ".join(params_why)),
            ("data", _listing(data_why) + (f" (columns of {where}{', by --map' if mapped else ''})"
                                           if data_why else ""))]
    if layout.shaped:
        sources = dict(k.sizes)
        sizes = [f"{name} = {value}" + (f" (the columns of {sources[name][0]})" if name in sources else "")
                 for name, value in layout.sizes]
        rows.append(("sizes", "; ".join(sizes + [f"{layout.size} parameter values in all"])))
    if problem.unused:
        rows.append(("unused", _listing(problem.unused)))
    rows.append(("rows", f"{problem.n_rows}" + (f" ({problem.dropped} rows with NaN or inf dropped)"
                                                 if problem.dropped else "")))
    from .method import choose_method
    from .options import METHODS
    chosen, why = choose_method(problem.flat_kernels, options)
    method = chosen + (" (nesterov)" if options.nesterov else "")
    if not METHODS[chosen].takes_rate:
        name = METHODS[chosen].label
        rows.append(("method", f"{'auto: ' if why else ''}{chosen} ({name}" + (f"; {why})" if why else ")")))
    else:
        rate = f"lr {options.lr:g}" if options.lr is not None else "step size chosen automatically"
        rows.append(("method", f"{'auto: ' if why else ''}{method}, {rate}" + (f" ({why})" if why else "")))
    model = problem.model_source or "the model"
    return f"fitting {model} to {problem.source}\n" + _table(rows)


def result_text(result: FitResult) -> str:
    """The fitted parameters and how the fit went, as an aligned table."""
    lines = []
    if not result.reason.failed:
        lines.extend(_params_table(result))
        lines.append("")
    lines.append(_table(summary_rows(result)))
    from .uncertainty import uncertainty_lines
    lines.extend(uncertainty_lines(result))
    return "\n".join(lines)


def summary_rows(result: FitResult) -> list[tuple[str, str]]:
    """How the fit went, as (key, value) rows: the loss, the statistics, the method, why it stopped."""
    from .options import METHODS
    stats = result.stats
    if result.method in METHODS and not METHODS[result.method].takes_rate:
        how = result.method + (f" (auto: {result.method_note})" if result.method_note else "")
        count = ("iterations", f"{result.iterations}")
    else:
        rate = "chosen by gdc" if result.lr is None else f"{result.lr:.4g}"
        if result.lr_note:
            rate += f" ({result.lr_note})"
        elif result.schedule != "constant":
            rate += f", schedule {result.schedule}"
        how = f"{result.method}, lr {rate}" + (f" (auto: {result.method_note})" if result.method_note else "")
        count = ("epochs", f"{result.iterations}" + (f" ({result.updates} updates)"
                                                     if result.updates != result.iterations else ""))
    rows = [("loss", f"{result.loss:.10g}")]
    problem = result.problem
    if problem is not None and problem.sigma_column is not None:
        rows.append(("sigma", f"residuals divided by column {problem.sigma_column}; the covariance "
                              + ("is (JᵀJ)⁻¹ (absolute_sigma)" if problem.absolute_sigma
                                 else "is scaled by χ²/(N − p) (relative sigma)")))
    accuracy = training_accuracy(result)
    if accuracy is not None:
        rows.append(("accuracy", f"{accuracy:.4%} of the {result.n_rows} training rows (the most probable class)"))
    if stats is not None and not result.reason.failed:
        rows += [("RSS", f"{stats.rss:.10g} (residual sd {stats.sigma:.4g}, {stats.dof} degrees of freedom)"),
                 ("condition", f"{stats.condition:.3g} (of the scaled JᵀJ)")]
        rows += [("warning", note) for note in stats.warnings]
    rows += [("note", note) for note in result.notes]
    rows += [
        ("gradient norm", f"{result.grad_norm:.3g}" + (" (projected onto the bounds)" if result.held else "")),
        count,
        ("method", how),
        ("stopped", result.message),
        *([("advice", result.advice)] if result.advice else []),
        ("time", f"{result.seconds:.3g} s" + (f" (and {result.load_seconds:.2g} s to load the kernels)"
                                              if result.load_seconds >= 0.05 else "")),
    ]
    return rows


# A shaped parameter of at most this many elements is listed element by element.
LISTED_ELEMENTS = 10


def parameter_rows(result: FitResult) -> list[tuple[str, str, str | None, bool]]:
    """(name, value, standard error or None, listed): one row per scalar parameter or element,
    values to 10 digits; a longer vector or matrix gets one row (listed False): its first
    values and its norm. An element a box held (fixed, at a bound) has, instead of an error,
    "— (fixed)" or "— at lower bound 0"."""
    stats = result.stats
    errors = [f"{e:.4g}" for e in stats.std_errors] if stats is not None else None
    if result.held and any(result.held):
        errors = [(f"— ({why})" if why == "fixed" else f"— {why}") if why else
                  (errors[j] if errors else "") for j, why in enumerate(result.held)]
    rows: list[tuple[str, str, str | None, bool]] = []
    at = 0
    for name, value in result.params.items():
        if not isinstance(value, np.ndarray):
            rows.append((name, f"{value:.10g}", errors[at] if errors else None, True))
            at += 1
        elif value.size <= LISTED_ELEMENTS:
            for index in np.ndindex(*value.shape):
                rows.append((f"{name}[{', '.join(map(str, index))}]", f"{value[index]:.10g}",
                             errors[at] if errors else None, True))
                at += 1
        else:
            rows.append((_declared(name, value.shape), _summary(name, value), None, False))
            at += value.size
    return rows


def _params_table(result: FitResult) -> list[str]:
    """The parameter rows aligned, standard errors beside them."""
    rows = parameter_rows(result)
    errors = result.stats is not None or any(result.held)
    width = max(len(name) for name in [*(r[0] for r in rows), "parameter"])
    right = max([len(v) for _, v, _, listed in rows if listed] + [len("value")])
    lines = [f"  {'parameter':<{width}}  {'value':>{right}}" + ("  standard error" if errors else "")]
    for name, value, error, listed in rows:
        if not listed:
            lines.append(f"  {name:<{width}}  {value}")
        else:
            lines.append(f"  {name:<{width}}  {value:>{right}}" + (f"  {error}" if errors else ""))
    return lines


def _summary(name: str, value: np.ndarray) -> str:
    first = ", ".join(f"{v:.4g}" for v in value.ravel()[:4])
    return f"{first}, … ({value.size} values, ‖{name}‖ = {np.linalg.norm(value):.6g})"


def _plain(value):
    """A parameter's value for JSON: a number, or nested lists for a shaped one."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value] if value.ndim > 1 else [_number(float(v)) for v in value]
    return _number(value)


def _plain_params(result: FitResult) -> dict:
    return {name: _plain(value) if isinstance(value, np.ndarray) else value
            for name, value in result.params.items()}


def _element_names(result: FitResult) -> tuple[str, ...]:
    if result.layout is not None:
        return result.layout.element_names
    return tuple(result.params)


def _number(value: float) -> float | None:
    """JSON has no NaN or inf: those become null."""
    return value if math.isfinite(value) else None


def result_json(result: FitResult) -> dict:
    """The report as one JSON-ready object."""
    failed = result.reason.failed
    return {
        "params": None if failed else _plain_params(result),
        **({"sizes": dict(result.layout.sizes)} if result.layout is not None and result.layout.sizes else {}),
        "loss": _number(result.loss),
        **({"accuracy": accuracy} if (accuracy := training_accuracy(result)) is not None else {}),
        "iterations": result.iterations,
        "converged": result.converged,
        "certified": result.certified,
        "reason": result.reason,
        "message": result.message,
        "seconds": result.seconds,
        "method": result.method,
        "lr": result.lr,
        "lr_auto": result.lr_note is not None,
        "lr_note": result.lr_note,
        "schedule": result.schedule,
        "grad_norm": _number(result.grad_norm),
        "updates": result.updates,
        "n_rows": result.n_rows,
        "model_hash": result.model_hash,
        "method_auto": result.method_note,
        **({"advice": result.advice} if result.advice else {}),
        **({"gap": result.gap} if math.isfinite(result.gap) else {}),
        **({"notes": list(result.notes)} if result.notes else {}),
        **({"held": {name: why for name, why in zip(_element_names(result), result.held) if why}}
           if any(result.held) else {}),
        **_stats_json(result),
    }


def _stats_json(result: FitResult) -> dict:
    s = result.stats
    if s is None or result.reason.failed:
        return {}
    from .uncertainty import uncertainty_json
    return {"rss": _number(s.rss), "dof": s.dof, "residual_sd": _number(s.sigma),
            "std_errors": dict(zip(_element_names(result), (_number(e) for e in s.std_errors))),
            "condition": _number(s.condition), "warnings": list(s.warnings), **uncertainty_json(result)}


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False)


# --- files -------------------------------------------------------------------------------------

def params_document(result: FitResult, problem: Problem) -> dict:
    """What `--save` writes and `gdc predict` reads back."""
    k = problem.kernels
    return {
        "format": PARAMS_FORMAT,
        "model": problem.model_source,
        "model_hash": problem.model_hash,
        "kernels_hash": k.model_hash,
        "params": _plain_params(result),
        **({"sizes": dict(problem.params_layout.sizes)} if problem.params_layout.sizes else {}),
        "data_names": list(k.data_names),
        "input_names": list(k.input_names),
        "columns": dict(zip(k.data_names, problem.columns)),
        "classified_by": {"names": list(problem.classified_by[0]), "origin": problem.classified_by[1]},
        "loss": _number(result.loss),
        "converged": result.converged,
        "method": result.method,
        # The model itself when it has no file, and the whole report: gdc.load_result reads both.
        **({"model_text": problem.model_text} if problem.model_source is None and problem.model_text else {}),
        "fit": result_json(result),
    }


def save_params(path: str | os.PathLike, result: FitResult, problem: Problem) -> None:
    out = guard_output(path, [problem.model_source, problem.source], "--save")
    write_atomic(out, dumps(params_document(result, problem)) + "\n")


def history_csv(result: FitResult, param_names: tuple[str, ...]) -> str:
    """The loss per epoch (epoch 0 is the initial parameters); parameters too when recorded."""
    return "".join(history_lines(result, param_names))


def history_lines(result: FitResult, param_names: tuple[str, ...], rows: int = 1 << 16) -> Iterable[str]:
    """`history_csv` in pieces of `rows` lines, for writing as they come: two million epochs
    as one string (and its numbers as text) took 1.6 GB."""
    header = ["epoch", "loss"]
    if result.path is not None:
        header += list(result.layout.element_names if result.layout is not None else param_names)
    yield ",".join(header) + "\n"
    for start in range(0, len(result.history), rows):
        stop = min(start + rows, len(result.history))
        columns = [np.arange(start, stop).astype(str), result.history[start:stop].astype(str)]
        if result.path is not None:
            columns += [result.path[start:stop, j].astype(str) for j in range(result.path.shape[1])]
        yield "".join(",".join(row) + "\n" for row in zip(*columns))


def predictions_csv(names: list[str], columns: list[np.ndarray]) -> str:
    lines = [",".join(names)]
    lines.extend(",".join(row) for row in zip(*(c.astype(str) for c in columns)))
    return "\n".join(lines) + "\n"


def sweep_text(results: list[FitResult]) -> str:
    """One line per learning rate: epochs to converge, 'diverged', or where it stopped."""
    rows = sweep_rows(results)
    widths = [max(len(row[j]) for row in rows) for j in range(4)]
    lines = []
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(w) if j < 2 else cell.rjust(w)
                                      for j, (cell, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines)


def sweep_rows(results: list[FitResult]) -> list[tuple[str, str, str, str]]:
    """The header, then (lr, outcome, epochs, final loss) per rate."""
    rows = [("lr", "outcome", "epochs", "final loss")]
    for r in results:
        if r.reason == "diverged":
            outcome, loss = f"diverged (epoch {r.iterations})", "-"
        elif r.reason.failed:
            outcome, loss = str(r.reason), "-"
        elif r.converged:
            outcome, loss = "converged", f"{r.loss:.6g}"
        elif r.reason == "interrupted":
            outcome, loss = "interrupted", f"{r.loss:.6g}"
        else:
            outcome, loss = f"not converged ({r.reason})", f"{r.loss:.6g}"
        rows.append((f"{r.lr:g}", outcome, str(r.iterations), loss))
    return rows
