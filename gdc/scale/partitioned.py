"""Kernels over data in parts: a module with the calling convention of the generated one
(gdc.runtime.kernels), whose kernels map a pass over every part and add the parts' sums in
their fixed order (the same bits on a rerun), then finish once (gdc.runtime.passes).

A Source holds the parts: Streamed (files read batch by batch, here) or gdc.scale.dask_source
(partitions held by Dask workers). Problem.data holds one Column per data name: it has the
length and shape the fit's bookkeeping reads; a slice gives the first rows (numba's warm-up).
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import Sequence

import numpy as np

from gdc.runtime import passes
from gdc.runtime.kernels import Kernels, module_constants
from gdc.errors import GdcError
from .files import batches, prefetched, reused, stamp
from .work import assemble, partial



class Column:
    """One data name's column (a vector's columns), spread over the parts: its length and
    shape, not its values."""

    def __init__(self, source, index: int):
        self.source, self.index = source, index

    def __len__(self) -> int:
        return self.source.rows

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.source.rows,) + self.source.head[self.index].shape[1:]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of values, as numpy's (the fit loop sizes its choices by it)."""
        return math.prod(self.shape)

    def __getitem__(self, key):
        if isinstance(key, slice) and key.start in (None, 0) and key.stop is not None and key.stop <= 1:
            return self.source.head[self.index][key]
        raise TypeError("the rows of partitioned data are read by the kernels, pass by pass")


class Streamed:
    """Parts read from files one after another, each in bounded batches (this process)."""

    kind = "stream"

    def __init__(self, files: Sequence[str], names: Sequence[str], groups, drop: bool, module):
        """`names`: the file columns read; `groups`: how they make the kernels' arrays (work.assemble)."""
        self.files, self.names, self.drop, self.module = tuple(files), tuple(names), drop, module
        self.groups = groups
        self.passes = 0
        self.rows, self.dropped, self.head = self._check()

    def _check(self) -> tuple[int, int, tuple]:
        """One pass that reads every value (a bad cell names its file, row and column) and
        counts the rows."""
        self.passes += 1
        rows, head, dropped = 0, None, []
        self.stamps = [stamp(path) for path in self.files]
        for path in self.files:
            for columns in batches(path, self.names, self.drop, dropped=dropped):
                head = head or assemble(tuple(np.array(c[:1]) for c in columns), self.groups)
                rows += len(columns[0])
        if head is None:
            raise GdcError("the partitions hold no data rows", where=self.files[0])
        return rows, sum(dropped), head

    def map(self, task: str, params: np.ndarray) -> list[np.ndarray]:
        self.passes += 1
        totals: list = [None] * len(self.files)
        buffers: list = []
        for k, columns in prefetched(self._read()):
            found = partial(self.module, task, params, assemble(reused(buffers, columns), self.groups))
            totals[k] = found if totals[k] is None else totals[k] + found
        return [total for total in totals if total is not None]

    def _read(self):
        """(file number, batch as read) for every batch of every file, in order."""
        for k, (path, checked) in enumerate(zip(self.files, self.stamps)):
            if stamp(path) != checked:
                raise GdcError("the file changed while the fit was reading it", where=path,
                               hint="fit a copy that nothing writes to")
            for columns in batches(path, self.names, self.drop, checked=True, writable=False):
                yield k, columns

    def describe(self) -> str:
        return f"{len(self.files)} files, streamed in batches"


class Partitioned:
    """The module proxy: each kernel one pass over every part of `source`."""

    def __init__(self, kernels: Kernels, source):
        self.module, self.source = kernels.module, source
        # task -> (the parameters' bytes, the total): the last pass of each kernel, kept because a
        # fit asks again at the same parameters (a line search's trial that rounds to them, the
        # verdict and the statistics at the answer) and here every pass reads all the data.
        self._last: dict[str, tuple[bytes, np.ndarray]] = {}

    def namespace(self) -> SimpleNamespace:
        m = self.module
        # its constants and predict (which takes rows of its own); not the per-sample epochs,
        # which a partitioned fit refuses
        copied = {**module_constants(m), "predict": m.predict}
        kernels = dict(loss=self.loss, loss_grad=self.loss_grad, loss_grad_parallel=self.loss_grad,
                       predicted_squares=self.predicted_squares)
        if hasattr(m, "jtj_jtr"):
            kernels.update(jtj_jtr=self.jtj_jtr, least_squares_holds=self.least_squares_holds)
        if hasattr(m, "loss_grad_hess"):
            kernels.update(loss_grad_hess=self.loss_grad_hess)
        return SimpleNamespace(**copied, **kernels)

    def _total(self, task: str, params: np.ndarray) -> np.ndarray:
        params = np.ascontiguousarray(params, dtype=np.float64)
        key = params.tobytes()
        last = self._last.get(task)
        if last is not None and last[0] == key:   # the sums are a function of the parameters alone
            return last[1].copy()
        parts = self.source.map(task, params)
        total = parts[0].copy()
        for part in parts[1:]:   # in the parts' order, always
            total += part
        self._last[task] = (key, total.copy())
        return total

    def _run(self, kernel: str, params, data, outs) -> float:
        if not isinstance(data[0], Column):   # rows of its own (the warm-up's first row)
            return getattr(self.module, kernel)(params, *data, *outs)
        total = self._total(kernel, params)
        return passes.finish(self.module, kernel, params, total, self.source.rows, tuple(outs), self.source.head)

    def loss(self, params, *data) -> float:
        return self._run("loss", params, data, ())

    def loss_grad(self, params, *args) -> float:
        return self._run("loss_grad", params, args[:-1], args[-1:])

    def jtj_jtr(self, params, *args) -> float:
        return self._run("jtj_jtr", params, args[:-2], args[-2:])

    def loss_grad_hess(self, params, *args) -> float:
        return self._run("loss_grad_hess", params, args[:-2], args[-2:])

    def predicted_squares(self, params) -> float:
        """Σ yᵢ² of the model's predictions over every row (verdict.Curvature.scale's floor)."""
        return float(self._total("squares", params)[0])

    def least_squares_holds(self, params) -> bool:
        """Whether every part's least-squares residuals are real (gdc.fitting.weights)."""
        return bool(np.all(np.array(self.source.map("real", params)) > 0.0))


def partitioned_kernels(kernels: Kernels, source) -> Kernels:
    """The kernels whose every pass runs over the parts of `source`."""
    return dataclasses.replace(kernels, module=Partitioned(kernels, source).namespace())
