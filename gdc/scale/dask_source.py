"""Partitions held by Dask workers: a client (given, a LocalCluster of N workers, or a running
scheduler), the data loaded once into the workers' memory as contiguous float64 columns, the
kernels' module sent once, and each pass one task per partition whose sums the client adds in
partition order. A worker lost mid-fit is survived: the scheduler reruns its tasks, loading its
partitions again from their source (the files, or the DataFrame's graph)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from gdc.errors import GdcError
from . import work

CONNECT_SECONDS = 5   # an unreachable scheduler is an error after this long, not a hang


def is_dask_frame(data) -> bool:
    """A Dask DataFrame (told without importing Dask)."""
    return type(data).__module__.startswith("dask") and hasattr(data, "to_delayed")


def connect(spec: str):
    """(client, cluster or None) for `--dask local:N` or `--dask tcp://host:port`; the caller closes them."""
    distributed = _distributed()
    if spec.startswith("local:"):
        count, cores = spec.removeprefix("local:"), _cores()
        if not count.isdigit() or int(count) < 1:
            raise GdcError(f"--dask {spec}: local:N takes a number of workers N ≥ 1", where="--dask")
        if int(count) > cores:   # each worker is a process: more than the cores only compete for them
            raise GdcError(f"--dask {spec}: this machine has {cores} cores for {count} worker processes",
                           where="--dask", hint=f"give at most local:{cores}, or a scheduler's address")
        cluster = distributed.LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        return distributed.Client(cluster), cluster
    if "://" not in spec:
        raise GdcError(f"--dask {spec}: give local:N or a scheduler's address such as tcp://host:8786",
                       where="--dask")
    try:   # parsed here, before any client: one made on an address it cannot parse may hang
        scheme, location = distributed.comm.parse_address(spec)
        if scheme in ("tcp", "tls"):
            distributed.comm.parse_host_port(location)
    except ValueError as exc:   # distributed's own words for an address it cannot parse
        raise GdcError(f"--dask {spec} is not a scheduler's address ({exc})", where="--dask",
                       hint="give tcp://HOST:PORT, such as tcp://127.0.0.1:8786") from None
    try:
        return distributed.Client(spec, timeout=CONNECT_SECONDS), None
    except (OSError, TimeoutError) as exc:
        raise GdcError(f"cannot reach the Dask scheduler at {spec} within {CONNECT_SECONDS} s ({exc})",
                       where="--dask", hint="start it (`dask scheduler`, then `dask worker ADDRESS`), "
                                            "or use --dask local:N for workers on this machine") from None


def _cores() -> int:
    """The cores this process may run on (its affinity, which a container narrows), else all."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_client():
    """The Dask client this process made last, or an error that says how to give one."""
    try:
        return _distributed().get_client()
    except ValueError:
        raise GdcError("a Dask DataFrame is fitted on a Dask cluster, and no client is running",
                       where="gdc.fit", hint="pass client=distributed.Client(...), or create one first") from None


def _distributed():
    try:
        import distributed
    except ImportError:
        raise GdcError("Dask is not installed", where="--dask",
                       hint="pip install 'gdc[dask]' (dask and distributed)") from None
    return distributed


