"""Data files to the model's data: which columns feed which names (`--map`, numbered vectors).

Reading a file is `gdc.io.table.read_table` (CSV in `csv_reader`, the binary formats in
`array_files`); this module binds a Table's columns to a model's data names.
"""

from __future__ import annotations

import difflib
import itertools
import re
from typing import Mapping, Sequence

import numpy as np

from gdc.errors import GdcError
from .table import Table, read_table

__all__ = ["Table", "read_table", "select_columns", "gather", "bound_columns", "vector_columns", "shorten",
           "parse_mapping"]   # reading lives in .table; callers have always found it here


def select_columns(table: Table, names: Sequence[str], mapping: Mapping[str, str] | None = None,
                   shapes: Mapping[str, tuple] | None = None) -> dict[str, np.ndarray]:
    """Map model data names to table columns; mapping is model_name -> header name (from
    `--map Y=weight,x=height`). A name with a shape in `shapes` (a data vector `x[d]`) gets
    a C-contiguous (N, d) float64 array of its columns (see `bound_columns`)."""
    return gather(table, bound_columns(table, names, mapping, shapes), shapes)


def gather(table: Table, bound: Mapping[str, Sequence[str]],
           shapes: Mapping[str, tuple] | None = None) -> dict[str, np.ndarray]:
    """The arrays of `bound_columns`' result: a scalar's column, or a vector's columns side
    by side as one C-contiguous (N, d) array."""
    shapes = shapes or {}
    return {name: np.ascontiguousarray(np.column_stack([table.columns[c] for c in columns]))
            if shapes.get(name) else table.columns[columns[0]] for name, columns in bound.items()}


def bound_columns(table: Table, names: Sequence[str], mapping: Mapping[str, str] | None = None,
                  shapes: Mapping[str, tuple] | None = None) -> dict[str, tuple[str, ...]]:
    """The table columns that feed each model data name: one for a scalar; for a vector, the
    columns given as `--map x=age:sex:bmi`, else those numbered x1, x2, … (`vector_columns`)."""
    mapping = dict(mapping or {})
    shapes = shapes or {}
    for name in mapping:
        if name not in names:
            raise GdcError(f"--map {name}=...: the model has no data named {name!r}",
                           where=table.path, hint=f"the model's data: {', '.join(names)}")
    bound = {}
    for name in names:
        shape = tuple(shapes.get(name, ()))
        if shape:
            bound[name] = _vector_for(table, name, shape, mapping)
        else:
            bound[name] = (_column_for(table, name, mapping),)
    return bound


def vector_columns(header: Sequence[str], name: str, where: str | None = None) -> list[str] | None:
    """The columns that make up data vector `name`: x1, x2, … (or x_1, …, x0, …, x_0, …), in
    the order of their numbers; None when the header has none. One numbering, consecutive,
    from 0 or 1: a mix or a gap is a GdcError naming the columns (`where`: the file)."""
    pattern = re.compile(re.escape(name) + r"(_?)([0-9]+)")
    found = [(match.group(1), int(match.group(2)), column) for column in header
             if (match := pattern.fullmatch(column))]
    if not found:
        return None
    listed = ", ".join(column for _, _, column in found)
    hint = f"number the columns {name}1, {name}2, … or choose them with --map {name}=COL1:COL2:…"
    if len({separator for separator, _, _ in found}) > 1:
        raise GdcError(f"the columns of the data vector {name!r} mix two numberings ({listed})",
                       where=where, hint=hint)
    found.sort(key=lambda item: item[1])
    numbers = [number for _, number, _ in found]
    for (_, a, first), (_, b, second) in itertools.pairwise(found):
        if a == b:
            raise GdcError(f"the columns {first} and {second} both number element {a} of the data "
                           f"vector {name!r}", where=where, hint=hint)
    if numbers[0] not in (0, 1):
        raise GdcError(f"the columns of the data vector {name!r} start at {found[0][2]}; "
                       f"they must start at {name}{found[0][0]}0 or {name}{found[0][0]}1",
                       where=where, hint=hint)
    missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    if missing:
        gap = ", ".join(f"{name}{found[0][0]}{m}" for m in missing[:5]) + (", …" if len(missing) > 5 else "")
        raise GdcError(f"the columns of the data vector {name!r} ({_short(found)}) skip {gap}",
                       where=where, hint=hint)
    return [column for _, _, column in found]


