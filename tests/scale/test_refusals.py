"""The messages a user sees when partitioned data, a Dask spec or a GPU fit cannot be taken: each
refusal of gdc.scale and gdc.fitting.device triggered the way a user would, its words checked."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gdc
from gdc.errors import GdcError

from scale_models import LINE


def _parquet(path, rows: int = 5):
    pq.write_table(pa.table({"x": np.arange(float(rows)), "Y": 2.0 * np.arange(float(rows))}), path)


def _refused(data, match: str, **options) -> GdcError:
    with pytest.raises(GdcError, match=match) as caught:
        gdc.fit(LINE, data, **options)
    return caught.value


def test_mixed_kinds_and_a_foreign_file_are_refused(tmp_path):
    _parquet(tmp_path / "a.parquet")
    (tmp_path / "b.csv").write_text("x,Y\n1,2\n")
    assert _refused(tmp_path / "*", "mix Parquet and CSV").hint == "give one kind"
    (tmp_path / "b.csv").unlink()
    (tmp_path / "notes.txt").write_text("x,Y\n")
    error = _refused(str(tmp_path / "*"), r"must be a \.parquet or \.csv file, not \.txt")
    assert error.where.endswith("notes.txt")


def test_a_csv_partition_without_header_or_a_column_is_named(tmp_path):
    (tmp_path / "a.csv").write_text("")
    assert _refused(str(tmp_path / "*.csv"), "has no header line", stream=True).where.endswith("a.csv")
    (tmp_path / "a.csv").write_text("x,Y\n1,2\n")
    (tmp_path / "b.csv").write_text("x\n1\n")
    error = _refused(str(tmp_path / "*.csv"), r"lacks the column\(s\) Y that", stream=True)
    assert error.where.endswith("b.csv") and "same columns" in error.hint


def test_a_file_that_is_no_parquet_is_named(tmp_path):
    (tmp_path / "a.parquet").write_text("not parquet")
    assert _refused(tmp_path, "cannot read the Parquet file").where.endswith("a.parquet")


def test_partitions_of_headers_only_hold_no_rows(tmp_path):
    for k in range(2):
        (tmp_path / f"p{k}.csv").write_text("x,Y\n")
    _refused(str(tmp_path / "*.csv"), "the partitions hold no data rows", stream=True, method="lm")


def test_data_in_memory_cannot_be_streamed():
    error = _refused({"x": np.arange(3.0), "Y": np.arange(3.0)}, "take files or a Dask DataFrame, not dict",
                     stream=True)
    assert "stream=" in error.hint


def test_sigma_is_refused_when_streamed(tmp_path):
    pq.write_table(pa.table({"x": np.arange(4.0), "Y": np.arange(4.0), "dY": np.ones(4)}),
                   tmp_path / "a.parquet")
    error = _refused(tmp_path, "--sigma is not offered for streamed or Dask fits", stream=True, sigma="dY")
    assert error.where == "--sigma"


def test_streamed_data_are_not_copied_to_the_gpu(tmp_path):
    _parquet(tmp_path / "a.parquet")
    error = _refused(tmp_path, "--device gpu copies data held in memory to the GPU; these are streamed "
                               "from disk", stream=True, device="gpu", method="lm")
    assert error.where == "--device"


def test_an_unknown_dtype_is_refused():
    from gdc.fitting.device import checked_device
    with pytest.raises(GdcError, match="--dtype must be one of float64, float32, not 'float16'"):
        checked_device("gpu", "float16")


def test_local_dask_needs_a_number_of_workers():
    from gdc.scale.dask_source import connect
    for spec in ("local:0", "local:many"):
        with pytest.raises(GdcError, match="local:N takes a number of workers N ≥ 1"):
            connect(spec)


def test_more_local_workers_than_cores_and_an_unparsable_address_are_refused(monkeypatch):
    """local:99999 started 99999 processes (a hang), tcp:// was an internal error: both are
    refused before any cluster starts or any connection is tried."""
    from gdc.scale import dask_source
    monkeypatch.setattr(dask_source, "_cores", lambda: 2)
    with pytest.raises(GdcError, match="this machine has 2 cores for 3 worker processes") as refused:
        dask_source.connect("local:3")
    assert refused.value.hint == "give at most local:2, or a scheduler's address"
    for spec in ("tcp://", "tcp://host:notaport"):
        with pytest.raises(GdcError, match=f"--dask {spec} is not a scheduler's address") as refused:
            dask_source.connect(spec)
        assert "tcp://HOST:PORT" in refused.value.hint


def test_a_device_array_of_integers_is_refused():
    from numba import cuda as numba_cuda
    from gdc.runtime import cuda
    with pytest.raises(GdcError, match="a device array must hold float64 or float32, not int64"):
        cuda.to_device(numba_cuda.to_device(np.arange(3, dtype=np.int64)))


def test_cuda_kernels_of_kernels_not_compiled_here_say_how_to_get_them():
    from types import SimpleNamespace
    from gdc.runtime import cuda
    with pytest.raises(GdcError, match="not compiled from a text in this process") as caught:
        cuda.counterpart(SimpleNamespace(model_hash="0" * 64))
    assert caught.value.hint == "gdc.compile(model).cuda"


def test_a_file_rewritten_between_passes_is_named(tmp_path):
    import os
    from gdc.api import prepare
    for k in range(2):
        _parquet(tmp_path / f"p{k}.parquet")
    problem = prepare(LINE, tmp_path, stream=True)
    source = problem.data[0].source
    params = np.zeros(len(problem.kernels.param_names))
    assert len(source.map("loss", params)) == 2   # the files as checked: one sum each
    _parquet(tmp_path / "p1.parquet", rows=7)
    os.utime(tmp_path / "p1.parquet", ns=(1, 1))   # a stamp unlike the checked one, whatever the clock
    with pytest.raises(GdcError, match="the file changed while the fit was reading it") as caught:
        source.map("loss", params)
    assert caught.value.where.endswith("p1.parquet") and "copy" in caught.value.hint


def test_each_partition_header_is_read_once(tmp_path, monkeypatch):
    from gdc.scale import files
    paths = []
    for k in range(3):
        (tmp_path / f"p{k}.csv").write_text("x,Y,Z\n1,2,3\n")
        paths.append(str(tmp_path / f"p{k}.csv"))
    reads = []
    real = files.column_names
    monkeypatch.setattr(files, "column_names", lambda path: reads.append(path) or real(path))
    files.same_columns(paths, ("x", "Y", "Z"))
    assert reads == paths[1:]   # the first file's names are given; each other file is read once


def test_a_dataframe_cell_that_is_no_number_names_its_partition():
    import pandas as pd
    from gdc.scale.dask_source import _frame_columns
    piece = pd.DataFrame({"x": [1.0, 2.0], "Y": ["3", "abc"]})
    with pytest.raises(GdcError, match="column 'Y' holds a value that is not a number") as caught:
        _frame_columns(piece, ("x", "Y"), 2, drop=False)
    assert caught.value.where == "partition 3 of the DataFrame"


def test_a_dask_dataframe_without_a_client_says_how_to_give_one(monkeypatch):
    import pandas as pd
    import dask.dataframe as dd
    import distributed

    def none_running():   # as distributed says it; another test's cluster may live in this worker
        raise ValueError("No global client found and no address provided")
    monkeypatch.setattr(distributed, "get_client", none_running)
    frame = dd.from_pandas(pd.DataFrame({"x": np.arange(4.0), "Y": np.arange(4.0)}), npartitions=2)
    error = _refused(frame, "a Dask DataFrame is fitted on a Dask cluster, and no client is running",
                     method="lm")
    assert "client=distributed.Client" in error.hint


def test_plot_is_refused_for_partitioned_data():
    from gdc.fitting.out_of_core import plot_allowed
    for backend in ("stream", "dask"):
        with pytest.raises(GdcError, match="--plot draws the data's rows, which a streamed or Dask fit does not hold"):
            plot_allowed(backend)
    plot_allowed("cpu")   # in memory: allowed


def test_dask_not_installed_says_how_to_install_it(monkeypatch):
    import sys
    from gdc.scale.dask_source import connect
    monkeypatch.setitem(sys.modules, "distributed", None)   # `import distributed` fails as if absent
    with pytest.raises(GdcError, match="Dask is not installed") as caught:
        connect("local:2")
    assert "gdc[dask]" in caught.value.hint


def test_kernels_without_a_module_file_cannot_go_to_dask_workers(tmp_path):
    import dataclasses
    _parquet(tmp_path / "a.parquet")
    kernels = dataclasses.replace(gdc.compile(LINE), path=None)
    with pytest.raises(GdcError, match="the kernels have no module file to send to the Dask workers"):
        gdc.fit(kernels, tmp_path, client=object(), method="lm")   # refused before the client is used


def test_class_labels_are_refused_when_streamed(tmp_path):
    (tmp_path / "a.csv").write_text("x1,label\n0.5,0\n-0.5,1\n1.5,2\n")
    model = "data x[d], Y[K] from label\nparam c[K] = 0\nmodel z = c\nloss mean(logsumexp(z) - sum(Y * z))\n"
    with pytest.raises(GdcError, match=r"cannot take a model with class labels \(`data Y\[K\] from label`\) yet"):
        gdc.fit(model, str(tmp_path / "*.csv"), stream=True, method="lm")


def test_stream_and_dask_together_are_refused(tmp_path):
    """--stream reads in this process, Dask on its workers: asked for both, gdc does not pick one."""
    import pandas as pd
    import dask.dataframe as dd
    _parquet(tmp_path / "a.parquet")
    frame = dd.from_pandas(pd.DataFrame({"x": np.arange(4.0), "Y": np.arange(4.0)}), npartitions=2)
    for data, options in ((tmp_path, dict(client="tcp://127.0.0.1:1")), (frame, {})):   # refused before connecting
        error = _refused(data, "--stream reads the files in this process, and Dask fits on its workers",
                         stream=True, **options)
        assert error.where == "--stream" and "leave out --stream" in error.hint
