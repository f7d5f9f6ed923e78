"""What one partition's task computes, in this process (streaming) or on a Dask worker: the
partial sums of one kernel at given parameters, as one float64 vector that parts add."""

from __future__ import annotations

import threading
from types import ModuleType

import numpy as np

from gdc.runtime import passes

# The tasks beside the kernels' own (gdc.runtime.passes.PAIRS and jtj_jtr):
# "squares": Σ y² of the predictions (the scale a least-squares gap is measured against);
# "real": 1.0 when the least-squares residuals and their Jacobian are finite on every row.
TASKS = (*passes.PAIRS, "jtj_jtr", "squares", "real")

_modules: dict[str, ModuleType] = {}   # a worker's kernels, loaded once per process, by key
_loading = threading.Lock()            # a worker's threads may ask at once


def assemble(columns, groups) -> tuple[np.ndarray, ...]:
    """The kernels' arrays from a batch's file columns: for each data name, (the numbers of its
    columns, whether it is a vector): a scalar's column, or a vector's as one C-contiguous
    (rows, d) array."""
    return tuple(np.ascontiguousarray(np.column_stack([columns[j] for j in indices])) if vector
                 else columns[indices[0]] for indices, vector in groups)


def partial(module: ModuleType, task: str, params: np.ndarray, columns) -> np.ndarray:
    """The sums of `task` over the rows of `columns` (one array per data name)."""
    if task == "squares":
        inputs = [columns[module.DATA_NAMES.index(name)] for name in module.INPUT_NAMES]
        y = module.predict(params, *inputs)
        return np.array([float(np.sum(np.square(y)))])
    if task == "real":
        from gdc.fitting.weights import least_squares_holds
        from gdc.runtime.kernels import Kernels
        return np.array([1.0 if least_squares_holds(Kernels.from_module(module), tuple(columns), params) else 0.0])
    return passes.sums(module, task, params, columns)


# On a Dask worker a partition is (its columns, the rows dropped from it for NaN or inf).

def on_worker(module: tuple[str, str], task: str, params: np.ndarray, part) -> np.ndarray:
    """`partial` on a Dask worker; `module` is (key, source text), sent once and loaded once."""
    return partial(load(*module), task, params, part[0])


def on_worker_parts(module: tuple[str, str], task: str, params: np.ndarray, parts: list) -> list[np.ndarray]:
    """`partial` over several partitions held by one worker, each one's sums kept apart; on as
    many of the worker's threads as it has (the kernels release the GIL), in order."""
    loaded = load(*module)
    threads = min(_threads(), len(parts))
    if threads <= 1:
        return [partial(loaded, task, params, part[0]) for part in parts]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda part: partial(loaded, task, params, part[0]), parts))


def _threads() -> int:
    """The threads of the Dask worker this runs on (1 outside a worker)."""
    try:
        from distributed import get_worker
        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return 1


def load(key: str, text: str) -> ModuleType:
    """The kernels' module in this process: the cache's (numba's compiled code with it), else
    stored from the text the client sent, sealed as gdc wrote it."""
    with _loading:
        if key not in _modules:
            from gdc.runtime import cache
            kernels, reason = cache.cached(key)
            if kernels is None:
                _check_sealed(key, text)
                kernels = cache.store(key, text, f"sent by a gdc client ({reason})")
            _modules[key] = kernels.module
        return _modules[key]


def _check_sealed(key: str, text: str) -> None:
    """The client's module is stored only as gdc seals it: whole, of this model, by this gdc
    version (a worker with another gdc would run kernels its own would not have written)."""
    from gdc.errors import GdcError
    from gdc.runtime.sealed import FIRST_LINE, unseal
    found, damaged = unseal(text)
    if damaged or found != key or not text.startswith(FIRST_LINE + "\n"):
        why = damaged or ("another model" if found != key else "another gdc version")
        raise GdcError(f"the kernels a gdc client sent this Dask worker are not sealed for it: {why}",
                       where="dask worker", hint="install the same gdc version on the client and the workers")


def rows_of(part) -> tuple[int, int]:
    """A partition's rows, and the rows dropped from it."""
    return len(part[0][0]), part[1]


def first_row(part) -> tuple[np.ndarray, ...]:
    return tuple(np.array(column[:1]) for column in part[0])