def _short(found) -> str:
    columns = [column for _, _, column in found]
    return ", ".join(columns) if len(columns) <= 6 else f"{', '.join(columns[:3])}, …, {columns[-1]}"


def shorten(columns: Sequence[str]) -> str:
    """x1, x2, …, x10: a long list of columns in a few words."""
    return ", ".join(columns) if len(columns) <= 4 else f"{columns[0]}, {columns[1]}, …, {columns[-1]}"


def _vector_for(table: Table, name: str, shape: tuple, mapping: Mapping[str, str]) -> tuple[str, ...]:
    """The columns of data vector `name`, checked against a fixed size."""
    declared = f"{name}[{', '.join(map(str, shape))}]"
    if name in mapping:
        given = mapping[name]
        columns = [given] if given in table.columns else [c.strip() for c in given.split(":")]
        for column in columns:
            if column not in table.columns:
                close = _close(column, table.names)
                fixed = ":".join(close if c == column else c for c in columns) if close else None
                raise GdcError(f"--map {name}={given}: the file has no column {column!r}",
                               where=table.path, hint=f"did you mean --map {name}={fixed}?" if close
                               else f"the file's columns: {', '.join(table.names)}")
        how = f"--map {name}={given} gives"
    else:
        found = vector_columns(table.names, name, table.path)
        if found is None:
            raise GdcError(f"the model's data vector {declared} has no columns in the file: "
                           f"none is named {name}1, {name}2, … (or {name}_1, {name}0, …)",
                           where=table.path,
                           hint=f"the file's columns: {', '.join(table.names)}; choose the columns "
                                f"with --map {name}=COL1:COL2:…")
        columns = found
        how = "the file has"
    size = shape[0]
    if isinstance(size, int) and size != len(columns):
        raise GdcError(f"the model's data {declared} needs {size} columns, but {how} "
                       f"{len(columns)} ({shorten(columns)})", where=table.path)
    return tuple(columns)


def parse_mapping(text: str) -> dict[str, str]:
    """Parse 'Y=weight,x=height' into {'Y': 'weight', 'x': 'height'}; clear GdcError on bad syntax.

    A data vector takes several columns, separated by colons: 'x=age:sex:bmi' (the comma
    already separates the pairs); the value stays one string, split by `bound_columns`."""
    example = "write MODEL_NAME=COLUMN pairs separated by commas, e.g. --map Y=weight,x=height"
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, column = (s.strip() for s in item.partition("="))
        if not equals or not name or not column:
            raise GdcError(f"{item!r} is not of the form NAME=COLUMN", where="--map", hint=example)
        if not name.isidentifier():
            raise GdcError(f"{name!r} is not a model data name (an identifier such as x or Y)",
                           where="--map", hint=example)
        if name in mapping:
            raise GdcError(f"{name!r} is mapped twice (to {mapping[name]!r} and {column!r})",
                           where="--map", hint="map each model data name once")
        mapping[name] = column
    return mapping


def _column_for(table: Table, name: str, mapping: Mapping[str, str]) -> str:
    """The table column that feeds model data `name`, or a GdcError that says how to fix it."""
    columns = f"the file's columns: {', '.join(table.names)}"
    if name in mapping:
        column = mapping[name]
        if column not in table.columns and ":" in column:
            raise GdcError(f"--map {name}={column}: {name!r} is one number per row, so it takes one "
                           "column (a colon list is for a data vector)", where=table.path)
        if column not in table.columns:
            raise GdcError(f"--map {name}={column}: the file has no column {column!r}",
                           where=table.path, hint=_did_you_mean(column, table.names, name) or columns)
        return column
    if name not in table.columns:
        raise GdcError(f"the model's data {name!r} has no column of that name in the file",
                       where=table.path,
                       hint=_did_you_mean(name, table.names, name)
                       or f"{columns}; pass --map {name}=COLUMN to choose one")
    return name


def _did_you_mean(wanted: str, columns: Sequence[str], name: str) -> str | None:
    """A `--map` suggestion for a column spelled like `wanted` (case or a typo apart)."""
    close = _close(wanted, columns)
    return f"did you mean --map {name}={close}?" if close else None


def _close(wanted: str, columns: Sequence[str]) -> str | None:
    same_case = [c for c in columns if c.lower() == wanted.lower()]
    close = same_case or difflib.get_close_matches(wanted, columns, n=1, cutoff=0.6)
    return close[0] if close else None
