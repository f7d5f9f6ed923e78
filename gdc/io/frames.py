"""DataFrames in (pandas, polars, a pyarrow Table, or any frame pyarrow can read): a Table whose
columns are converted to float64 only when the model uses them, without a copy where a column
already is float64.

pandas and polars are never imported here unless the object given is theirs: a frame is
recognised by its type's module name, and converted through its own methods. A column the
model does not use is never converted, so a frame may hold text columns beside the numbers;
the rows are checked for NaN and inf in the columns the model uses only (`checked_rows`).
"""

from __future__ import annotations

from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from gdc.errors import GdcError
from .data import Table

_KINDS = {"pandas": "DataFrame", "polars": "DataFrame", "pyarrow": "Table"}


def frame_kind(data) -> str | None:
    """'pandas', 'polars', 'pyarrow' or 'arrow' (another frame pyarrow reads); None for a non-frame."""
    cls = type(data)
    package = cls.__module__.split(".")[0]
    if package in _KINDS and cls.__name__ in ("DataFrame", "Table", "RecordBatch"):
        return package
    if package == "polars" and cls.__name__ == "LazyFrame":
        raise GdcError("a polars LazyFrame holds no data yet", where="gdc.fit",
                       hint="pass frame.collect()")
    if isinstance(data, (str, bytes, Mapping, np.ndarray)):
        return None
    if hasattr(cls, "__arrow_c_stream__") or hasattr(data, "__dataframe__"):
        return "arrow"
    return None


def frame_table(data, kind: str) -> Table:
    """The frame as a Table of named columns, each converted on first use."""
    if kind == "arrow":
        data, kind = _through_arrow(data), "pyarrow"
    where = f"<{kind} {type(data).__name__}>"
    if kind == "pandas":
        names = [str(name) for name in data.columns]
        raw = dict(zip(names, data.columns))
        getter = _pandas_column(data, raw)
    elif kind == "polars":
        names = list(data.columns)
        getter = _polars_column(data)
    else:
        names = list(data.column_names)
        getter = _arrow_column(data)
    _unique(names, where)
    n_rows = len(data) if kind != "pyarrow" else data.num_rows
    if not names:
        raise GdcError("the frame has no columns", where=where)
    if not n_rows:
        raise GdcError("the frame has no rows", where=where)
    return Table(where, tuple(names), LazyColumns(names, getter, where), n_rows, 0)


class LazyColumns(Mapping):
    """Column name -> float64 array, converted (and kept) when first asked for."""

    def __init__(self, names: Sequence[str], getter: Callable[[str], np.ndarray], where: str):
        self._names = tuple(names)
        self._getter = getter
        self._where = where
        self._done: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._done:
            if name not in self._names:
                raise KeyError(name)
            self._done[name] = self._getter(name)
        return self._done[name]

    def __contains__(self, name) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _unique(names: list[str], where: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise GdcError(f"two columns are named {name!r}", where=where,
                           hint="column names must be unique; rename one")
        seen.add(name)


def _not_numbers(name: str, dtype, where: str) -> GdcError:
    return GdcError(f"column {name!r} holds {dtype} values, not numbers", where=where,
                    hint="convert it to numbers, or leave it out of the model")


def _pandas_column(frame, raw: Mapping[str, object]) -> Callable[[str], np.ndarray]:
    import pandas as pd   # the frame is pandas', so pandas is already loaded

    def column(name: str) -> np.ndarray:
        series = frame[raw[name]]
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype) or (pd.api.types.is_numeric_dtype(dtype)
                                                 and not pd.api.types.is_complex_dtype(dtype)):
            if isinstance(dtype, np.dtype):   # a view when the column is float64 already
                return series.to_numpy(dtype=np.float64)
            return series.to_numpy(dtype=np.float64, na_value=np.nan)   # nullable: NA is NaN
        raise _not_numbers(name, dtype, f"<pandas {type(frame).__name__}>")
    return column


def _polars_column(frame) -> Callable[[str], np.ndarray]:
    def column(name: str) -> np.ndarray:
        series = frame.get_column(name)
        if not (series.dtype.is_numeric() or str(series.dtype) == "Boolean"):
            raise _not_numbers(name, series.dtype, f"<polars {type(frame).__name__}>")
        values = series.to_numpy()   # a view of a float64 column without nulls; a null is NaN
        return values.astype(np.float64, copy=False)
    return column


def _arrow_column(table) -> Callable[[str], np.ndarray]:
    import pyarrow as pa

    def column(name: str) -> np.ndarray:
        values = table.column(name)
        kind = values.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
                or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
            raise _not_numbers(name, kind, f"<pyarrow {type(table).__name__}>")
        if not pa.types.is_float64(kind):
            values = values.cast(pa.float64())
        if isinstance(values, pa.ChunkedArray) and values.num_chunks == 1:
            values = values.chunk(0)   # one chunk without nulls converts without a copy
        array = values.to_numpy(zero_copy_only=False) if isinstance(values, pa.Array) else values.to_numpy()
        return array.astype(np.float64, copy=False)
    return column


def _through_arrow(data):
    """A frame of another library, as a pyarrow Table (the Arrow stream, or the interchange protocol)."""
    import pyarrow as pa
    try:
        if hasattr(type(data), "__arrow_c_stream__"):
            return pa.table(data)
        from pyarrow.interchange import from_dataframe
        return from_dataframe(data)
    except (TypeError, ValueError, NotImplementedError, pa.ArrowException) as e:
        raise GdcError(f"cannot read this {type(data).__name__} as a table of columns: {e}",
                       where="gdc.fit", hint="pass a pandas DataFrame or a dict of arrays") from None


def checked_rows(chosen: dict[str, np.ndarray], bound: Mapping[str, Sequence[str]], drop: bool,
                 where: str) -> tuple[dict[str, np.ndarray], int]:
    """The model's columns with the rows holding NaN or inf refused (or dropped when `drop`),
    naming the frame's column and the row (counted from 0, as iloc counts)."""
    finite = np.logical_and.reduce([np.isfinite(a).reshape(len(a), -1).all(axis=1) for a in chosen.values()])
    if finite.all():
        return chosen, 0
    if not drop:
        row = int(np.argmin(finite))
        name = next(n for n, a in chosen.items() if not np.isfinite(a[row]).all())
        value = np.atleast_1d(chosen[name][row])
        element = int(np.argmin(np.isfinite(value)))
        column = bound[name][element]
        kind = "NaN" if np.isnan(value[element]) else "infinite"
        raise GdcError(f"column {column!r} is {kind} in row {row} (counting from 0)",
                       where=where, hint="pass drop_nonfinite=True to skip such rows")
    kept = {n: a[finite] for n, a in chosen.items()}
    if not len(finite) - int((~finite).sum()):
        raise GdcError(f"all {len(finite)} rows hold NaN or inf; none are left", where=where)
    return kept, int((~finite).sum())
