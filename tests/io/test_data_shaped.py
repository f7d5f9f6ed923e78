"""Data vectors from files: `x[d]` binds the columns x1, x2, … or those given as --map x=a:b:c.

The error messages are golden files (tests/golden/data_shaped/NAME.txt, the path shown as the
bare file name); `pytest --update-golden` rewrites them after a deliberate change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gdc.io.data import bound_columns, parse_mapping, read_table, select_columns, vector_columns
from gdc.errors import GdcError
from locations import EXAMPLES



def table_of(tmp_path: Path, header: list[str], rows: int = 3, name: str = "data.csv"):
    values = np.arange(rows * len(header), dtype=float).reshape(rows, len(header))
    path = tmp_path / name
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(repr, row.tolist())) for row in values) + "\n")
    return read_table(path), values


@pytest.mark.parametrize("header, want", [
    (["x1", "x2", "x3", "Y"], ["x1", "x2", "x3"]),
    (["Y", "x10", "x2", "x1", "x3", "x4", "x5", "x6", "x7", "x8", "x9"],
     ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10"]),      # by number, not text
    (["x_1", "x_2", "Y"], ["x_1", "x_2"]),
    (["x0", "x1", "Y"], ["x0", "x1"]),
    (["x_0", "Y", "x_1"], ["x_0", "x_1"]),
    (["x01", "x02", "x03"], ["x01", "x02", "x03"]),                        # zero-padded
    (["x", "xa1", "Y"], None),
    (["xy1", "x1", "Y"], ["x1"]),                                          # another name's columns
])
def test_vector_columns_numbering(header, want):
    assert vector_columns(header, "x") == want


BAD = {
    "mixed_numbering": (["x1", "x_2", "Y"], "x", ("d",), None),
    "gap": (["x1", "x2", "x4", "x5", "Y"], "x", ("d",), None),
    "late_start": (["x2", "x3", "Y"], "x", ("d",), None),
    "duplicate_number": (["x1", "x01", "Y"], "x", ("d",), None),
    "no_columns": (["a", "b", "Y"], "x", ("d",), None),
    "fixed_size": (["x1", "x2", "x3", "Y"], "x", (4,), None),
    "fixed_size_mapped": (["a", "b", "c", "Y"], "x", (2,), "x=a:b:c"),
    "mapped_unknown_column": (["age", "sex", "Y"], "x", ("d",), "x=age:sexx"),
    "colon_for_a_number": (["a", "b", "Y"], "Y", (), "Y=a:b"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_binding_errors_match_golden(tmp_path, golden, case):
    header, name, shape, mapping = BAD[case]
    table, _ = table_of(tmp_path, header)
    with pytest.raises(GdcError) as info:
        select_columns(table, [name], parse_mapping(mapping) if mapping else None, {name: shape})
    golden(f"data_shaped/{case}.txt", info.value.render().replace(str(table.path), "data.csv") + "\n")


def test_a_vector_is_a_c_contiguous_float64_array_of_its_columns(tmp_path):
    table, values = table_of(tmp_path, ["Y", "x2", "x1", "x3"])
    chosen = select_columns(table, ["x", "Y"], None, {"x": ("d",), "Y": ()})
    x = chosen["x"]
    assert x.dtype == np.float64 and x.flags.c_contiguous and x.shape == (3, 3)
    np.testing.assert_array_equal(x, values[:, [2, 1, 3]])
    np.testing.assert_array_equal(chosen["Y"], values[:, 0])
    assert bound_columns(table, ["x", "Y"], None, {"x": ("d",)}) == {"x": ("x1", "x2", "x3"), "Y": ("Y",)}


def test_map_gives_a_vector_its_columns_in_the_order_written(tmp_path):
    table, values = table_of(tmp_path, ["age", "sex", "bmi", "progression"])
    mapping = parse_mapping("x=bmi:age, Y=progression")
    assert mapping == {"x": "bmi:age", "Y": "progression"}
    chosen = select_columns(table, ["x", "Y"], mapping, {"x": (2,)})
    np.testing.assert_array_equal(chosen["x"], values[:, [2, 0]])
    one = select_columns(table, ["x"], {"x": "sex"}, {"x": ("d",)})["x"]   # a vector of one
    assert one.shape == (3, 1)


def test_scalar_data_are_unchanged(tmp_path):
    table, values = table_of(tmp_path, ["x1", "x2", "Y"])
    chosen = select_columns(table, ["x1", "Y"])
    assert chosen["x1"].ndim == 1
    np.testing.assert_array_equal(chosen["x1"], values[:, 0])


def test_the_fast_reader_feeds_vectors_too(tmp_path):
    """A file over 256 KiB goes through pyarrow; the vector is the same."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4000, 12))
    path = tmp_path / "big.csv"
    header = [f"x{j}" for j in range(1, 12)] + ["Y"]
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(repr, r.tolist())) for r in values) + "\n")
    assert path.stat().st_size > 256 * 1024
    x = select_columns(read_table(path), ["x"], None, {"x": ("d",)})["x"]
    np.testing.assert_array_equal(x, values[:, :11])
    assert x.flags.c_contiguous


@pytest.mark.parametrize("name, rows, width", [("diabetes.csv", 442, 10), ("breast_cancer.csv", 569, 30)])
def test_the_examples_bind_as_vectors(name, rows, width):
    table = read_table(EXAMPLES / name)
    x = select_columns(table, ["x"], None, {"x": ("d",)})["x"]
    assert x.shape == (rows, width)
    assert table.names[-1] == "Y"
    if name == "breast_cancer.csv":   # z-scores, and 0/1 labels
        np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(x.std(axis=0), 1.0, rtol=1e-12)
        assert set(np.unique(table.columns["Y"])) == {0.0, 1.0}
