"""DataFrames as data: pandas, polars and pyarrow tables are matched by column name as a CSV is,
float64 columns are used without a copy, only the model's columns are converted and checked,
and pandas is imported only when a pandas object is given."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import gdc
from gdc.api import prepare
from gdc.errors import GdcError
from locations import EXAMPLES, ROOT

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

LINEAR = EXAMPLES / "linear.gd"
VECTOR = EXAMPLES / "diabetes.gd"
MAP = {"x": "height", "Y": "weight"}


@pytest.fixture(scope="module")
def students():
    return pd.read_csv(EXAMPLES / "students.csv")


@pytest.fixture(scope="module")
def diabetes():
    return pd.read_csv(EXAMPLES / "diabetes.csv")


def reference(table) -> dict:
    """The same fit from a dict of plain numpy arrays: the answer every frame must give."""
    return gdc.fit(LINEAR, {"x": np.asarray(table["height"], dtype=float),
                            "Y": np.asarray(table["weight"], dtype=float)}).params


@pytest.mark.parametrize("convert", [lambda df: df, pl.from_pandas, pa.Table.from_pandas],
                         ids=["pandas", "polars", "pyarrow"])
def test_every_frame_fits_as_the_arrays_do(students, convert):
    frame = convert(students)
    result = gdc.fit(LINEAR, frame, mapping=MAP)
    want = reference(students)
    assert result.params["m"] == pytest.approx(want["m"], rel=1e-12)
    assert result.params["b"] == pytest.approx(want["b"], rel=1e-12)
    assert result.n_rows == len(students)


@pytest.mark.parametrize("frame_of, column_of", [
    (lambda df: df, lambda frame, name: frame[name].to_numpy()),
    (pl.from_pandas, lambda frame, name: frame[name].to_numpy()),
    (pa.Table.from_pandas, lambda frame, name: frame.column(name).chunk(0).to_numpy()),
], ids=["pandas", "polars", "pyarrow"])
def test_float64_columns_are_not_copied(students, frame_of, column_of):
    frame = frame_of(students)
    problem = prepare(LINEAR, frame, mapping=MAP)
    assert np.shares_memory(problem.column("x"), column_of(frame, "height"))
    assert np.shares_memory(problem.column("Y"), column_of(frame, "weight"))


def test_integer_and_nullable_columns_are_converted(students):
    frame = pd.DataFrame({"height": students.height.round().astype("int64"),
                          "weight": students.weight.astype("Float64")})
    problem = prepare(LINEAR, frame, mapping=MAP)
    assert problem.column("x").dtype == np.float64
    np.testing.assert_array_equal(problem.column("x"), students.height.round())


def test_a_data_vector_takes_the_numbered_columns_and_text_columns_are_left_alone(diabetes):
    frame = diabetes.assign(patient=[f"p{i}" for i in range(len(diabetes))])   # never converted
    result = gdc.fit(VECTOR, frame)
    want = gdc.fit(VECTOR, EXAMPLES / "diabetes.csv")
    np.testing.assert_allclose(result.params["w"], want.params["w"], rtol=1e-9)
    assert result.problem.unused == ("patient",)


def test_mapping_picks_the_columns_of_a_vector(diabetes):
    frame = diabetes.rename(columns={f"x{j}": f"f{j}" for j in range(1, 11)})
    result = gdc.fit(VECTOR, frame, mapping={"x": ":".join(f"f{j}" for j in range(1, 11))})
    assert result.params["w"].shape == (10,)


def test_a_text_column_the_model_uses_is_an_error(students):
    frame = students.assign(weight=students.weight.astype(str))
    with pytest.raises(GdcError, match="column 'weight' holds .* values, not numbers"):
        gdc.fit(LINEAR, frame, mapping=MAP)


def test_nan_is_refused_with_its_column_and_row_or_dropped(students):
    frame = students.copy()
    frame.loc[4, "weight"] = np.nan
    with pytest.raises(GdcError, match=r"column 'weight' is NaN in row 4") as caught:
        gdc.fit(LINEAR, frame, mapping=MAP)
    assert "drop_nonfinite=True" in caught.value.hint
    result = gdc.fit(LINEAR, frame, mapping=MAP, drop_nonfinite=True)
    assert result.n_rows == len(frame) - 1 and result.problem.dropped == 1


def test_nan_in_a_column_the_model_does_not_use_is_no_concern(students):
    frame = students.assign(notes=np.nan)
    assert gdc.fit(LINEAR, frame, mapping=MAP).n_rows == len(frame)


def test_a_missing_column_names_the_frame(students):
    with pytest.raises(GdcError, match="'x' has no column") as caught:
        gdc.fit("data x, Y\nmodel y = m*x + b\nloss mean((y - Y)^2)", students[["height", "weight"]]
                .rename(columns={"weight": "Y"}))
    assert caught.value.where == "<pandas DataFrame>"


def test_duplicate_names_and_lazy_frames_are_refused(students):
    twice = pd.concat([students, students[["height"]]], axis=1)
    with pytest.raises(GdcError, match="two columns are named 'height'"):
        gdc.fit(LINEAR, twice, mapping=MAP)
    with pytest.raises(GdcError, match="LazyFrame"):
        gdc.fit(LINEAR, pl.from_pandas(students).lazy(), mapping=MAP)


def test_dict_of_series_and_a_tuple(students):
    result = gdc.fit(LINEAR, {"x": students.height, "Y": students.weight})
    assert result.params["m"] == pytest.approx(reference(students)["m"], rel=1e-12)
    with pytest.raises(GdcError, match="a tuple or list has no names"):
        gdc.fit(LINEAR, (students.height, students.weight))


def test_import_gdc_and_fitting_arrays_never_load_pandas_or_polars():
    code = ("import sys, numpy as np, gdc\n"
            "gdc.fit('model y = m*x + b; loss mean((y - Y)^2)', {'x': np.arange(5.0), 'Y': np.arange(5.0)})\n"
            "print(sorted(m for m in ('pandas', 'polars', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
