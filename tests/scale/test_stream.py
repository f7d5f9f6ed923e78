"""Streamed fits over partitioned files: the in-memory answer (1e-10 in the loss, 1e-8 in the
parameters) from the partial sums of 8 Parquet or CSV files, the same bits on a rerun, bad cells
named as for one file, and the methods a partitioned fit refuses."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gdc
from gdc.cli import main
from gdc.errors import GdcError

from scale_models import LINE, VECTOR
# Not least squares, with a penalty outside the mean: only an exact finish of the summed parts
# gives the in-memory loss (averaging the parts' losses would count the penalty 8 times).
LOGISTIC = "model p = sigmoid(w*x + c)\nloss mean(-Y*log(p) - (1 - Y)*log(1 - p)) + 0.01*w^2\n"
PARTS = 8


def _data(rows: int = 4000):
    rng = np.random.default_rng(7)
    x = rng.normal(size=rows)
    y = 2.5 * x - 1.0 + 0.3 * rng.normal(size=rows)
    label = (rng.random(rows) < 1.0 / (1.0 + np.exp(-(1.5 * x + 0.3)))).astype(float)
    return {"x": x, "Y": y, "L": label}


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """The data, and a folder of it in 8 Parquet files of unequal sizes."""
    data = _data()
    folder = tmp_path_factory.mktemp("parts")
    cuts = np.linspace(0, len(data["x"]), PARTS + 1).astype(int) + np.array([0] + [37] * (PARTS - 1) + [0])
    for k in range(PARTS):
        piece = {name: column[cuts[k]:cuts[k + 1]] for name, column in data.items()}
        pq.write_table(pa.table(piece), folder / f"part{k}.parquet")
    return data, folder


def _agree(streamed, memory):
    assert streamed.converged and memory.converged, (streamed.message, memory.message)
    assert abs(streamed.loss - memory.loss) <= 1e-10 * abs(memory.loss)
    for name, value in memory.params.items():
        assert abs(streamed.params[name] - value) <= 1e-8 * max(abs(value), 1.0), name


@pytest.mark.parametrize("method", ["lm", "newton", "lbfgs", "gd"])
def test_a_streamed_fit_gives_the_in_memory_answer(parts, method):
    data, folder = parts
    memory = gdc.fit(LINE, {"x": data["x"], "Y": data["Y"]}, method=method)
    streamed = gdc.fit(LINE, str(folder / "*.parquet"), method=method, stream=True)
    _agree(streamed, memory)
    assert streamed.problem.backend == "stream" and streamed.n_rows == len(data["x"])
    passes = [note for note in streamed.notes if "passes over the data" in note]
    assert passes and passes[0].startswith(f"{streamed.problem.data[0].source.passes} passes")


@pytest.mark.parametrize("method, reads", [("lm", 8), ("newton", 7)])
def test_a_streamed_line_fit_reads_its_files_a_few_times(parts, method, reads):
    """Near the answer Levenberg–Marquardt's trial steps fall below the loss's rounding: the first
    is taken and the fit ends (gdc.fitting.second_order.below_rounding), where λ used to grow
    trial after trial, a read of every file each; the gradient kernel is compiled on one row,
    not a pass; and a trial's loss comes from the JᵀJ (Hessian) pass, which a taken step then
    reuses (LeastSquaresKernels' and HessianKernels' `reads`). lm: 18 passes for this fit, then
    12, now 8 (the check pass, the least-squares and start checks, 4 iterations of one pass
    each, the verdict's probe); newton 9, then 8, now 7. The answer is the closed form's."""
    data, folder = parts
    streamed = gdc.fit(LINE, str(folder / "*.parquet"), method=method, stream=True)
    assert streamed.converged and streamed.problem.data[0].source.passes <= reads
    design = np.column_stack([data["x"], np.ones_like(data["x"])])
    exact, *_ = np.linalg.lstsq(design, data["Y"], rcond=None)
    np.testing.assert_allclose([streamed.params["m"], streamed.params["b"]], exact, rtol=1e-12)


def test_a_pass_at_parameters_already_summed_reads_nothing_again(parts):
    """Every pass reads all the files, so the kernels remember each one's last total: a second
    call at the same parameters gives the same bits without a read; other parameters read."""
    _, folder = parts
    problem = gdc.prepare(LINE, str(folder / "*.parquet"), stream=True)
    kernels, source = problem.kernels, problem.data[0].source
    params, jtj, jtr = np.array([2.0, -1.0]), np.zeros((2, 2)), np.zeros(2)
    before = source.passes
    first = kernels.jtj_jtr(params, *problem.data, jtj, jtr)
    again_jtj, again_jtr = np.zeros((2, 2)), np.zeros(2)
    assert kernels.jtj_jtr(params.copy(), *problem.data, again_jtj, again_jtr) == first
    assert np.array_equal(jtj, again_jtj) and np.array_equal(jtr, again_jtr)
    assert source.passes == before + 1
    kernels.jtj_jtr(params + 1e-12, *problem.data, again_jtj, again_jtr)
    assert source.passes == before + 2


def test_a_loss_with_a_penalty_outside_the_mean_is_finished_once(parts):
    data, folder = parts
    arrays = {"x": data["x"], "Y": data["L"]}
    memory = gdc.fit(LOGISTIC, arrays, method="newton")
    streamed = gdc.fit(LOGISTIC, folder, method="newton", stream=True, mapping={"Y": "L"})
    _agree(streamed, memory)


def test_a_rerun_gives_the_same_bits(parts):
    _, folder = parts
    first = gdc.fit(LINE, folder, method="gd", stream=True)
    second = gdc.fit(LINE, folder, method="gd", stream=True)
    assert first.loss == second.loss and first.params == second.params
    assert np.array_equal(first.history, second.history)


def test_a_glob_that_fits_in_memory_is_loaded(parts):
    data, folder = parts
    loaded = gdc.fit(LINE, str(folder / "part*.parquet"), method="lm")
    assert loaded.problem.backend == "cpu" and loaded.n_rows == len(data["x"])
    _agree(loaded, gdc.fit(LINE, {"x": data["x"], "Y": data["Y"]}, method="lm"))


def test_stochastic_methods_are_refused(parts):
    _, folder = parts
    for options in ({"method": "sgd"}, {"method": "adam", "batch_size": 64}):
        with pytest.raises(GdcError, match="full-batch methods only"):
            gdc.fit(LINE, folder, stream=True, **options)


def test_csv_partitions_and_a_bad_cell(tmp_path, parts):
    data, _ = parts
    rows = len(data["x"]) // 4
    for k in range(4):
        lines = ["x,Y"] + [f"{float(data['x'][i])!r},{float(data['Y'][i])!r}" for i in range(k * rows, (k + 1) * rows)]
        (tmp_path / f"p{k}.csv").write_text("\n".join(lines) + "\n")
    memory = gdc.fit(LINE, {"x": data["x"][:4 * rows], "Y": data["Y"][:4 * rows]}, method="lm")
    _agree(gdc.fit(LINE, str(tmp_path / "*.csv"), method="lm", stream=True), memory)
    bad = tmp_path / "p2.csv"
    lines = bad.read_text().splitlines()
    lines[5] = "0.5,abc"   # line 6 of the file
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(GdcError) as caught:
        gdc.fit(LINE, str(tmp_path / "*.csv"), method="lm", stream=True)
    text = caught.value.render()
    assert "p2.csv" in text and "row 6" in text and "'Y'" in text, text


def test_a_nan_in_a_parquet_partition_is_named(tmp_path):
    for k in range(2):
        y = np.arange(5.0)
        if k == 1:
            y[3] = math.nan
        pq.write_table(pa.table({"x": np.arange(5.0), "Y": y}), tmp_path / f"p{k}.parquet")
    with pytest.raises(GdcError) as caught:
        gdc.fit(LINE, tmp_path, stream=True)
    text = caught.value.render()
    assert "p1.parquet" in text and "row 4" in text and "'Y'" in text, text
    dropped = gdc.fit(LINE, tmp_path, stream=True, drop_nonfinite=True, method="lm")
    assert dropped.n_rows == 9 and dropped.problem.dropped == 1


def test_the_command_line_streams_and_counts_passes(parts, tmp_path, capsys):
    _, folder = parts
    model = tmp_path / "line.gd"
    model.write_text(LINE)
    assert main(["fit", str(model), str(folder / "*.parquet"), "--stream", "--json", "-q"]) == 0
    import json
    found = json.loads(capsys.readouterr().out)
    assert any("passes over the data" in note for note in found["notes"])
    assert main(["fit", str(model), str(folder), "--stream", "--plot", str(tmp_path / "a.png")]) == 1
    assert "--plot" in capsys.readouterr().err
    assert main(["fit", str(model), str(folder), "--stream", "--dask", "local:2"]) == 1   # before any cluster starts
    error = capsys.readouterr().err
    assert "--stream: error: --stream reads the files in this process, and Dask fits on its workers" in error
    assert "Traceback" not in error


def test_no_files_match(tmp_path):
    with pytest.raises(GdcError, match="no data files match"):
        gdc.fit(LINE, str(tmp_path / "*.parquet"))


def test_a_negative_weight_in_one_partition_takes_away_least_squares(tmp_path):
    """sum(W*(y - Y)^2) with one W < 0: its residuals √W·(y − Y) are not real there, which the
    in-memory fit finds and streaming must find too, partition by partition (no lm, no statistics)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    data = {"x": x, "Y": 2 * x + 1 + 0.1 * rng.normal(size=400), "W": np.ones(400)}
    data["W"][300] = -0.5
    for k in range(4):
        pq.write_table(pa.table({n: c[k * 100:(k + 1) * 100] for n, c in data.items()}), tmp_path / f"p{k}.parquet")
    model = "model y = m*x + b\nloss sum(W*(y - Y)^2)\n"
    memory, streamed = gdc.fit(model, data), gdc.fit(model, tmp_path, stream=True)
    assert memory.method == streamed.method == "newton" and streamed.stats is None
    _agree(streamed, memory)


@pytest.fixture(scope="module")
def vector_parts(tmp_path_factory):
    """Columns x1, x2, x3 (the data vector x) and Y, in 8 Parquet files."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3000, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.25 + 0.1 * rng.normal(size=3000)
    folder = tmp_path_factory.mktemp("vector_parts")
    for k, rows in enumerate(np.array_split(np.arange(3000), PARTS)):
        pq.write_table(pa.table({"x1": x[rows, 0], "x2": x[rows, 1], "x3": x[rows, 2], "Y": y[rows]}),
                       folder / f"part{k}.parquet")
    return {"x": x, "Y": y}, folder


def test_a_vector_model_streams(vector_parts, method="lbfgs"):
    """A data vector x[d] read from the columns x1..x3 of every file; the shaped kernels' sums
    kept in an array whose length their own code gives (gdc.runtime.passes.accumulator)."""
    data, folder = vector_parts
    memory = gdc.fit(VECTOR, data, method=method)
    streamed = gdc.fit(VECTOR, folder, method=method, stream=True)
    assert streamed.converged and memory.converged, (streamed.message, memory.message)
    assert abs(streamed.loss - memory.loss) <= 1e-10 * abs(memory.loss)
    assert np.allclose(streamed.params["w"], memory.params["w"], rtol=1e-8, atol=1e-8)
    assert abs(streamed.params["b"] - memory.params["b"]) <= 1e-8
