"""Named arrays in (a mapping of names to arrays, as `gdc.fit` takes them): checked float64 columns."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from gdc.errors import GdcError


def columns_of(data: Mapping, drop_nonfinite: bool) -> tuple[dict[str, np.ndarray], int]:
    """A mapping of names to numeric arrays, one row per sample (1-D, or 2-D (N, d) for a
    data vector), as float64 arrays of one length."""
    if not isinstance(data, Mapping) or not data:
        hint = ("a tuple or list has no names: pass a dict, e.g. {'x': x, 'Y': Y}"
                if isinstance(data, (tuple, list)) else None)
        raise GdcError("data must be a file path, a DataFrame (pandas, polars, pyarrow) or a "
                       "non-empty mapping of names to arrays (1-D, or 2-D with one row per "
                       "sample for a data vector)", where="gdc.fit", hint=hint)
    columns: dict[str, np.ndarray] = {}
    for name, values in data.items():
        what = f"data[{name!r}] must be a 1-D array of numbers (2-D, one row per sample, for a data vector)"
        try:
            array = _array(values)
        except ValueError as exc:   # rows of different lengths: numpy's 'inhomogeneous shape'
            raise GdcError(f"{what}; numpy cannot make one of it: {str(exc).split('.')[0]}", where="gdc.fit") from None
        if array.dtype.kind not in "biuf" or array.ndim not in (1, 2):
            raise GdcError(f"{what}, not {array.dtype} of shape {array.shape}", where="gdc.fit")
        columns[str(name)] = np.ascontiguousarray(array, dtype=np.float64)
    lengths = {name: len(a) for name, a in columns.items()}
    if len(set(lengths.values())) != 1:
        raise GdcError(f"the data columns differ in length: {lengths}", where="gdc.fit")
    if not next(iter(lengths.values())):
        raise GdcError("the data has no rows", where="gdc.fit")
    if all(np.isfinite(np.sum(a)) for a in columns.values()):
        return columns, 0   # a NaN or ±inf anywhere makes the sum NaN or ±inf (one pass, no mask)
    finite = np.logical_and.reduce([np.isfinite(a).reshape(len(a), -1).all(axis=1)
                                    for a in columns.values()])
    if finite.all():
        return columns, 0
    if not drop_nonfinite:
        row = int(np.argmin(finite))
        bad = next(n for n, a in columns.items() if not np.isfinite(a[row]).all())
        raise GdcError(f"data[{bad!r}][{row}] is {columns[bad][row]}", where="gdc.fit",
                       hint="pass drop_nonfinite=True to skip such rows")
    return {n: a[finite] for n, a in columns.items()}, int((~finite).sum())


def _array(values) -> np.ndarray:
    """The values as an array; a masked array's masked entries as NaN (np.asarray would keep
    the values under the mask, and fit to them)."""
    if np.ma.isMaskedArray(values) and np.ma.getmaskarray(values).any():
        return np.ma.filled(values.astype(np.float64), np.nan)
    return np.asarray(values)


def select(columns: dict[str, np.ndarray], names, mapping: Mapping[str, str]) -> dict[str, np.ndarray]:
    chosen = {}
    for name in names:
        key = mapping.get(name, name)
        if key not in columns:
            raise GdcError(f"the model's data {name!r} is not among the data's keys "
                           f"({', '.join(columns)})", where="gdc.fit",
                           hint=f"pass mapping={{{name!r}: KEY}} to choose one")
        chosen[name] = columns[key]
    return chosen
