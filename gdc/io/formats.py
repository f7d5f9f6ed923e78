"""What every data-file reader shares: the shape of its result, its hints, and column-name checks."""

from __future__ import annotations

from typing import Callable

import numpy as np

from gdc.errors import GdcError

FORMATS_HINT = "gdc reads .csv (a header line, then numbers), .npy, .npz and .parquet files"
UTF8_HINT = "save the file as UTF-8 (\"CSV UTF-8\" in spreadsheet programs)"

# (record index, column index) -> (row to report, cell text or None when there is no text)
Locate = Callable[[int, int], tuple[int, str | None]]
# What each format's reader returns: column names, float64 columns, and how to locate a cell.
Read = tuple[list[str], list[np.ndarray], Locate]


def float64(values: np.ndarray) -> np.ndarray:
    """The array as C-contiguous, writable float64, copying only when it must."""
    return np.require(values, np.float64, ["C", "W"])


def record(index: int, _j: int) -> tuple[int, None]:
    """Binary formats have no lines: report the 1-based record number."""
    return index + 1, None


def check_names(names: list[str], shown: str, row: int | None) -> list[str]:
    """Column names must be non-empty, unique, and one line each (a position names the culprit)."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, 1):
        if not name:
            trailing = " (is there a trailing comma?)" if position == len(names) > 1 else ""
            raise GdcError(f"column {position} has an empty name{trailing}", where=shown, row=row,
                           hint="give every column a name in the header line")
        if name in seen:
            raise GdcError(f"column {position} is named {name!r}, like column {seen[name]}",
                           where=shown, row=row, hint="column names must be unique; rename one")
        if "\n" in name or "\r" in name:
            raise GdcError(f"column {position}'s name spans several lines", where=shown, row=row)
        seen[name] = position
    return names
