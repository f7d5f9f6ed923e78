"""Read tabular data files (CSV, .npy, .npz, Parquet) into named float64 columns.

Errors are `GdcError`s that name the file and, where there is one, the row and column.
`row` is counted as the user sees it: for CSV it is the 1-based line of the file (the
header is line 1, so the first data row is normally line 2; blank lines are skipped but
still counted); for .npy, .npz and Parquet it is the 1-based record number.

CSV is parsed by pyarrow's multi-threaded reader (see benchmarks/bench_csv.py for why);
when pyarrow rejects a file, a slow cell-by-cell reader runs instead to find the line and
column to blame. The slow reader defines what is accepted; the fast one is only faster.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import itertools
import math
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from gdc.errors import GdcError

_FORMATS_HINT = "gdc reads .csv (a header line, then numbers), .npy, .npz and .parquet files"
_DROP = "pass --drop-nonfinite to skip such rows"

_UTF8_HINT = "save the file as UTF-8 (\"CSV UTF-8\" in spreadsheet programs)"

# (record index, column index) -> (row to report, cell text or None when there is no text)
Locate = Callable[[int, int], tuple[int, str | None]]
# What each format's reader returns: column names, float64 columns, and how to locate a cell.
Read = tuple[list[str], list[np.ndarray], Locate]


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
                       hint=_FORMATS_HINT)
    if names is not None and suffix != ".npy":
        raise GdcError(f"{suffix} files name their own columns; column names are only "
                       "needed for a plain .npy array", where=shown)
    try:
        found, columns, locate = _READERS[suffix](file, shown, names)
    except OSError as e:
        raise GdcError(f"cannot read the file: {e.strerror or e}", where=shown) from None
    return _build(shown, found, columns, drop_nonfinite, locate)


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


def _check_file(file: Path, shown: str) -> None:
    """Refuse a missing path or a directory before any reader sees it."""
    if file.is_dir():
        raise GdcError("this is a directory, not a data file", where=shown, hint=_FORMATS_HINT)
    if not file.exists():
        siblings = [p.name for p in file.parent.glob("*")] if file.parent.is_dir() else []
        close = difflib.get_close_matches(file.name, siblings, n=1)
        hint = (f"did you mean {str(file.with_name(close[0]))!r}?" if close
                else None if file.is_absolute() else f"the path is relative to {os.getcwd()}")
        raise GdcError("no such file", where=shown, hint=hint)


def _build(shown: str, names: Sequence[str], columns: list[np.ndarray], drop: bool,
           locate: Locate) -> Table:
    """Check the columns line up, then refuse (or drop) rows holding NaN or inf."""
    if not columns:
        raise GdcError("the file holds no columns", where=shown, hint=_FORMATS_HINT)
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


def _check_names(names: list[str], shown: str, row: int | None) -> list[str]:
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


# --- CSV ---------------------------------------------------------------------------------

_SMALL_CSV = 256 * 1024  # bytes


def _read_csv(file: Path, shown: str, _names: object) -> Read:
    """Header by the csv module, body by pyarrow, and the slow reader when pyarrow objects."""
    _check_text(file, shown)
    line, header = _read_header(file, shown)
    names = _check_names([cell.strip() for cell in header], shown, line)
    if all(_as_float(name) is not None for name in names):
        example = ",".join(f"x{i}" for i in range(1, len(names) + 1))
        raise GdcError("the first line holds numbers, not column names", where=shown, row=line,
                       hint=f"add a header line that names the columns, e.g. {example}")
    # A small file is read faster in plain Python than pyarrow can even be imported (~0.2 s).
    columns = _read_csv_fast(file, names, line) if file.stat().st_size > _SMALL_CSV else None
    if columns is None:
        columns = _read_csv_slow(file, shown, names)
    if len(columns[0]) == 0:
        raise GdcError("the file has a header line but no data rows", where=shown,
                       hint="add one line of numbers per data point below the header")
    return names, columns, lambda index, j: _csv_cell(file, shown, index, j)


def _check_text(file: Path, shown: str) -> None:
    """Refuse binary files early, rather than after reading a huge 'line' of bytes."""
    with open(file, "rb") as f:
        head = f.read(1 << 16)
    if b"\0" in head:
        raise GdcError("the file is binary, not CSV text", where=shown, hint=_FORMATS_HINT)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as e:
        line = head[:e.start].count(b"\n") + 1
        raise GdcError("this line is not UTF-8 text", where=shown, row=line, hint=_UTF8_HINT) from None


def _read_header(file: Path, shown: str) -> tuple[int, list[str]]:
    """The first non-blank record and the line it ends on."""
    for line, record in _csv_records(file, shown):
        return line, record
    raise GdcError("the file is empty", where=shown,
                   hint="expected a header line naming the columns, then one line of numbers per row")


def _csv_records(file: Path, shown: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) for every non-blank record, header included; line is where it ends."""
    with open(file, "rb") as f:
        # skipinitialspace: in `x, "y"` the quotes still quote, as users mean them to.
        reader = csv.reader(_text_lines(f, shown), skipinitialspace=True)
        try:
            for record in reader:
                if record:
                    yield reader.line_num, record
        except csv.Error as e:
            raise GdcError(f"cannot read this line as CSV ({e})", where=shown,
                           row=reader.line_num) from None


