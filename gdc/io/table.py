"""A data file in: the reader its extension names, then the checks every format shares (named
float64 columns of one length, no NaN or inf unless dropped).

Errors are `GdcError`s that name the file and, where there is one, the row and column.
`row` is counted as the user sees it: for CSV it is the 1-based line of the file (the
header is line 1, so the first data row is normally line 2; blank lines are skipped but
still counted); for .npy, .npz and Parquet it is the 1-based record number.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from gdc.errors import GdcError
from .array_files import read_npy, read_npz, read_parquet
from .csv_reader import read_csv
from .files import special_file
from .formats import FORMATS_HINT, Locate

_DROP = "pass --drop-nonfinite to skip such rows"

_READERS = {".csv": read_csv, ".npy": read_npy, ".npz": read_npz, ".parquet": read_parquet, ".pq": read_parquet}


@dataclass(frozen=True, slots=True, eq=False)
class Table:
    """Named float64 columns read from one file; `dropped` counts rows skipped for NaN/inf."""

    path: str
    names: tuple[str, ...]
    columns: dict[str, np.ndarray]
    n_rows: int
    dropped: int


def read_table(path: str | os.PathLike, *, drop_nonfinite: bool = False,
               names: Sequence[str] | None = None) -> Table:
    """Read a data file; `names` labels the columns of a plain (unstructured) .npy array only."""
    shown = os.fspath(path)
    file = Path(shown)
    _check_file(file, shown)
    suffix = file.suffix.lower()
    if suffix not in _READERS:
        raise GdcError(f"unknown data file type {suffix or '(no extension)'!r}", where=shown,
                       hint=FORMATS_HINT)
    if names is not None and suffix != ".npy":
        raise GdcError(f"{suffix} files name their own columns; column names are only "
                       "needed for a plain .npy array", where=shown)
    try:
        found, columns, locate = _READERS[suffix](file, shown, names)
    except OSError as e:
        raise GdcError(f"cannot read the file: {e.strerror or e}", where=shown) from None
    return _build(shown, found, columns, drop_nonfinite, locate)


def _check_file(file: Path, shown: str) -> None:
    """Refuse a missing path or a directory before any reader sees it."""
    if file.is_dir():
        raise GdcError("this is a directory, not a data file", where=shown, hint=FORMATS_HINT)
    if not file.exists():
        siblings = [p.name for p in file.parent.glob("*")] if file.parent.is_dir() else []
        close = difflib.get_close_matches(file.name, siblings, n=1)
        hint = (f"did you mean {str(file.with_name(close[0]))!r}?" if close
                else None if file.is_absolute() else f"the path is relative to {os.getcwd()}")
        raise GdcError("no such file", where=shown, hint=hint)
    special = special_file(file)
    if special is not None:
        raise GdcError(f"this is {special}, not a data file", where=shown,
                       hint="gdc reads its data from a file, to check it before any fit starts")


def _build(shown: str, names: Sequence[str], columns: list[np.ndarray], drop: bool,
           locate: Locate) -> Table:
    """Check the columns line up, then refuse (or drop) rows holding NaN or inf."""
    if not columns:
        raise GdcError("the file holds no columns", where=shown, hint=FORMATS_HINT)
    for name, column in zip(names, columns):
        if len(column) != len(columns[0]):
            raise GdcError(f"column {name!r} has {len(column)} values, but column "
                           f"{names[0]!r} has {len(columns[0])}", where=shown,
                           hint="every column needs one value per row")
    if len(columns[0]) == 0:
        raise GdcError("the file has no data rows", where=shown)
    finite = np.isfinite(columns[0])
    for column in columns[1:]:
        finite &= np.isfinite(column)
    dropped = 0
    if not finite.all():
        if not drop:
            raise _nonfinite_error(shown, names, columns, int(np.argmin(finite)), locate)
        columns = [column[finite] for column in columns]
        dropped = len(finite) - len(columns[0])
        if len(columns[0]) == 0:
            raise GdcError(f"all {dropped} rows hold NaN, inf or an empty cell; none are left",
                           where=shown)
    return Table(shown, tuple(names), dict(zip(names, columns)), len(columns[0]), dropped)


def _nonfinite_error(shown: str, names: Sequence[str], columns: list[np.ndarray], index: int,
                     locate: Locate) -> GdcError:
    """Say which cell of record `index` is NaN, inf or empty."""
    j = next(j for j, column in enumerate(columns) if not np.isfinite(column[index]))
    row, text = locate(index, j)
    kind = "NaN" if np.isnan(columns[j][index]) else "infinite"
    what = ("the cell is empty" if text == "" else f"{text!r} is {kind}" if text is not None
            else f"the value is {kind}")
    return GdcError(f"{what}; {_DROP}", where=shown, row=row, column=names[j])
