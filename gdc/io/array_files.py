"""Binary data files: .npy (a structured array, or a plain one with names given), .npz, Parquet."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from gdc.errors import GdcError
from .formats import Read, check_names, float64, record


def _numeric(values, shown: str, name: str) -> np.ndarray:
    """One column as float64, refusing text, objects and multi-dimensional fields."""
    if not isinstance(values, np.ndarray):
        raise GdcError(f"member {name!r} is not an array (it holds {type(values).__name__})", where=shown,
                       hint="an .npz file holds arrays saved by np.savez")
    if values.dtype.kind not in "biuf":
        raise GdcError(f"column {name!r} holds {values.dtype} values, not numbers", where=shown)
    if values.ndim != 1:
        raise GdcError(f"column {name!r} has shape {values.shape}; a column must be 1-D",
                       where=shown)
    return float64(values)


def _load_numpy(file: Path, shown: str) -> np.ndarray | np.lib.npyio.NpzFile:
    """np.load without pickles, with a GdcError for a file NumPy cannot read."""
    try:
        return np.load(file, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as e:
        raise GdcError(f"the file is not a valid {file.suffix} file ({e})", where=shown) from None


def read_npy(file: Path, shown: str, names: Sequence[str] | None) -> Read:
    """A structured array names its own columns; a plain one needs `names`."""
    array = _load_numpy(file, shown)
    if not isinstance(array, np.ndarray):
        raise GdcError("the file is an .npz archive, not an .npy array", where=shown,
                       hint="rename it to .npz")
    if array.dtype.names:
        if names is not None:
            raise GdcError("the file holds a structured array that names its own columns; "
                           "do not pass column names", where=shown)
        fields = check_names(list(array.dtype.names), shown, None)
        return fields, [_numeric(array[field], shown, field) for field in fields], record
    if names is None:
        raise GdcError(f"the file holds a plain array of shape {array.shape} with no column names",
                       where=shown, hint="save a structured array (fields named like the model's "
                       "data) or an .npz file: np.savez('data.npz', x=x, y=y)")
    names = check_names([name.strip() for name in names], shown, None)
    width = array.shape[1] if array.ndim == 2 else 1 if array.ndim == 1 else None
    if width != len(names):
        raise GdcError(f"the array has shape {array.shape}, but {len(names)} column names "
                       "were given", where=shown, hint="give one name per column of a 2-D array")
    columns = [array] if array.ndim == 1 else list(array.T)
    return names, [_numeric(column, shown, name) for name, column in zip(names, columns)], record


def read_npz(file: Path, shown: str, _names: object) -> Read:
    """Each array of the archive is one column, named by its key."""
    archive = _load_numpy(file, shown)
    if isinstance(archive, np.ndarray):
        raise GdcError("the file is an .npy array, not an .npz archive", where=shown,
                       hint="rename it to .npy")
    with archive:
        names = check_names(list(archive.files), shown, None)
        try:
            arrays = [archive[name] for name in names]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as e:
            raise GdcError(f"the file is not a valid .npz file ({e})", where=shown) from None
    return names, [_numeric(a, shown, name) for name, a in zip(names, arrays)], record


def read_parquet(file: Path, shown: str, _names: object) -> Read:
    """Numeric Parquet columns as float64; a null becomes NaN (refused unless dropped).

    Integers past 2^53 become the nearest float64, as the same number in a CSV file would."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:   # the names first: read_table refuses a name used twice as 'Multiple matches for FieldRef'
        check_names(list(pq.read_schema(file).names), shown, None)
        table = pq.read_table(file)
    except (pa.ArrowException, OSError) as e:
        raise GdcError(f"the file is not a valid Parquet file ({e})", where=shown) from None
    names = list(table.column_names)
    columns = []
    for name, column in zip(names, table.columns):
        kind = column.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
                or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
            raise GdcError(f"column {name!r} holds {kind} values, not numbers", where=shown)
        try:
            columns.append(float64(column.cast(pa.float64(), safe=False).to_numpy()))
        except pa.ArrowException as e:
            raise GdcError(f"column {name!r} cannot be read as numbers ({e})", where=shown) from None
    return names, columns, record
