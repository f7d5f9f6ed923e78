"""Data files from issue 13's campaign: each is read, or refused with a user error, promptly."""

from __future__ import annotations

import os
import threading
import zipfile

import numpy as np
import pytest

from gdc.errors import GdcError
from gdc.io import csv_reader
from gdc.io.data import read_table
from gdc.io.source import read_source


def big_csv(path, rows: int, last: str = "", crlf: bool = False, blank_every: int = 0) -> list[int]:
    """x,y rows (with blank lines now and then); returns the file line of each data row."""
    end = "\r\n" if crlf else "\n"
    lines, where = ["x,y"], []
    for i in range(rows):
        if blank_every and i % blank_every == 0:
            lines.append("")
        lines.append(f"{i},{i * 0.25}")
        where.append(len(lines))
    if last:
        lines[-1] = last
    path.write_bytes((end.join(lines) + end).encode())
    return where


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 KiB, so that a file of a few hundred KiB takes several."""
    monkeypatch.setattr(csv_reader, "BLOCK", 1 << 16)


def test_a_bad_cell_in_the_last_row_is_found_by_reading_its_block_alone(tmp_path, small_blocks, monkeypatch):
    path = tmp_path / "d.csv"
    where = big_csv(path, 40_000, last="39999,3O.5")
    read_cells = []
    number = csv_reader._number

    def counting(cell, *args):
        read_cells.append(cell)
        return number(cell, *args)
    monkeypatch.setattr(csv_reader, "_number", counting)
    with pytest.raises(GdcError) as info:
        read_table(path)
    assert (info.value.row, info.value.column) == (where[-1], "y") and "'3O.5' is not a number" in str(info.value)
    assert path.stat().st_size > 8 * csv_reader.BLOCK and len(read_cells) < 2 * (csv_reader.BLOCK // 10)


@pytest.mark.parametrize("crlf", [False, True])
def test_a_nan_in_a_late_block_is_located_on_its_line(tmp_path, small_blocks, crlf):
    path = tmp_path / "d.csv"
    where = big_csv(path, 40_000, crlf=crlf, blank_every=997)
    text = path.read_bytes().decode()
    path.write_bytes(text.replace("\n38000,9500.0", "\n38000,nan").encode())
    with pytest.raises(GdcError) as info:
        read_table(path)
    assert (info.value.row, info.value.column) == (where[38000], "y") and "'nan' is NaN" in str(info.value)
    table = read_table(path, drop_nonfinite=True)
    assert table.n_rows == 39_999 and table.dropped == 1
    np.testing.assert_array_equal(table.columns["y"], table.columns["x"] * 0.25)


def test_quotes_send_the_whole_file_to_one_reader(tmp_path, small_blocks):
    path = tmp_path / "d.csv"
    where = big_csv(path, 40_000, last='"39999","x"')
    with pytest.raises(GdcError) as info:
        read_table(path)
    assert (info.value.row, info.value.column) == (where[-1], "y")


def test_npz_members_that_are_not_arrays(tmp_path):
    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.txt", "hello")
        archive.writestr("Y.npy", "not an array")
    with pytest.raises(GdcError) as info:
        read_table(path)
    assert "is not" in str(info.value) and info.value.where == str(path)


def test_parquet_integers_past_2_to_the_53(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x": pa.array([1, 2 ** 63 - 1], pa.int64()), "y": pa.array([1.0, 2.0])}), path)
    table = read_table(path)
    assert table.columns["x"].tolist() == [1.0, float(2 ** 63 - 1)]


def _with_a_deadline(call, seconds: float = 10.0):
    """Run `call` in a thread: a reader that blocks on a pipe would hang the suite."""
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_catch(call)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, "the reader blocked"
    return outcome[0]


def _catch(call):
    try:
        return call()
    except GdcError as exc:
        return exc


@pytest.mark.parametrize("reader, name", [(read_table, "d.csv"), (read_table, "d.npy"), (read_source, "m.gd")])
def test_a_named_pipe_is_refused_not_read(tmp_path, reader, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    error = _with_a_deadline(lambda: reader(fifo))
    assert isinstance(error, GdcError) and "named pipe" in str(error)


@pytest.mark.parametrize("reader, what", [(read_table, "this is a device, not a data file"),
                                          (read_source, "is a device, not a model file")])
def test_a_device_is_refused_not_read(reader, what):
    error = _with_a_deadline(lambda: reader("/dev/zero"))
    assert isinstance(error, GdcError) and what in str(error)
