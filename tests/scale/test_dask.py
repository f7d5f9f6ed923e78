"""Fits on a real Dask LocalCluster (2 worker processes, started here and shut down): the
in-memory answer from files and from a Dask DataFrame, the same bits on a rerun and after a
worker is killed mid-fit, and an unreachable scheduler reported within seconds."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gdc
from gdc.errors import GdcError

distributed = pytest.importorskip("distributed", reason="pip install 'gdc[dask]'")
dd = pytest.importorskip("dask.dataframe")

from scale_models import LINE, VECTOR
PARTS = 8


@pytest.fixture(scope="module")
def client():
    """2 worker processes of 2 threads: a worker's partitions run on both (gdc.scale.work)."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    rng = np.random.default_rng(11)
    x = rng.normal(size=4000)
    y = 2.5 * x - 1.0 + 0.3 * rng.normal(size=4000)
    folder = tmp_path_factory.mktemp("dask_parts")
    for k, (xs, ys) in enumerate(zip(np.array_split(x, PARTS), np.array_split(y, PARTS))):
        pq.write_table(pa.table({"x": xs, "Y": ys}), folder / f"part{k}.parquet")
    return {"x": x, "Y": y}, folder


def _agree(found, memory):
    assert found.converged and memory.converged, (found.message, memory.message)
    assert abs(found.loss - memory.loss) <= 1e-10 * abs(memory.loss)
    for name, value in memory.params.items():
        assert np.all(np.abs(found.params[name] - value) <= 1e-8 * np.maximum(np.abs(value), 1.0)), name


def test_files_on_the_cluster_give_the_in_memory_answer(client, parts):
    data, folder = parts
    for method in ("lm", "lbfgs"):
        memory = gdc.fit(LINE, data, method=method)
        found = gdc.fit(LINE, folder, method=method, client=client)
        _agree(found, memory)
        assert found.problem.backend == "dask"
        assert any("passes over the data (8 partitions on 2 Dask workers" in n for n in found.notes)
    again = gdc.fit(LINE, folder, method="lbfgs", client=client)
    assert again.params == found.params and again.loss == found.loss   # the same bits


def test_a_dask_dataframe(client, parts):
    data, folder = parts
    frame = dd.read_parquet(str(folder / "*.parquet"))
    found = gdc.fit(LINE, frame, method="newton", client=client)
    _agree(found, gdc.fit(LINE, data, method="newton"))
    streamed = gdc.fit(LINE, folder, method="newton", stream=True)
    assert found.params == streamed.params   # the same parts, added in the same order


def test_a_bad_value_in_a_dataframe_partition_is_named(client):
    import pandas as pd
    frame = pd.DataFrame({"x": np.arange(20.0), "Y": np.arange(20.0)})
    frame.loc[13, "Y"] = np.nan
    with pytest.raises(GdcError) as caught:
        gdc.fit(LINE, dd.from_pandas(frame, npartitions=4), client=client)
    text = caught.value.render()
    assert "partition 3" in text and "row 4" in text and "'Y'" in text, text
    dropped = gdc.fit(LINE, dd.from_pandas(frame, npartitions=4), client=client, drop_nonfinite=True, method="lm")
    assert dropped.n_rows == 19 and dropped.problem.dropped == 1
    assert abs(dropped.params["m"] - 1.0) < 1e-12 and abs(dropped.params["b"]) < 1e-10


def test_a_worker_killed_mid_fit_is_survived(client, parts):
    """gd with a fixed rate takes many passes; one worker is killed after a few, its nanny
    starts another, the scheduler reruns the lost tasks from the files: same bits."""
    _, folder = parts
    options = dict(method="gd", lr=0.05, epochs=100, tol=0.0, gtol=1e-300)
    started = time.perf_counter()
    calm = gdc.fit(LINE, folder, client=client, **options)
    seconds = time.perf_counter() - started
    victim = sorted(client.run(os.getpid).items())[0][1]
    found = {}
    fit = threading.Thread(target=lambda: found.update(result=gdc.fit(LINE, folder, client=client, **options)))
    fit.start()
    time.sleep(seconds / 3)
    assert fit.is_alive()   # killed mid-fit, not after it
    os.kill(victim, signal.SIGKILL)
    fit.join(timeout=120)
    assert not fit.is_alive()
    assert found["result"].params == calm.params and found["result"].loss == calm.loss
    client.wait_for_workers(2, timeout=30)
    assert victim not in client.run(os.getpid).values()   # it did die, and another took its place


def test_an_unreachable_scheduler_is_an_error_within_seconds(monkeypatch):
    from gdc.scale import dask_source
    monkeypatch.setattr(dask_source, "CONNECT_SECONDS", 1)
    started = time.perf_counter()
    with pytest.raises(GdcError, match="cannot reach the Dask scheduler"):
        gdc.fit(LINE, {"x": [1.0, 2.0], "Y": [1.0, 2.0]}, client="tcp://127.0.0.1:9")
    assert time.perf_counter() - started < 5


def test_the_command_line_refuses_a_bad_dask_address(tmp_path, capsys):
    from gdc.cli import main
    model = tmp_path / "line.gd"
    model.write_text(LINE)
    assert main(["fit", str(model), str(tmp_path / "*.parquet"), "--dask", "head:8786"]) == 1
    assert "give local:N or a scheduler's address" in capsys.readouterr().err


def test_a_vector_model_on_the_cluster(client, tmp_path):
    """x[d] from the columns x1..x3: the workers assemble each partition's (rows, 3) array once."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2000, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.25 + 0.1 * rng.normal(size=2000)
    for k, rows in enumerate(np.array_split(np.arange(2000), 4)):
        pq.write_table(pa.table({"x1": x[rows, 0], "x2": x[rows, 1], "x3": x[rows, 2], "Y": y[rows]}),
                       tmp_path / f"part{k}.parquet")
    memory = gdc.fit(VECTOR, {"x": x, "Y": y}, method="lbfgs")
    _agree(gdc.fit(VECTOR, tmp_path, method="lbfgs", client=client), memory)


def test_profile_intervals_with_a_client_started_for_the_fit(parts):
    """client="local:N" is started and closed by gdc.fit: the profile's refits run before the
    close (they once met a closed client), and give the in-memory intervals."""
    data, folder = parts
    found = gdc.fit(LINE, folder, client="local:1", method="lm", ci="profile")
    memory = gdc.fit(LINE, data, method="lm", ci="profile")
    assert found.intervals is not None and found.intervals.how == "profile"
    np.testing.assert_allclose(found.intervals.low, memory.intervals.low, rtol=1e-6)
    np.testing.assert_allclose(found.intervals.high, memory.intervals.high, rtol=1e-6)
