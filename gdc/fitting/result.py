"""What a person does with a FitResult from Python: values by parameter name, predictions for
new data (found by name as the fit found its columns), the `--save` file, the pictures."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from gdc.errors import GdcError

if TYPE_CHECKING:   # problem.py's FitResult calls in here, so this module imports it only for types
    from .problem import DataIn, FitResult, Problem


def _problem(result: FitResult, what: str) -> Problem:
    if result.problem is None:
        raise GdcError(f"this result has no model and data attached, so it cannot {what}",
                       where="FitResult", hint="results of gdc.fit and gdc.load_result can")
    return result.problem


def by_name(result: FitResult, values: Sequence[float]) -> dict[str, float | np.ndarray]:
    """One value per element of the flat parameter vector, regrouped by parameter name."""
    if result.layout is not None:
        return result.layout.unflatten(np.asarray(values, dtype=np.float64))
    return {name: float(v) for name, v in zip(result.params, values)}


def predict(result: FitResult, data: DataIn, mapping: Mapping[str, str] | None) -> np.ndarray:
    """The prediction for each row: each model input from the column of its name, or the column
    the fit used (`x ← height`), or the one `mapping` names (as `--map`)."""
    from gdc.io.arrays import select
    from gdc.io.data import bound_columns, gather
    from gdc.io.frames import checked_rows

    problem = _problem(result, "predict")
    k = problem.kernels
    inputs = k.input_names
    shapes = {name: shape for name, shape in zip(k.data_names, k.data_shapes or ()) if shape}
    given = _inputs_mapping(k, mapping)
    names = data.names
    fitted = {name: column for name, column in zip(k.data_names, problem.columns)
              if name in inputs and name not in given and name not in names and column != name
              and all(part in names for part in column.split(":"))}
    if data.table is not None:
        bound = bound_columns(data.table, inputs, {**fitted, **given}, shapes)
        chosen = gather(data.table, bound, shapes)
        if data.frame_drop is not None:
            chosen, _ = checked_rows(chosen, bound, False, data.source)
    else:
        chosen = select(data.columns, inputs, {**{n: c for n, c in fitted.items() if ":" not in c}, **given})
    arrays = [np.ascontiguousarray(chosen[name], dtype=np.float64) for name in inputs]
    known = dict(result.layout.sizes) if result.layout is not None else {}
    layout = k.layout(dict(zip(inputs, arrays)), data.source, known=known)
    return k.predict(layout.flatten(result.params, "FitResult.params"), *arrays)


def _inputs_mapping(kernels, mapping: Mapping[str, str] | None) -> dict[str, str]:
    """The user's mapping, less the names that are not inputs (the target of the fit's mapping)."""
    mapping = dict(mapping or {})
    for name in mapping:
        if name not in kernels.data_names:
            raise GdcError(f"mapping={{{name!r}: ...}}: the model has no data named {name!r}",
                           where="predict", hint=f"the model's inputs: {', '.join(kernels.input_names)}")
    return {name: column for name, column in mapping.items() if name in kernels.input_names}


def save(result: FitResult, path: str | os.PathLike) -> None:
    from .report import save_params
    if result.reason == "diverged":
        raise GdcError("a diverged fit has no parameters to save", where=os.fspath(path))
    save_params(path, result, _problem(result, "be saved"))


def plot(result: FitResult, path: str | os.PathLike | None):
    from .plot import Picture, fit_figure, plot_fit
    problem = _problem(result, "be drawn")
    if path is not None:
        plot_fit(result, problem, path)
        return None
    return Picture(fit_figure(result, problem))
