"""Partitioned data to a Problem: the files (or DataFrame) and their columns, the model's data
names bound to them as for one file, and the kernels whose passes run over the parts."""

from __future__ import annotations

import os
from typing import Callable, Mapping, Sequence

import numpy as np

from gdc.errors import GdcError
from gdc.fitting.problem import DataIn, FitResult, Problem, bind, model_identity
from gdc.io.data import Table, bound_columns
from gdc.runtime import passes
from gdc.runtime.kernels import Kernels
from .files import batches, column_names, partition_files, same_columns
from .partitioned import Column, Streamed, partitioned_kernels

__all__ = ["Parts", "Streamed", "prepare_parts", "refuse_stream_with_dask", "check_kernels", "partitioned_problem", "with_passes",
           "free_memory"]

MEMORY_SHARE = 0.25   # a glob is loaded into memory when its columns take at most this share of the free memory


class Parts:
    """Partitioned data as given, before the model is known: its files or Dask DataFrame, and names."""

    def __init__(self, spec, frame=None):
        if frame is not None:
            self.files, self.source = (), "<Dask DataFrame>"
            self.names = tuple(str(name) for name in frame.columns)
        else:
            if not isinstance(spec, (str, os.PathLike)):
                raise GdcError(f"streamed and Dask fits take files or a Dask DataFrame, not {type(spec).__name__}",
                               where="gdc.fit", hint="give a glob such as 'data/*.parquet', a folder, or "
                                                     "a Dask DataFrame; or leave out stream= and client=")
            self.source = os.fspath(spec)
            self.files = partition_files(spec)
            self.names = column_names(self.files[0])
            same_columns(self.files, self.names)
        self.origin = "the partitions' columns"

    def bound(self, kernels: Kernels, mapping: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
        """The columns that feed each of the kernels' data names (gdc.io.data.bound_columns)."""
        empty = Table(self.source, self.names, {name: np.empty(0) for name in self.names}, 0, 0)
        shapes = dict(zip(kernels.data_names, kernels.data_shapes))
        labels = dict(kernels.labels)
        mapping = {**labels, **mapping}   # `data Y[K] from label`: the label column, unless mapped
        return bound_columns(empty, kernels.data_names, mapping, {n: s for n, s in shapes.items() if n not in labels})

    def fits_in_memory(self, columns: int) -> bool:
        """Whether the chosen columns of every file, as float64, take at most MEMORY_SHARE of the
        memory free now (Parquet: the row counts its footers give; CSV: its text's size)."""
        need = 0
        for path in self.files:
            if path.lower().endswith(".csv"):
                need += os.path.getsize(path)
            else:
                import pyarrow.parquet as pq
                need += pq.read_metadata(path).num_rows * 8 * columns
        return need <= MEMORY_SHARE * free_memory()

    def gathered(self, used: Sequence[str], drop: bool) -> tuple[dict[str, np.ndarray], int]:
        """Every file's chosen columns, one after another, in memory (and the rows dropped)."""
        dropped: list[int] = []
        read = [b for path in self.files for b in batches(path, used, drop, dropped=dropped)]
        if not read:
            raise GdcError("the partitions hold no data rows", where=self.source)
        return {name: np.concatenate([b[j] for b in read]) for j, name in enumerate(used)}, sum(dropped)


def prepare_parts(compiled: Callable, data, mapping: dict, *, drop: bool, sigma: str | None,
                  absolute_sigma: bool, stream: bool, client) -> Problem:
    """The Problem of partitioned data: in memory when a glob's columns fit (and neither
    streaming nor Dask is asked for), else over the parts. `compiled(known names, their
    origin, the data's names, its source, mapping)` gives (kernels, model text, model file)."""
    from .dask_source import is_dask_frame
    frame = data if is_dask_frame(data) else None
    refuse_stream_with_dask(stream, client is not None or frame is not None)
    parts = Parts(None if frame is not None else data, frame)
    known = parts.names + tuple(name for name in mapping if name not in parts.names)
    origin = parts.origin + (" or --map" if mapping else "")
    kernels, text, model_source = compiled(known, origin, parts.names, parts.source, mapping)
    bound = parts.bound(kernels, mapping)
    used = tuple(dict.fromkeys(c for columns in bound.values() for c in columns))
    given = dict(text=text, model_source=model_source, classified_by=(known, origin))
    if frame is None and client is None and not stream and parts.fits_in_memory(len(used) + 1):
        wanted = used + ((sigma,) if sigma is not None and sigma not in used else ())
        columns, dropped = parts.gathered(wanted, drop)
        table = Table(parts.source, wanted, columns, len(columns[wanted[0]]), dropped)
        return bind(kernels, DataIn(parts.source, wanted, parts.origin, table=table, dropped=dropped),
                    mapping, sigma=sigma, absolute_sigma=absolute_sigma, **given)
    if sigma is not None:
        raise GdcError("--sigma is not offered for streamed or Dask fits yet", where="--sigma",
                       hint="weigh the residuals in the model text, e.g. mean(((y - Y)/S)^2)")
    check_kernels(kernels)
    shapes = dict(zip(kernels.data_names, kernels.data_shapes))
    groups = tuple((tuple(used.index(c) for c in bound[name]), bool(shapes.get(name)))
                   for name in kernels.data_names)
    source = _source(kernels, parts, frame, used, groups, drop, client)
    shown = tuple(":".join(bound[name]) for name in kernels.data_names)
    return partitioned_problem(kernels, parts, shown, used, source, **given)


def refuse_stream_with_dask(stream: bool, dask: bool) -> None:
    """--stream reads in this process, Dask on its workers: asked for both, say so (before a
    cluster is started or reached)."""
    if stream and dask:
        raise GdcError("--stream reads the files in this process, and Dask fits on its workers: "
                       "give one of them", where="--stream", hint="leave out --stream to fit on Dask")


def _source(kernels: Kernels, parts: Parts, frame, used: tuple[str, ...], groups, drop: bool, client):
    """Streamed files, or the partitions on Dask workers (a client given, or a DataFrame's)."""
    if client is None and frame is None:
        return Streamed(parts.files, used, groups, drop, kernels.module)
    from .dask_source import DaskPartitions, default_client, file_parts, frame_parts
    if kernels.path is None:
        raise GdcError("the kernels have no module file to send to the Dask workers", where="gdc.fit",
                       hint="give the model as text or a .gd file")
    client = client if client is not None else default_client()
    futures = (frame_parts(client, frame, used, groups, drop) if frame is not None
               else file_parts(client, parts.files, used, groups, drop))
    return DaskPartitions(client, futures, kernels.path, kernels.model_hash)


def free_memory() -> int:
    """Bytes of memory free for new data (MemAvailable), or 4 GiB where the system does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def check_kernels(kernels: Kernels) -> None:
    why = passes.splittable(kernels.module)
    if why is not None:
        raise GdcError(f"partitioned data (streamed or on Dask) cannot take {why} yet", where="--stream/--dask",
                       hint="load the data into memory (one file, or a glob without --stream)")


def partitioned_problem(kernels: Kernels, parts: Parts, shown: tuple[str, ...], used: tuple[str, ...], source,
                        *, text: str | None, model_source: str | None, classified_by) -> Problem:
    """The Problem whose data are Columns of `source` (Streamed or DaskPartitions); `shown`:
    each data name's column(s) for the report, `used`: every file column read."""
    columns = tuple(Column(source, j) for j in range(len(kernels.data_names)))
    unused = tuple(name for name in parts.names if name not in used)
    layout = kernels.layout(source.head, parts.source)   # the sizes a vector's columns give
    return Problem(partitioned_kernels(kernels, source), columns, shown, parts.source, source.rows,
                   source.dropped, unused, model_source, model_identity(text, kernels), classified_by,
                   layout, text, backend=source.kind)


def with_passes(result: FitResult, problem: Problem) -> FitResult:
    """The result with a note of how many passes over the data the fit made (each is a read of
    every partition when streamed)."""
    import dataclasses
    source = problem.data[0].source if problem.data and isinstance(problem.data[0], Column) else None
    if source is None:
        return result
    note = (f"{source.passes} passes over the data ({source.describe()}; "
            + ("the first reads and checks every value)" if source.kind == "stream" else "loaded into the workers once)"))
    return dataclasses.replace(result, notes=result.notes + (note,))
