"""Partitioned data files in: which files a glob or a folder names, their columns, and each
file's rows read in bounded batches of contiguous float64 columns (pyarrow).

A bad cell is reported as for one file: the file is read whole by gdc.io.table, whose errors
name the file, the row (a CSV's line) and the column; a partition is small enough for that.
"""

from __future__ import annotations

import csv
import glob
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from gdc.errors import GdcError
from gdc.io.formats import float64

SUFFIXES = (".parquet", ".pq", ".csv")
BATCH_ROWS = 1 << 20        # rows per batch read: 8 MiB per column, far below any partition's cost
CSV_BLOCK = 16 << 20        # bytes of CSV text pyarrow parses at a time
HINT = "give a glob such as 'data/*.parquet', or a folder of .parquet or .csv files"


def is_partitioned(data) -> bool:
    """Whether `data` names several files: a glob pattern or a folder."""
    if not isinstance(data, (str, os.PathLike)):
        return False
    text = os.fspath(data)
    return glob.has_magic(text) or Path(text).is_dir()


def partition_files(spec: str | os.PathLike) -> tuple[str, ...]:
    """The files of a glob or a folder (a Parquet dataset's hive folders too), in sorted order,
    which is the order partial sums are added in."""
    text = os.fspath(spec)
    if Path(text).is_dir():
        found = [str(p) for p in Path(text).rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                 and not any(part.startswith((".", "_")) for part in p.relative_to(text).parts)]
    else:
        found = [p for p in glob.glob(text, recursive=True) if Path(p).is_file()]
    found = sorted(found)
    if not found:
        raise GdcError("no data files match", where=text, hint=HINT)
    kinds = {_kind(path) for path in found}
    if len(kinds) > 1:
        raise GdcError("the partitions mix Parquet and CSV files", where=text, hint="give one kind")
    return tuple(found)


def _kind(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise GdcError(f"a partition must be a .parquet or .csv file, not {suffix or 'a file without extension'}",
                       where=path, hint=HINT)
    return "csv" if suffix == ".csv" else "parquet"


def column_names(path: str) -> tuple[str, ...]:
    """The columns the file holds (a CSV's header line)."""
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq
        try:
            return tuple(pq.read_schema(path).names)
        except Exception as exc:   # pyarrow's errors for a file that is no Parquet
            raise GdcError(f"cannot read the Parquet file: {exc}", where=path) from None
    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise GdcError("the file has no header line", where=path, hint="name the columns on its first line")
    return tuple(cell.strip() for cell in header)


def same_columns(files: Sequence[str], names: Sequence[str]) -> None:
    """Every partition holds the columns the first one has."""
    for path in files[1:]:
        held = set(column_names(path))   # one read of its header or schema, not one per name
        missing = [n for n in names if n not in held]
        if missing:
            raise GdcError(f"this partition lacks the column(s) {', '.join(missing)} that {files[0]} has",
                           where=path, hint="every partition needs the same columns")


def batches(path: str, names: Sequence[str], drop: bool = False, batch_rows: int = BATCH_ROWS,
            dropped: list | None = None, checked: bool = False,
            writable: bool = True) -> Iterator[tuple[np.ndarray, ...]]:
    """The file's rows in batches: one contiguous float64 array per name (NaN and inf refused,
    as for one file, or dropped with `drop`, counted in `dropped`). `checked`: the values were
    checked by an earlier pass. Not `writable`: as pyarrow gives them, read-only, no copy made
    (the caller copies them into buffers of its own: `reused`)."""
    try:
        for columns in (_parquet if _kind(path) == "parquet" else _csv)(path, names, batch_rows):
            if writable:
                columns = tuple(float64(column) for column in columns)
            if checked and not drop:
                yield columns
                continue
            finite = np.ones(len(columns[0]), dtype=bool)
            for column in columns:
                finite &= np.isfinite(column)
            if not finite.all():
                if not drop:
                    raise _Bad()
                columns = tuple(np.ascontiguousarray(column[finite]) for column in columns)
                if dropped is not None:
                    dropped.append(len(finite) - len(columns[0]))
            if len(columns[0]):
                yield columns
    except GdcError:
        raise
    except Exception:   # pyarrow's conversion errors, a NaN cell: find and name the cell
        raise bad_cell(path, drop) from None


def reused(buffers: list, columns, batch_rows: int = BATCH_ROWS) -> tuple[np.ndarray, ...]:
    """The columns copied into `buffers` (a list, empty at first: made on the first call), valid
    until the next call: contiguous, writable float64 (what numba's kernels take) with no new
    memory per batch."""
    if not buffers:
        buffers.extend(np.empty(batch_rows) for _ in columns)
    rows = len(columns[0])
    out = tuple(buffer[:rows] for buffer in buffers)
    for target, column in zip(out, columns):
        np.copyto(target, column, casting="unsafe")
    return out


def stamp(path: str) -> tuple[int, int]:
    """What says a file has not changed since it was checked: its size and modification time."""
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


def prefetched(items: Iterator, depth: int = 2) -> Iterator:
    """`items`, produced by a thread up to `depth` ahead: pyarrow reads and decodes the next
    batch while the kernel (which releases the GIL) runs on this one. Order is kept; an
    exception in the thread is raised here."""
    import queue
    import threading
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in items:
                if stop.is_set():
                    return
                handoff.put(item)
            handoff.put(done)
        except BaseException as exc:   # handed over, raised by the consumer
            handoff.put(_Failed(exc))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not done:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        while thread.is_alive():   # let the producer see the stop, then finish
            try:
                handoff.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


class _Bad(Exception):
    """A batch holds a value the fit cannot take."""


def bad_cell(path: str, drop: bool) -> GdcError:
    """The error one file's reader gives for this partition (its row and column)."""
    from gdc.io.table import read_table
    try:
        read_table(path, drop_nonfinite=drop)
    except GdcError as error:
        return error
    return GdcError("a value of this partition cannot be read as a number", where=path)


def _parquet(path: str, names: Sequence[str], batch_rows: int):
    import pyarrow.parquet as pq
    with pq.ParquetFile(path) as file:
        for batch in file.iter_batches(batch_size=batch_rows, columns=list(names)):
            yield tuple(_numbers(batch.column(name)) for name in names)


def _numbers(column) -> np.ndarray:
    """A pyarrow column as float64 NumPy, without a copy where it is float64 already (read-only
    then: the caller copies it into its own buffers, or float64() does)."""
    values = column.to_numpy(zero_copy_only=False)
    return values if values.dtype == np.float64 else float64(values)


def _csv(path: str, names: Sequence[str], batch_rows: int):
    import pyarrow as pa
    import pyarrow.csv as pcsv
    options = pcsv.ConvertOptions(include_columns=list(names),
                                  column_types={name: pa.float64() for name in names})
    header = pcsv.ReadOptions(block_size=CSV_BLOCK, column_names=list(column_names(path)), skip_rows=1)
    with pcsv.open_csv(path, read_options=header, convert_options=options) as reader:   # names as gdc strips them
        for batch in reader:
            for start in range(0, batch.num_rows, batch_rows):
                part = batch.slice(start, batch_rows)
                yield tuple(_numbers(part.column(name)) for name in names)
