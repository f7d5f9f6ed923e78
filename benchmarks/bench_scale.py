"""Larger data: streamed fits, the Dask path's per-pass overhead, and dask-ml side by side.

    python benchmarks/bench_scale.py [--rows 1e8] [--glm-rows 1e7] [--part stream,dask,glm]

stream  A Parquet dataset of ROWS rows × 3 float64 columns (x, z, Y; 16 files) is written to a
        temporary folder; a linear model's gd (automatic steps) streams it (`gdc fit --stream`,
        in a child process whose peak RSS is read back), beside one pass of pyarrow alone
        reading the same columns in the same batches.
dask    A LocalCluster of 2 worker processes (1 thread each) holds 16 in-memory partitions; the
        time of one pass of the fused loss+gradient over them, against the kernel's own time
        on the same rows, at 16·10³ rows (overhead alone) and 16·10⁶ rows.
glm     Logistic regression on GLM_ROWS rows × 10 features on the same cluster: gdc (lbfgs,
        newton) against dask-ml's LogisticRegression(solver="lbfgs" / "newton"), unpenalized.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LINE3 = "model y = a*x + c*z + b\nloss mean((y - Y)^2)\n"
FEATURES = 10
LOGISTIC = ("model p = sigmoid(" + " + ".join(f"w{j}*x{j}" for j in range(1, FEATURES + 1)) + " + b)\n"
            "loss mean(-Y*log(p) - (1 - Y)*log(1 - p))\n")


def write_parquet(folder: Path, rows: int, files: int = 16, chunk: int = 2_000_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(0)
    per = rows // files
    for k in range(files):
        with pq.ParquetWriter(folder / f"part{k:02d}.parquet", pa.schema([(n, pa.float64()) for n in "xzY"]),
                              compression="none") as writer:
            for start in range(0, per, chunk):
                n = min(chunk, per - start)
                x, z = rng.standard_normal(n), rng.standard_normal(n)
                writer.write_table(pa.table({"x": x, "z": z, "Y": 2.0 * x - 0.5 * z + 1.0 + 0.1 * rng.standard_normal(n)}))


def pyarrow_pass(folder: Path) -> float:
    """One pass of pyarrow alone: every file's 3 columns, in gdc's batches, to float64 NumPy."""
    import pyarrow.parquet as pq
    from gdc.scale.files import BATCH_ROWS
    started = time.perf_counter()
    total = 0.0
    for path in sorted(folder.glob("*.parquet")):
        with pq.ParquetFile(path) as f:
            for batch in f.iter_batches(batch_size=BATCH_ROWS, columns=["x", "z", "Y"]):
                for name in ("x", "z", "Y"):
                    total += batch.column(name).to_numpy()[0]
    return time.perf_counter() - started


CHILD = """
import json, resource, sys, time
import gdc
started = time.perf_counter()
result = gdc.fit(sys.argv[1], sys.argv[2], method="gd", stream=True)
seconds = time.perf_counter() - started
passes = result.problem.data[0].source.passes
print(json.dumps(dict(seconds=seconds, fit_seconds=result.seconds, load_seconds=result.load_seconds, passes=passes, loss=result.loss,
                      params=result.params, converged=result.converged, message=result.message,
                      rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def bench_stream(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        folder.mkdir()
        started = time.perf_counter()
        write_parquet(folder, rows)
        size = sum(p.stat().st_size for p in folder.glob("*.parquet"))
        print(f"wrote {rows:.3g} rows, {size / 2**30:.2f} GiB of Parquet in {time.perf_counter() - started:.0f} s")
        model = Path(tmp) / "line.gd"
        model.write_text(LINE3)
        reads = [pyarrow_pass(folder) for _ in range(2)]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-c", CHILD, str(model), str(folder)], env=env,
                              capture_output=True, text=True, check=True)
        found = json.loads(done.stdout)
        reads.append(pyarrow_pass(folder))
        per_pass = (found["seconds"] - found["load_seconds"]) / found["passes"]
        read = statistics.median(reads)
        print(f"| streamed gd, {rows:.3g} rows | {found['passes']} passes | {found['seconds']:.1f} s | "
              f"{per_pass:.2f} s/pass | pyarrow alone {read:.2f} s/pass (runs {', '.join(f'{r:.2f}' for r in reads)}) | "
              f"ratio {per_pass / read:.2f} | peak RSS {found['rss_mb']:.0f} MB |")
        print(f"  converged {found['converged']}: {found['message']}")
        print(f"  params {found['params']}")


def _cluster():
    import distributed
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    return distributed.Client(cluster), cluster


def bench_dask(client) -> dict:
    """Per pass over 16 partitions held in memory by the workers, against the kernels' own time
    there (each worker's partitions, one after another, timed on the worker)."""
    import gdc
    from gdc.scale.dask_source import DaskPartitions
    from gdc.scale.partitioned import Column, partitioned_kernels
    kernels = gdc.api.compile_text("<bench>", LINE3, ["x", "z", "Y"])
    module = (kernels.model_hash, Path(kernels.path).read_text())
    measured = {}
    for rows in (16_000, 16_000_000):
        per = rows // 16
        futures = [client.submit(_make_part, per, k, pure=False) for k in range(16)]
        source = DaskPartitions(client, futures, kernels.path, kernels.model_hash)
        proxy = partitioned_kernels(kernels, source).module
        params, grad = np.array([0.5, 0.5, 0.5]), np.zeros(3)
        handles = [Column(source, j) for j in range(3)]
        for _ in range(3):   # the workers load the kernels and warm up
            proxy.loss_grad(params, *handles, grad)
        groups: dict[str, list] = {}
        for part in source.parts:
            groups.setdefault(sorted(client.who_has([part])[part.key])[0], []).append(part)
        walls, kernels_at = [], []
        for _ in range(15):
            started = time.perf_counter()
            proxy.loss_grad(params, *handles, grad)
            walls.append(time.perf_counter() - started)
            kernels_at.append(max(client.gather([client.submit(_timed, module, parts, workers=[w], pure=False)
                                                 for w, parts in groups.items()])))
        wall, kernel = statistics.median(walls), statistics.median(kernels_at)
        # the same pass with one task per partition (16 tasks instead of 2): the scheduler's cost per task
        loose = []
        from gdc.scale import work
        for _ in range(15):
            started = time.perf_counter()
            client.gather([client.submit(work.on_worker, source.module, "loss_grad", params, part, pure=False)
                           for part in source.parts])
            loose.append(time.perf_counter() - started)
        per_task = (statistics.median(loose) - wall) / 14
        measured[rows] = dict(wall=wall, kernel=kernel, per_task=per_task, per_row=kernel / (8 * per))
        print(f"| dask pass, 16 partitions × {per:.3g} rows, 2 workers | {wall * 1e3:.1f} ms (median of 15; "
              f"min {min(walls) * 1e3:.1f}) | kernels on the busier worker {kernel * 1e3:.1f} ms "
              f"({kernel / (8 * per) * 1e9:.2f} ns/row) | overhead {(wall - kernel) * 1e3:.1f} ms | "
              f"one task per partition: {statistics.median(loose) * 1e3:.1f} ms, "
              f"{per_task * 1e3:.2f} ms per extra task |")
        del futures, source
    return measured


def _timed(module, parts) -> float:
    """Seconds of the kernels alone over one worker's partitions (as a pass runs them)."""
    from gdc.scale import work
    started = time.perf_counter()
    work.on_worker_parts(module, "loss_grad", np.array([0.5, 0.5, 0.5]), parts)
    return time.perf_counter() - started


def _make_part(rows: int, k: int):
    """A partition as the workers hold one: (its columns, no rows dropped)."""
    rng = np.random.default_rng(k)
    x, z = rng.standard_normal(rows), rng.standard_normal(rows)
    return (x, z, 2.0 * x - 0.5 * z + 1.0 + 0.1 * rng.standard_normal(rows)), 0


def bench_glm(client, rows: int) -> None:
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd
    import gdc
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(3)
        truth = rng.normal(size=FEATURES) / np.sqrt(FEATURES)
        per = rows // 16
        for k in range(16):
            x = rng.standard_normal((per, FEATURES))
            y = (rng.random(per) < 1.0 / (1.0 + np.exp(-(x @ truth + 0.2)))).astype(float)
            frame = pd.DataFrame({f"x{j + 1}": x[:, j] for j in range(FEATURES)} | {"Y": y})
            frame.to_parquet(folder / f"part{k:02d}.parquet")
        frame = dd.read_parquet(str(folder / "*.parquet")).persist()   # both read it from memory
        table = frame.to_dask_array(lengths=True).persist()
        gdc.fit(LOGISTIC, frame.partitions[0], method="lbfgs", client=client)   # compiled and loaded first
        X, y = table[:, :FEATURES], table[:, FEATURES]
        client.wait_for_workers(2)
        from dask_ml.linear_model import LogisticRegression
        from gdc.fitting.run import run
        for gdc_method, their in (("lbfgs", "lbfgs"), ("newton", "newton")):
            started = time.perf_counter()
            problem = gdc.api.prepare(LOGISTIC, frame, client=client)   # the partitions loaded into gdc's columns
            loading = time.perf_counter() - started
            found = run(problem, gdc.api.fit_options(gdc_method, None))
            ours = time.perf_counter() - started
            coef = np.array([found.params[f"w{j + 1}"] for j in range(FEATURES)] + [found.params["b"]])
            model = LogisticRegression(solver=their, penalty=None, tol=1e-10, max_iter=200)
            started = time.perf_counter()
            model.fit(X, y)
            theirs = time.perf_counter() - started
            other = np.append(np.asarray(model.coef_), model.intercept_)
            diff = float(np.max(np.abs(coef - other)))
            passes = problem.data[0].source.passes
            print(f"| logistic {rows:.3g}×{FEATURES}, gdc {gdc_method} | {ours:.1f} s, of which {loading:.1f} s "
                  f"loading the partitions ({found.iterations} iterations, {passes} passes, converged "
                  f"{found.converged}) | dask-ml {their} {theirs:.1f} s | {theirs / ours:.1f}× "
                  f"({theirs / (ours - loading):.1f}× without the loading) | max |Δcoef| {diff:.2g} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=float, default=1e8)
    parser.add_argument("--glm-rows", type=float, default=1e7)
    parser.add_argument("--part", default="stream,dask,glm")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    parts = args.part.split(",")
    if "stream" in parts:
        bench_stream(int(args.rows))
    if "dask" in parts or "glm" in parts:
        client, cluster = _cluster()
        try:
            if "dask" in parts:
                bench_dask(client)
            if "glm" in parts:
                bench_glm(client, int(args.glm_rows))
        finally:
            client.close()
            cluster.close()


if __name__ == "__main__":
    main()
