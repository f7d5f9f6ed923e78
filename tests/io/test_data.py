"""Tests for gdc.io.data: reading CSV/.npy/.npz/Parquet, and the errors for bad files.

Each tests/data/bad/NAME.csv has the rendered error in tests/golden/data/NAME.txt (the path
shown as the bare file name); `pytest --update-golden` rewrites them after a deliberate change.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gdc.io import csv_reader
from gdc.io.data import Table, parse_mapping, read_table, select_columns
from gdc.errors import GdcError
from locations import ROOT, DATA, GOLDEN

BAD = DATA / "bad"
BAD_CSVS = sorted(BAD.glob("*.csv"))


def error_of(path, **kwargs) -> str:
    """The rendered GdcError that reading `path` raises."""
    with pytest.raises(GdcError) as info:
        read_table(path, **kwargs)
    return info.value.render()


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode())
    return path


@pytest.mark.parametrize("path", BAD_CSVS, ids=lambda p: p.stem)
def test_bad_csv_error_matches_golden(path, golden):
    golden(f"data/{path.stem}.txt", error_of(path).replace(str(path), path.name) + "\n")


def test_every_golden_has_its_csv():
    goldens = GOLDEN / "data"
    assert sorted(p.stem for p in goldens.glob("*.txt")) == [p.stem for p in BAD_CSVS]


def test_not_a_number_names_file_line_and_column():
    # The example from the issue: the header is line 1, so 'abc' on line 7 is data row 6.
    first = error_of(BAD / "not_number.csv").splitlines()[0]
    assert first.endswith("not_number.csv: row 7, column 'height': error: 'abc' is not a number")


@pytest.mark.parametrize("name, words", [
    ("ragged.csv", ["row 3:", "has 2 fields", "header has 3"]),
    ("nan.csv", ["row 3, column 'y'", "is NaN", "--drop-nonfinite"]),
    ("inf.csv", ["row 2, column 'y'", "'-inf' is infinite", "--drop-nonfinite"]),
    ("empty.csv", ["empty.csv: error: the file is empty"]),
    ("header_only.csv", ["header line but no data rows"]),
    ("empty_name.csv", ["row 1:", "column 2 has an empty name"]),
    ("duplicate_name.csv", ["row 1:", "column 3 is named 'x', like column 1"]),
    ("crlf_blank_line.csv", ["row 4, column 'y'", "'oops' is not a number"]),
    ("binary.csv", ["binary, not CSV text"]),
    ("latin1_cell.csv", ["row 3:", "not UTF-8"]),
])
def test_bad_csv_messages_say_where_and_what(name, words):
    rendered = error_of(BAD / name)
    assert name in rendered
    for word in words:
        assert word in rendered


def test_missing_file_suggests_a_close_name(tmp_path):
    write(tmp_path / "data.csv", "x\n1\n")
    rendered = error_of(tmp_path / "dat.csv")
    assert "dat.csv: error: no such file" in rendered and "did you mean" in rendered
    assert "data.csv" in rendered


def test_directory_and_unknown_extension(tmp_path):
    assert "is a directory" in error_of(tmp_path)
    rendered = error_of(write(tmp_path / "data.xlsx", "x\n1\n"))
    assert "unknown data file type '.xlsx'" in rendered and ".parquet" in rendered


def test_csv_happy_path_quotes_crlf_bom_spaces_and_trailing_blank_lines(tmp_path):
    text = '\ufeffx, "y y" ,z\r\n"1.5", 2 ,3\r\n-4e2,.5,+6\r\n\r\n\r\n'
    table = read_table(write(tmp_path / "data.csv", text))
    assert table.names == ("x", "y y", "z") and table.n_rows == 2 and table.dropped == 0
    assert table.path == str(tmp_path / "data.csv")
    np.testing.assert_array_equal(table.columns["x"], [1.5, -400.0])
    np.testing.assert_array_equal(table.columns["y y"], [2.0, 0.5])
    for column in table.columns.values():
        assert column.dtype == np.float64 and column.flags.c_contiguous and column.ndim == 1


def test_path_is_shown_as_given(tmp_path):
    table = read_table(os.fspath(write(tmp_path / "d.csv", "x\n1\n")))
    assert isinstance(table.path, str) and table.path.endswith("d.csv")


@pytest.mark.parametrize("quoted", [True, False])
def test_slow_reader_agrees_with_fast_reader(tmp_path, monkeypatch, quoted):
    # The slow reader defines what is accepted; pyarrow must read the same numbers, whole
    # (a file with quotes) or block by block.
    cells = ["1", "-2.5", "+.5", "5.", "1e3", "-1E-3", " 7 ", "nan", "-inf", "Infinity", ""] + ['"8"'] * quoted
    path = write(tmp_path / "d.csv", "a,b\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    slow = read_table(path, drop_nonfinite=True)
    monkeypatch.setattr(csv_reader, "SMALL", 0)
    monkeypatch.setattr(csv_reader, "BLOCK", 16)
    fast = read_table(path, drop_nonfinite=True)
    assert fast.n_rows == slow.n_rows == len(cells) - 4   # nan, -inf, Infinity and the empty cell
    for name in ("a", "b"):
        np.testing.assert_array_equal(fast.columns[name], slow.columns[name])


@pytest.mark.parametrize("small", [False, True])
def test_a_last_line_without_a_line_end_is_read_in_blocks_too(tmp_path, monkeypatch, small):
    path = write(tmp_path / "d.csv", "a,b\n" + "".join(f"{i},{2 * i}\n" for i in range(20)) + "20,40")
    if small:   # pyarrow, block by block, the last block being the line without an end
        monkeypatch.setattr(csv_reader, "SMALL", 0)
        monkeypatch.setattr(csv_reader, "BLOCK", 16)
    table = read_table(path)
    np.testing.assert_array_equal(table.columns["a"], np.arange(21.0))
    np.testing.assert_array_equal(table.columns["b"], 2 * np.arange(21.0))


@pytest.mark.parametrize("index", [0, 3, 4, 5, 8, 11])
def test_a_nonfinite_cell_is_placed_by_its_own_block(tmp_path, monkeypatch, index):
    """Blocks of 16 bytes hold four rows of "1.0\n" each: a NaN at the first row of a block is
    found in that block, not past the end of the one before."""
    rows = ["nan" if i == index else "1.0" for i in range(12)]
    path = write(tmp_path / "d.csv", "x\n" + "".join(f"{r}\n" for r in rows))
    monkeypatch.setattr(csv_reader, "SMALL", 0)
    monkeypatch.setattr(csv_reader, "BLOCK", 16)
    assert f"row {index + 2}, column 'x': error: 'nan' is NaN" in error_of(path)


def test_nonfinite_row_counts_blank_lines(tmp_path):
    path = write(tmp_path / "d.csv", "x\n1\n\n2\nnan\n3\n")
    assert "row 5, column 'x': error: 'nan' is NaN" in error_of(path)


def test_drop_nonfinite_drops_and_counts(tmp_path):
    path = write(tmp_path / "d.csv", "x,y\n1,2\nnan,3\n4,inf\n5,\n6,7\n")
    table = read_table(path, drop_nonfinite=True)
    assert table.n_rows == 2 and table.dropped == 3
    np.testing.assert_array_equal(table.columns["x"], [1.0, 6.0])
    np.testing.assert_array_equal(table.columns["y"], [2.0, 7.0])


def test_drop_nonfinite_with_every_row_bad(tmp_path):
    path = write(tmp_path / "d.csv", "x\nnan\ninf\n")
    assert "all 2 rows hold NaN" in error_of(path, drop_nonfinite=True)


def test_reading_does_not_modify_the_file(tmp_path):
    for path in [write(tmp_path / "good.csv", "x\n1\n"), write(tmp_path / "bad.csv", "x\nq\n")]:
        before = (path.read_bytes(), path.stat().st_mtime_ns)
        try:
            read_table(path)
        except GdcError:
            pass
        assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_npy_structured_array(tmp_path):
    array = np.array([(1, 2.5), (3, 4.5)], dtype=[("x", "i4"), ("y", "f4")])
    np.save(tmp_path / "d.npy", array)
    table = read_table(tmp_path / "d.npy")
    assert table.names == ("x", "y") and table.n_rows == 2
    np.testing.assert_array_equal(table.columns["y"], [2.5, 4.5])
    assert all(c.dtype == np.float64 and c.flags.c_contiguous for c in table.columns.values())


def test_npy_plain_array_needs_names(tmp_path):
    np.save(tmp_path / "d.npy", np.arange(6.0).reshape(3, 2))
    rendered = error_of(tmp_path / "d.npy")
    assert "plain array of shape (3, 2) with no column names" in rendered and "np.savez" in rendered
    table = read_table(tmp_path / "d.npy", names=["a", "b"])
    np.testing.assert_array_equal(table.columns["b"], [1.0, 3.0, 5.0])
    assert table.columns["b"].flags.c_contiguous
    assert "3 column names were given" in error_of(tmp_path / "d.npy", names=["a", "b", "c"])


def test_npy_nonfinite_reports_record_number(tmp_path):
    np.save(tmp_path / "d.npy", np.array([(1.0,), (np.nan,)], dtype=[("x", "f8")]))
    assert "row 2, column 'x': error: the value is NaN" in error_of(tmp_path / "d.npy")


def test_npy_not_numpy_and_text_fields(tmp_path):
    assert "not a valid .npy file" in error_of(write(tmp_path / "d.npy", "x\n1\n"))
    np.save(tmp_path / "s.npy", np.array([("a", 1.0)], dtype=[("name", "U3"), ("y", "f8")]))
    assert "column 'name' holds <U3 values, not numbers" in error_of(tmp_path / "s.npy")


def test_npz_columns_by_key(tmp_path):
    np.savez(tmp_path / "d.npz", height=np.array([1.7, 1.8]), weight=np.array([60, 70]))
    table = read_table(tmp_path / "d.npz")
    assert table.names == ("height", "weight")
    np.testing.assert_array_equal(table.columns["weight"], [60.0, 70.0])


def test_npz_bad_columns(tmp_path):
    np.savez(tmp_path / "len.npz", a=np.zeros(3), b=np.zeros(2))
    assert "column 'b' has 2 values, but column 'a' has 3" in error_of(tmp_path / "len.npz")
    np.savez(tmp_path / "dim.npz", a=np.zeros((3, 2)))
    assert "column 'a' has shape (3, 2); a column must be 1-D" in error_of(tmp_path / "dim.npz")
    assert ".npz files name their own columns" in error_of(tmp_path / "dim.npz", names=["a"])


def test_parquet(tmp_path):
    pq.write_table(pa.table({"x": [1, 2, None], "y": [0.5, 1.5, 2.5]}), tmp_path / "d.parquet")
    assert "row 3, column 'x': error: the value is NaN" in error_of(tmp_path / "d.parquet")
    table = read_table(tmp_path / "d.parquet", drop_nonfinite=True)
    assert table.names == ("x", "y") and table.n_rows == 2 and table.dropped == 1
    np.testing.assert_array_equal(table.columns["x"], [1.0, 2.0])
    pq.write_table(pa.table({"s": ["a"]}), tmp_path / "s.parquet")
    assert "column 's' holds string values" in error_of(tmp_path / "s.parquet")
    assert "not a valid Parquet file" in error_of(write(tmp_path / "b.parquet", "x\n1\n"))


def test_a_parquet_column_name_used_twice_is_named_as_in_a_csv(tmp_path):
    """It was 'not a valid Parquet file (Multiple matches for FieldRef.Name(Y) in x: double ...)'."""
    table = pa.table([pa.array([1.0, 2.0])] * 3, names=["x", "Y", "Y"])
    pq.write_table(table, tmp_path / "d.parquet")
    assert "error: column 3 is named 'Y', like column 2" in error_of(tmp_path / "d.parquet")


def make_table() -> Table:
    columns = {name: np.arange(3.0) for name in ("weight", "Height", "age (y)")}
    return Table("data.csv", tuple(columns), columns, 3, 0)


def test_select_columns_by_name_and_mapping():
    table = make_table()
    got = select_columns(table, ["weight", "x"], {"x": "age (y)"})
    assert got["weight"] is table.columns["weight"] and got["x"] is table.columns["age (y)"]


def test_select_columns_missing_lists_columns_and_suggests_map():
    with pytest.raises(GdcError) as info:
        select_columns(make_table(), ["Y"])
    rendered = info.value.render()
    assert "data.csv: error:" in rendered and "'Y'" in rendered
    assert "weight, Height, age (y)" in rendered and "--map Y=COLUMN" in rendered


def test_select_columns_did_you_mean():
    with pytest.raises(GdcError) as info:
        select_columns(make_table(), ["height"])
    assert "did you mean --map height=Height?" in info.value.render()
    with pytest.raises(GdcError) as info:
        select_columns(make_table(), ["x"], {"x": "wieght"})
    assert "--map x=wieght: the file has no column 'wieght'" in info.value.render()
    assert "did you mean --map x=weight?" in info.value.render()


def test_select_columns_mapping_of_unknown_model_name():
    with pytest.raises(GdcError) as info:
        select_columns(make_table(), ["x"], {"z": "weight"})
    assert "the model has no data named 'z'" in info.value.render()


def test_parse_mapping():
    assert parse_mapping("Y=weight, x = height") == {"Y": "weight", "x": "height"}
    assert parse_mapping("") == {}
    assert parse_mapping("x=age (y)") == {"x": "age (y)"}


@pytest.mark.parametrize("text, words", [
    ("Y", "'Y' is not of the form NAME=COLUMN"),
    ("Y=", "'Y=' is not of the form NAME=COLUMN"),
    ("=weight", "is not of the form"),
    ("1x=weight", "'1x' is not a model data name"),
    ("x=a,x=b", "'x' is mapped twice"),
])
def test_parse_mapping_errors(text, words):
    with pytest.raises(GdcError) as info:
        parse_mapping(text)
    rendered = info.value.render()
    assert rendered.startswith("--map: error:") and words in rendered and "hint:" in rendered


def test_import_is_cheap():
    code = "import sys, gdc.io.data; assert 'pyarrow' not in sys.modules"
    root = ROOT
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_large_file_takes_the_fast_reader_and_keeps_empty_cells_missing(tmp_path):
    rows = "".join(f"{i},{'' if i % 1000 == 7 else i * 0.5}\n" for i in range(40000))
    path = write(tmp_path / "big.csv", "a,b\n" + rows)
    assert path.stat().st_size > 256 * 1024
    table = read_table(path, drop_nonfinite=True)
    assert table.dropped == 40 and table.n_rows == 40000 - 40
    assert not np.any(table.columns["a"] % 1000 == 7)
    np.testing.assert_array_equal(table.columns["b"], table.columns["a"] * 0.5)
    # The reader does not load pandas (pyarrow's to_numpy would; it costs a second per run).
    code = f"import sys; from gdc.io.data import read_table; read_table({str(path)!r}, drop_nonfinite=True); " \
           "print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_arrays_numpy_cannot_make_are_a_user_error():
    """Rows of different lengths were numpy's ValueError ('inhomogeneous shape'), not a GdcError."""
    from gdc.io.arrays import columns_of
    with pytest.raises(GdcError, match=r"data\['x'\] must be a 1-D array of numbers .*numpy cannot make one"):
        columns_of({"x": [[1.0], [2.0, 3.0]], "Y": [1.0, 2.0]}, drop_nonfinite=False)


def test_masked_entries_are_missing_values_not_the_numbers_under_the_mask():
    """np.asarray dropped the mask: a masked outlier of 100 was fitted to."""
    from gdc.io.arrays import columns_of
    x = np.ma.masked_array([1.0, 100.0, 3.0], mask=[False, True, False])
    with pytest.raises(GdcError, match=r"data\['x'\]\[1\] is nan"):
        columns_of({"x": x, "Y": np.ones(3)}, drop_nonfinite=False)
    columns, dropped = columns_of({"x": x, "Y": np.ones(3)}, drop_nonfinite=True)
    assert dropped == 1 and columns["x"].tolist() == [1.0, 3.0]
    unmasked, _ = columns_of({"x": np.ma.masked_array([1, 2], mask=False), "Y": np.ones(2)}, drop_nonfinite=False)
    assert unmasked["x"].dtype == np.float64 and unmasked["x"].tolist() == [1.0, 2.0]
