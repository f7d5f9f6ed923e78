"""CSV files: the header by the csv module, the body by pyarrow in blocks, a cell-by-cell reader for errors.

pyarrow's multi-threaded reader parses the body (see benchmarks/bench_csv.py for why), one
block of about BLOCK bytes at a time, cut at line ends. When it rejects a block, the slow
cell-by-cell reader reads that block alone to find the line and column to blame: a bad cell
in the last row of ten million is found in a second, without reading the file twice. The
slow reader defines what is accepted; the fast one is only faster. A file with quotes, where
a line end may not end a record, goes to pyarrow whole; one with bare carriage returns,
which pyarrow takes for line ends and the csv module does not, to the slow reader alone.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from gdc.errors import GdcError
from .formats import UTF8_HINT, FORMATS_HINT, Read, check_names, float64

SMALL = 256 * 1024   # bytes: below this, plain Python beats importing pyarrow (~0.2 s)
BLOCK = 32 << 20     # bytes of body per pyarrow read


def read_csv(file: Path, shown: str, _names: object) -> Read:
    """Header by the csv module, body by pyarrow, and the slow reader when pyarrow objects."""
    _check_text(file, shown)
    line, header = _read_header(file, shown)
    names = check_names([cell.strip() for cell in header], shown, line)
    if all(as_float(name) is not None for name in names):
        example = ",".join(f"x{i}" for i in range(1, len(names) + 1))
        raise GdcError("the first line holds numbers, not column names", where=shown, row=line,
                       hint=f"add a header line that names the columns, e.g. {example}")
    body = _Body.read(file, shown, names, line) if file.stat().st_size > SMALL else None
    if body is None:
        body = _Body(_read_slow(_body_records(file, shown), shown, names), [_WHOLE], file)
    if len(body.columns[0]) == 0:
        raise GdcError("the file has a header line but no data rows", where=shown,
                       hint="add one line of numbers per data point below the header")
    return names, body.columns, lambda index, j: body.cell(shown, index, j)


# --- the body, block by block -----------------------------------------------------------------

@dataclass(frozen=True)
class _Block:
    first: int          # the index of its first record among all data records
    offset: int         # where it starts in the file (bytes)
    size: int           # bytes; 0: the whole file, read from its header on


_WHOLE = _Block(0, 0, 0)


@dataclass
class _Body:
    columns: list[np.ndarray]
    blocks: list[_Block]
    file: Path

    @classmethod
    def read(cls, file: Path, shown: str, names: list[str], header_line: int) -> "_Body | None":
        """The body by pyarrow; a rejected block is read by the slow reader (which raises);
        None when the file must be read whole."""
        start = _offset_after_line(file, header_line)
        if start is None:
            return None
        parts: list[list[np.ndarray]] = []
        blocks: list[_Block] = []
        first = 0
        with open(file, "rb") as f:
            f.seek(start)
            offset = start
            for data in _line_blocks(f):
                if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
                    return None   # a bare carriage return: pyarrow ends a line there, the csv module does not
                if b'"' in data:
                    return cls._whole(file, shown, names, header_line)
                columns = _arrow(data, names)
                if columns is None:
                    line = _lines_before(file, offset)
                    _read_slow(_csv_records(io.BytesIO(data), shown, line), shown, names)   # raises
                    return cls._whole(file, shown, names, header_line)   # (they disagree: read it all)
                blocks.append(_Block(first, offset, len(data)))
                parts.append(columns)
                first += len(columns[0])
                offset += len(data)
        if not parts:
            return cls([np.empty(0) for _ in names], [_WHOLE], file)
        return cls([float64(np.concatenate(c)) for c in zip(*parts)], blocks, file)

    @classmethod
    def _whole(cls, file: Path, shown: str, names: list[str], header_line: int) -> "_Body":
        columns = _arrow_file(file, names, header_line)
        if columns is None:
            columns = _read_slow(_body_records(file, shown), shown, names)
        return cls(columns, [_WHOLE], file)

    def cell(self, shown: str, index: int, j: int) -> tuple[int, str]:
        """The line and text of column j of data record `index` (to report a NaN or inf):
        only its block is read again."""
        block = self.blocks[bisect.bisect_right([b.first for b in self.blocks], index) - 1]
        if block.size == 0:
            records = itertools.islice(_body_records(self.file, shown), index, None)
        else:
            with open(self.file, "rb") as f:
                f.seek(block.offset)
                data = f.read(block.size)
            before = _lines_before(self.file, block.offset)
            records = itertools.islice(_csv_records(io.BytesIO(data), shown, before), index - block.first, None)
        line, cells = next(records)
        return line, cells[j].strip()


def _offset_after_line(file: Path, line: int) -> int | None:
    """The byte offset where line `line + 1` starts (None when the lines are not \\n-ended)."""
    offset = 0
    with open(file, "rb") as f:
        for _ in range(line):
            raw = f.readline()
            if not raw.endswith(b"\n") or b"\r" in raw[:-2]:
                return None
            offset += len(raw)
    return offset


def _lines_before(file: Path, offset: int) -> int:
    """How many lines the file has before byte `offset` (counted only when an error needs it)."""
    count = 0
    with open(file, "rb") as f:
        while offset > 0:
            chunk = f.read(min(offset, BLOCK))
            if not chunk:
                break
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


def _line_blocks(f) -> Iterator[bytes]:
    """The rest of a binary file in blocks of about BLOCK bytes, each ending at a line end."""
    carry = b""
    while True:
        chunk = f.read(BLOCK)
        if not chunk:
            if carry:
                yield carry
            return
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        carry = data[cut:]
        yield data[:cut]


def _arrow_options(names: list[str], skip: int):
    import pyarrow as pa
    from pyarrow import csv as pacsv

    # Our own names and skip count: the header was already read and checked.
    read = pacsv.ReadOptions(column_names=names, skip_rows=skip)
    # Only an empty cell is missing (-> NaN); pyarrow's default would also turn 'NA' into NaN.
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64()),
                                   null_values=[""], quoted_strings_can_be_null=True)
    return read, convert


def _arrow(data: bytes, names: list[str]) -> list[np.ndarray] | None:
    """One block of lines by pyarrow; None if it rejects them (the slow reader then says why)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    read, convert = _arrow_options(names, 0)
    try:
        table = pacsv.read_csv(pa.py_buffer(data), read_options=read, convert_options=convert)
    except pa.ArrowInvalid:
        return None
    return [_arrow_floats(column) for column in table.columns]