def _text_lines(f, shown: str) -> Iterator[str]:
    """Decode line by line, so that a bad byte is reported on its own line."""
    for number, raw in enumerate(f, 1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise GdcError("this line is not UTF-8 text", where=shown, row=number,
                           hint=_UTF8_HINT) from None


def _read_csv_fast(file: Path, names: list[str], skip: int) -> list[np.ndarray] | None:
    """Parse the body with pyarrow; None if it rejects the file (the slow reader then says why)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    # Our own names and skip count: the header was already read and checked above.
    read = pacsv.ReadOptions(column_names=names, skip_rows=skip)
    # Only an empty cell is missing (-> NaN); pyarrow's default would also turn 'NA' into NaN.
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64()),
                                   null_values=[""], quoted_strings_can_be_null=True)
    try:
        table = pacsv.read_csv(file, read_options=read, convert_options=convert)
    except pa.ArrowInvalid:
        return None
    return [_arrow_floats(column) for column in table.columns]


def _arrow_floats(column) -> np.ndarray:
    """A float64 Arrow column as one numpy array, missing cells as NaN.

    Read from the Arrow buffers directly: `to_numpy()` imports pandas when it is installed,
    which costs a second on every run.
    """
    parts = []
    for chunk in column.chunks:
        validity, data = chunk.buffers()[:2]
        values = np.frombuffer(data, dtype=np.float64, count=len(chunk), offset=chunk.offset * 8).copy()
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
            values[bits[chunk.offset:chunk.offset + len(chunk)] == 0] = np.nan
        parts.append(values)
    return _float64(np.concatenate(parts) if parts else np.empty(0))


def _read_csv_slow(file: Path, shown: str, names: list[str]) -> list[np.ndarray]:
    """Parse cell by cell, raising at the first bad line; returns the columns if all is well."""
    values: list[list[float]] = [[] for _ in names]
    for line, record in itertools.islice(_csv_records(file, shown), 1, None):
        if len(record) != len(names):
            raise GdcError(f"this row has {len(record)} fields, but the header has {len(names)} "
                           "columns", where=shown, row=line,
                           hint="every row needs one value per column; look for a missing or extra comma")
        for column, name, cell in zip(values, names, record):
            column.append(_number(cell, shown, line, name))
    return [np.array(column, dtype=np.float64) for column in values]


def _as_float(text: str) -> float | None:
    """A plain decimal number, nan or inf as a float, else None (pyarrow accepts the same)."""
    # float() alone would also take '1_000' and non-ASCII digits, which pyarrow refuses.
    if text.isascii() and "_" not in text:
        try:
            return float(text)
        except ValueError:
            pass
    return None


def _number(cell: str, shown: str, line: int, name: str) -> float:
    """One cell as a float; an empty cell is a missing value (NaN)."""
    text = cell.strip()
    if not text:
        return math.nan
    value = _as_float(text)
    if value is not None:
        return value
    raise GdcError(f"{text!r} is not a number", where=shown, row=line, column=name,
                   hint="cells must hold plain numbers such as 3, -0.5 or 1e-3 "
                        "(no units, no thousands separators, '.' as the decimal point)")


def _csv_cell(file: Path, shown: str, index: int, j: int) -> tuple[int, str]:
    """The line and text of column j of data record `index` (to report a NaN or inf)."""
    records = itertools.islice(_csv_records(file, shown), index + 1, None)
    line, record = next(records)
    return line, record[j].strip()


# --- NumPy and Parquet -------------------------------------------------------------------

def _record(index: int, _j: int) -> tuple[int, None]:
    """Binary formats have no lines: report the 1-based record number."""
    return index + 1, None


def _float64(values: np.ndarray) -> np.ndarray:
    """The array as C-contiguous, writable float64, copying only when it must."""
    return np.require(values, np.float64, ["C", "W"])


def _numeric(values: np.ndarray, shown: str, name: str) -> np.ndarray:
    """One column as float64, refusing text, objects and multi-dimensional fields."""
    if values.dtype.kind not in "biuf":
        raise GdcError(f"column {name!r} holds {values.dtype} values, not numbers", where=shown)
    if values.ndim != 1:
        raise GdcError(f"column {name!r} has shape {values.shape}; a column must be 1-D",
                       where=shown)
    return _float64(values)


def _load_numpy(file: Path, shown: str) -> np.ndarray | np.lib.npyio.NpzFile:
    """np.load without pickles, with a GdcError for a file NumPy cannot read."""
    try:
        return np.load(file, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as e:
        raise GdcError(f"the file is not a valid {file.suffix} file ({e})", where=shown) from None


def _read_npy(file: Path, shown: str, names: Sequence[str] | None) -> Read:
    """A structured array names its own columns; a plain one needs `names`."""
    array = _load_numpy(file, shown)
    if not isinstance(array, np.ndarray):
        raise GdcError("the file is an .npz archive, not an .npy array", where=shown,
                       hint="rename it to .npz")
    if array.dtype.names:
        if names is not None:
            raise GdcError("the file holds a structured array that names its own columns; "
                           "do not pass column names", where=shown)
        fields = _check_names(list(array.dtype.names), shown, None)
        return fields, [_numeric(array[field], shown, field) for field in fields], _record
    if names is None:
        raise GdcError(f"the file holds a plain array of shape {array.shape} with no column names",
                       where=shown, hint="save a structured array (fields named like the model's "
                       "data) or an .npz file: np.savez('data.npz', x=x, y=y)")
    names = _check_names([name.strip() for name in names], shown, None)
    width = array.shape[1] if array.ndim == 2 else 1 if array.ndim == 1 else None
    if width != len(names):
        raise GdcError(f"the array has shape {array.shape}, but {len(names)} column names "
                       "were given", where=shown, hint="give one name per column of a 2-D array")
    columns = [array] if array.ndim == 1 else list(array.T)
    return names, [_numeric(column, shown, name) for name, column in zip(names, columns)], _record


def _read_npz(file: Path, shown: str, _names: object) -> Read:
    """Each array of the archive is one column, named by its key."""
    archive = _load_numpy(file, shown)
    if isinstance(archive, np.ndarray):
        raise GdcError("the file is an .npy array, not an .npz archive", where=shown,
                       hint="rename it to .npy")
    with archive:
        names = _check_names(list(archive.files), shown, None)
        try:
            arrays = [archive[name] for name in names]
        except (ValueError, zipfile.BadZipFile) as e:
            raise GdcError(f"the file is not a valid .npz file ({e})", where=shown) from None
    return names, [_numeric(a, shown, name) for name, a in zip(names, arrays)], _record


def _read_parquet(file: Path, shown: str, _names: object) -> Read:
    """Numeric Parquet columns as float64; a null becomes NaN (refused unless dropped)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file)
    except pa.ArrowException as e:
        raise GdcError(f"the file is not a valid Parquet file ({e})", where=shown) from None
    names = _check_names(list(table.column_names), shown, None)
    columns = []
    for name, column in zip(names, table.columns):
        kind = column.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
                or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
            raise GdcError(f"column {name!r} holds {kind} values, not numbers", where=shown)
        columns.append(_float64(column.cast(pa.float64()).to_numpy()))
    return names, columns, _record


_READERS = {".csv": _read_csv, ".npy": _read_npy, ".npz": _read_npz,
            ".parquet": _read_parquet, ".pq": _read_parquet}