class DaskPartitions:
    """The partitions as futures on the workers, and the passes over them."""

    kind = "dask"

    def __init__(self, client, parts: list, module_path: str, key: str):
        self.client, self.passes = client, 0
        text = Path(module_path).read_text(encoding="utf-8")   # the sealed module, as gdc wrote it
        self.module = client.submit(_pair, key, text, pure=True)   # sent once, fetched by workers
        counts = client.gather([client.submit(work.rows_of, part) for part in parts])
        self.parts = [part for part, (n, _) in zip(parts, counts) if n]   # empty partitions add nothing
        self.rows, self.dropped = sum(n for n, _ in counts), sum(d for _, d in counts)
        if not self.parts:
            raise GdcError("the partitions hold no data rows", where="gdc.fit")
        self.head = client.submit(work.first_row, self.parts[0]).result()
        self._holders = client.who_has(self.parts)

    def map(self, task: str, params: np.ndarray) -> list[np.ndarray]:
        """Each partition's sums, in partition order: one task per worker over the partitions it
        holds (a task per partition costs the scheduler ~3 ms each); a task whose worker is gone
        runs elsewhere, its partitions loaded again from their source."""
        self.passes += 1
        groups: dict[str, list[int]] = {}
        for k, part in enumerate(self.parts):
            holders = self._holders.get(part.key) or ("",)
            groups.setdefault(sorted(holders)[0], []).append(k)
        futures = {worker: self.client.submit(work.on_worker_parts, self.module, task, params,
                                              [self.parts[k] for k in ks], pure=False,
                                              workers=[worker] if worker else None, allow_other_workers=True)
                   for worker, ks in groups.items()}
        done = self.client.gather(list(futures.values()))
        sums: list = [None] * len(self.parts)
        for ks, found in zip(groups.values(), done):
            for k, value in zip(ks, found):
                sums[k] = value
        self._holders = self.client.who_has(self.parts)   # for the next pass, after any move
        return sums

    def describe(self) -> str:
        workers = len(self.client.scheduler_info().get("workers", {}))
        return f"{len(self.parts)} partitions on {workers} Dask workers"


def _pair(key: str, text: str) -> tuple[str, str]:
    return key, text


def file_parts(client, files: Sequence[str], names: Sequence[str], groups, drop: bool) -> list:
    """One future per file: the kernels' arrays, read on a worker (a bad cell names file, row,
    column); `groups` as work.assemble takes them."""
    return [client.submit(_load_file, path, tuple(names), groups, drop, pure=True) for path in files]


def _load_file(path: str, names: tuple[str, ...], groups, drop: bool):
    """(the file's arrays for the kernels, the rows dropped), read on a worker."""
    from .files import batches
    dropped: list[int] = []
    read = list(batches(path, names, drop, dropped=dropped))
    if not read:
        return work.assemble(tuple(np.empty(0) for _ in names), groups), sum(dropped)
    columns = tuple(np.concatenate([b[j] for b in read]) for j in range(len(names)))
    return work.assemble(columns, groups), sum(dropped)


def frame_parts(client, frame, columns: Sequence[str], groups, drop: bool) -> list:
    """One future per partition of a Dask DataFrame: the kernels' arrays, float64."""
    import dask
    pieces = frame[list(columns)].to_delayed()
    return client.compute([dask.delayed(_frame_arrays)(piece, tuple(columns), groups, k, drop)
                           for k, piece in enumerate(pieces)])


def _frame_arrays(piece, columns: tuple[str, ...], groups, number: int, drop: bool):
    found, dropped = _frame_columns(piece, columns, number, drop)
    return work.assemble(found, groups), dropped


def _frame_columns(piece, columns: tuple[str, ...], number: int, drop: bool):
    """(the partition's columns as float64, the rows dropped): NaN, inf or a missing value is
    an error naming the partition, its row and column, or dropped with `drop`."""
    out = []
    where = f"partition {number + 1} of the DataFrame"
    for name in columns:
        try:
            out.append(np.require(piece[name].to_numpy(dtype=np.float64, na_value=np.nan), np.float64, ["C", "W"]))
        except (TypeError, ValueError) as exc:
            raise GdcError(f"column {name!r} holds a value that is not a number ({exc})", where=where) from None
    finite = np.ones(len(piece), dtype=bool)
    for values in out:
        finite &= np.isfinite(values)
    if finite.all():
        return tuple(out), 0
    if drop:
        return tuple(np.ascontiguousarray(values[finite]) for values in out), int(np.count_nonzero(~finite))
    row = int(np.argmin(finite))
    j = next(j for j, values in enumerate(out) if not np.isfinite(values[row]))
    raise GdcError(f"the value is {out[j][row]!r} (NaN, inf or missing; index {piece.index[row]!r})",
                   where=where, row=row + 1, column=columns[j],
                   hint="pass drop_nonfinite=True to skip such rows, or fill them first")