def _arrow_file(file: Path, names: list[str], skip: int) -> list[np.ndarray] | None:
    """The whole body by pyarrow; None if it rejects it."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    read, convert = _arrow_options(names, skip)
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
    return float64(np.concatenate(parts) if parts else np.empty(0))


# --- the slow reader, which defines what is accepted ------------------------------------------

def _check_text(file: Path, shown: str) -> None:
    """Refuse binary files early, rather than after reading a huge 'line' of bytes."""
    with open(file, "rb") as f:
        head = f.read(1 << 16)
    if b"\0" in head:
        raise GdcError("the file is binary, not CSV text", where=shown, hint=FORMATS_HINT)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as e:
        line = head[:e.start].count(b"\n") + 1
        raise GdcError("this line is not UTF-8 text", where=shown, row=line, hint=UTF8_HINT) from None


def _read_header(file: Path, shown: str) -> tuple[int, list[str]]:
    """The first non-blank record and the line it ends on."""
    for line, record in _csv_records(_lines(file), shown):
        return line, record
    raise GdcError("the file is empty", where=shown,
                   hint="expected a header line naming the columns, then one line of numbers per row")


def _lines(file: Path) -> Iterator[bytes]:
    with open(file, "rb") as f:
        yield from f


def _body_records(file: Path, shown: str) -> Iterator[tuple[int, list[str]]]:
    """The records after the header."""
    return itertools.islice(_csv_records(_lines(file), shown), 1, None)


def _csv_records(raw: Iterable[bytes], shown: str, before: int = 0) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) for every non-blank record of the raw lines (or blocks of lines) given;
    line is where the record ends, counted from line `before` + 1."""
    # skipinitialspace: in `x, "y"` the quotes still quote, as users mean them to.
    reader = csv.reader(_text_lines(raw, shown, before), skipinitialspace=True)
    try:
        for record in reader:
            if record:
                yield before + reader.line_num, record
    except csv.Error as e:
        raise GdcError(f"cannot read this line as CSV ({e})", where=shown,
                       row=before + reader.line_num) from None


def _text_lines(raw: Iterable[bytes], shown: str, before: int) -> Iterator[str]:
    """Decode line by line, so that a bad byte is reported on its own line."""
    for number, line in enumerate(raw, before + 1):
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise GdcError("this line is not UTF-8 text", where=shown, row=number,
                           hint=UTF8_HINT) from None


def _read_slow(records: Iterable[tuple[int, list[str]]], shown: str, names: list[str]) -> list[np.ndarray]:
    """Parse cell by cell, raising at the first bad line; returns the columns if all is well."""
    values: list[list[float]] = [[] for _ in names]
    for line, record in records:
        if len(record) != len(names):
            raise GdcError(f"this row has {len(record)} fields, but the header has {len(names)} "
                           "columns", where=shown, row=line,
                           hint="every row needs one value per column; look for a missing or extra comma")
        for column, name, cell in zip(values, names, record):
            column.append(_number(cell, shown, line, name))
    return [np.array(column, dtype=np.float64) for column in values]


def as_float(text: str) -> float | None:
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
    value = as_float(text)
    if value is not None:
        return value
    separator = next((mark for mark in (";", "\t", "|") if mark in text), None)
    hint = ("cells must hold plain numbers such as 3, -0.5 or 1e-3 "
            "(no units, no thousands separators, '.' as the decimal point)")
    if separator is not None:   # a whole row in one cell: the file is separated by another mark
        hint = (f"the file looks separated by {separator!r}, not commas; gdc reads comma-separated "
                f"files: save it as CSV with commas")
    raise GdcError(f"{text!r} is not a number", where=shown, row=line, column=name, hint=hint)
