"""The CUDA kernels of a model on device arrays: numba-cuda found, the module loaded, passes launched.

numba-cuda is optional (`pip install 'gdc[gpu]'`) and imported only here, only when a GPU is
asked for. The generated module (gdc.codegen.cuda) computes the sums of a fused pass on the
device; `CudaKernels` launches its two passes, copies back only the sums (a few numbers) and
finishes them with the CPU module's own `_finish` functions, the same code that assembles
the CPU kernels' loss, gradient, JᵀJ and Hessian. So each call moves the parameters to the
device and the sums back, never the data.

The grid depends only on the rows and the device (its number of multiprocessors), so the
sums are added in the same order, and give the same bits, on every run on the same GPU.
With NUMBA_ENABLE_CUDASIM=1 (numba's CUDA simulator, one Python thread per GPU thread) the
blocks are made tiny, so that tests of a few hundred rows run in a fraction of a second.
"""

from __future__ import annotations

import functools
import os
import types
from typing import TYPE_CHECKING, Callable

import numpy as np

from gdc.errors import GdcError, InternalError

if TYPE_CHECKING:
    from .kernels import Kernels

BLOCKS_PER_SM = 8          # blocks of the first pass per multiprocessor: enough to hide latency
SIMULATOR_THREADS = 4      # the simulator runs a Python thread per GPU thread: few of them
SIMULATOR_BLOCKS = 2       # still more than one, so that the second pass is tested
INSTALL_HINT = "install numba-cuda (pip install 'gdc[gpu]'), or fit on the CPU: --device cpu"
NO_GPU_HINT = "fit on the CPU (--device cpu), or let gdc choose: --device auto"
DTYPES = {"float64": np.float64, "float32": np.float32}


def simulated() -> bool:
    """Whether numba's CUDA simulator stands in for a GPU (NUMBA_ENABLE_CUDASIM=1)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def missing() -> str | None:
    """Why there is no GPU to run on (numba-cuda not installed, or it finds no CUDA device); None
    when there is one, or the simulator."""
    try:
        from numba import cuda
    except ImportError as exc:   # numba itself is a dependency; numba.cuda may be absent or broken
        return f"numba-cuda is not installed ({exc})"
    try:
        found = cuda.is_available()
    except Exception as exc:  # a driver that fails to load says so in its own words
        return f"numba-cuda cannot reach a GPU ({type(exc).__name__}: {exc})"
    return None if found else "numba-cuda finds no CUDA GPU on this machine"


def require(where: str = "--device gpu") -> None:
    """A GdcError saying why, where there is no GPU to run on."""
    why = missing()
    if why is not None:
        raise GdcError(why, where=where, hint=INSTALL_HINT if "not installed" in why else NO_GPU_HINT)


def load(path: str, text: str) -> types.ModuleType:
    """Run the checked CUDA module text (gdc.runtime.cache.cached_text checked its seal), as the
    module named by its file. numba-cuda compiles each kernel on its first launch."""
    require()
    module = types.ModuleType(os.path.splitext(os.path.basename(path))[0])
    module.__file__ = path
    exec(compile(text, path, "exec", dont_inherit=True), module.__dict__)
    if simulated():   # before any launch: the simulator reads THREADS when a kernel runs
        module.THREADS = SIMULATOR_THREADS
    return module


def to_device(array, dtype: str = "float64"):
    """A device array of `array`: one with `__cuda_array_interface__` (numba, CuPy, torch) is
    used where it lies, without a copy; a host array is copied to the device, as `dtype`."""
    from numba import cuda
    if hasattr(array, "copy_to_host") and hasattr(array, "dtype"):   # numba's own (or the simulator's)
        found = array
    elif hasattr(array, "__cuda_array_interface__"):
        found = cuda.as_cuda_array(array)
    else:
        host = np.asarray(array, dtype=DTYPES[dtype])
        if not host.flags.f_contiguous:   # column-major data (gdc.fitting.device) stay so
            host = np.ascontiguousarray(host)
        return cuda.to_device(host)
    if found.dtype not in (np.float64, np.float32):
        raise GdcError(f"a device array must hold float64 or float32, not {found.dtype}",
                       where="the GPU kernels")
    return found


def grid(rows: int) -> int:
    """Blocks of the first pass: enough for the rows, at most BLOCKS_PER_SM per multiprocessor;
    a function of the rows and the device alone (the sums' order, hence their bits, follow)."""
    return max(1, min(_most_blocks(), -(-rows // threads())))


@functools.lru_cache(maxsize=None)
def _most_blocks() -> int:
    from numba import cuda
    if simulated():
        return SIMULATOR_BLOCKS
    return BLOCKS_PER_SM * cuda.get_current_device().MULTIPROCESSOR_COUNT


def threads() -> int:
    return SIMULATOR_THREADS if simulated() else _THREADS


_THREADS = 256   # gdc.codegen.cuda_device.THREADS; checked against each module's own when loaded


class CudaKernels:
    """A model's kernels on device data: the calling convention of gdc.runtime.kernels (params a
    host float64 vector; each data name one device array, float64 or float32, of N rows; outputs
    host or device arrays), for loss, loss_grad, jtj_jtr, loss_grad_hess and predict."""

    def __init__(self, kernels: "Kernels", module: types.ModuleType):
        if module.CPU_MODEL_HASH != kernels.model_hash:
            raise InternalError("the CUDA module belongs to another model than its CPU kernels")
        if not simulated() and module.THREADS != _THREADS:
            raise InternalError(f"the CUDA module's blocks have {module.THREADS} threads, not {_THREADS}")
        self.kernels, self.module, self.cpu = kernels, module, kernels.module
        self.param_names, self.data_names = kernels.param_names, kernels.data_names
        self.input_names = kernels.input_names
        self._scratch: dict[tuple[str, int], tuple] = {}
        self._device_params = None
        # A shaped model's module is made for the sizes AT_SIZES (gdc.codegen.cuda_shaped): its
        # finish reads them from a row of each data array (a row of zeros will do), its rows
        # must have these shapes, and its parameters are N_PARAMS values.
        self.shaped = hasattr(module, "AT_SIZES")
        self.row_shapes = tuple(tuple(module.AT_SIZES[dim] if isinstance(dim, str) else dim for dim in shape)
                                for shape in getattr(self.cpu, "DATA_SHAPES", ((),) * len(self.data_names)))
        self._heads = tuple(np.zeros((1, *shape)) for shape in self.row_shapes)
        self.n_params = getattr(module, "N_PARAMS", len(self.param_names))

    def bound(self, data) -> "CudaKernels":
        """The kernels for these data (gdc.runtime.cuda_shaped picks a shaped model's by sizes)."""
        return self

    # ---------------------------------------------------------------- the passes

    def sums(self, name: str, params, data) -> tuple[float, ...]:
        """The sums of pass `name` (`_grad_blocks`, …) over all rows, added on the device."""
        rows = self._rows(data)
        size = self.module.SUMS[name]
        blocks = grid(rows)
        partial, total = self._buffers(name, blocks, size)
        getattr(self.module, name)[blocks, threads()](self._params(params), *data, partial)
        self.module._add_blocks[-(-size // threads()), threads()](partial, blocks, total)
        return tuple(total.copy_to_host().tolist())

    def _params(self, params):
        """The parameters copied into the device buffer that every launch reads (allocated once)."""
        from numba import cuda
        flat = np.ascontiguousarray(params, dtype=np.float64)
        if flat.shape != (self.n_params,):
            raise ValueError("params must hold one value per name in PARAM_NAMES (per element of a vector "
                             "or matrix)")
        if self._device_params is None:
            self._device_params = cuda.device_array(len(flat))
        self._device_params.copy_to_device(flat)
        return self._device_params

    def _rows(self, data) -> int:
        if len(data) != len(self.data_names):
            raise ValueError(f"the kernels take {len(self.data_names)} data arrays "
                             f"({', '.join(self.data_names)}), not {len(data)}")
        rows = data[0].shape[0] if data else 0
        if any(column.shape != (rows, *shape) for column, shape in zip(data, self.row_shapes)):
            raise ValueError("the data arrays must all have the same length, and the shape of a row the "
                             f"kernels were made for ({self.row_shapes})")
        if rows == 0:
            raise ValueError("the data hold no rows")
        return rows

    def _buffers(self, name: str, blocks: int, size: int) -> tuple:
        """The device arrays of a pass's block sums and total, allocated once per grid."""
        from numba import cuda
        key = (name, blocks)
        if key not in self._scratch:
            self._scratch[key] = (cuda.device_array((blocks, size)), cuda.device_array(size))
        return self._scratch[key]

    def _finish(self, finish: Callable, params, sums, rows: int, *outs) -> float:
        """The CPU module's finish on the sums, into host copies of device outputs."""
        host = [out if isinstance(out, np.ndarray) else np.empty(out.shape) for out in outs]
        flat = np.ascontiguousarray(params, dtype=np.float64)
        if self.shaped:   # the CPU module's shaped finish: sizes from the rows, sums in an array
            value = finish(flat, *self._heads, np.array(sums), 1.0 / rows, *host)
        else:
            value = finish(flat, sums, 1.0 / rows, *host)
        for out, filled in zip(outs, host):
            if out is not filled:
                _copy_into(out, filled)
        return float(value)

    # ---------------------------------------------------------------- the kernels

    def loss(self, params, *data) -> float:
        return self._finish(self.cpu._loss_finish, params, self.sums("_loss_blocks", params, data),
                            self._rows(data))

    def loss_grad(self, params, *args) -> float:
        *data, grad_out = args
        return self._finish(self.cpu._finish, params, self.sums("_grad_blocks", params, data),
                            self._rows(data), grad_out)

    @property
    def jtj_jtr(self) -> Callable | None:
        return self._jtj_jtr if hasattr(self.module, "_jtj_blocks") else None

    def _jtj_jtr(self, params, *args) -> float:
        *data, jtj_out, jtr_out = args
        sums = self.sums("_jtj_blocks", params, data)
        finish = _packed_jtj if self.shaped else self.cpu._jtj_finish
        return self._finish(finish, params, sums, self._rows(data), jtj_out, jtr_out)

    @property
    def loss_grad_hess(self) -> Callable | None:
        return self._loss_grad_hess if hasattr(self.module, "_hess_blocks") else None

    def _loss_grad_hess(self, params, *args) -> float:
        *data, grad_out, hess_out = args
        return self._finish(self.cpu._hess_finish, params, self.sums("_hess_blocks", params, data),
                            self._rows(data), grad_out, hess_out)

    def predict(self, params, *inputs, rows: int | None = None):
        """The model's value per row, as a device array (one value for a model without inputs)."""
        from numba import cuda
        count = inputs[0].shape[0] if inputs else (rows or 1)
        out = cuda.device_array((count, *getattr(self.module, "OUTPUT_SHAPE", ())))
        self.module._predict[grid(count), threads()](self._params(params), *inputs, out)
        return out


# `Kernels.cuda`: the compiler (gdc.api) registers how to make each model's CUDA kernels when it
# compiles the model; the runtime, which cannot generate code, makes them on first use.
_MAKERS: dict[str, Callable[[], CudaKernels]] = {}
_MADE: dict[str, CudaKernels] = {}


def register(model_hash: str, make: Callable[[], CudaKernels]) -> None:
    _MAKERS.setdefault(model_hash, make)


def counterpart(kernels: "Kernels") -> CudaKernels:
    """The CUDA kernels of the model of `kernels`, made (and cached) on first use."""
    found = _MADE.get(kernels.model_hash)
    if found is None:
        make = _MAKERS.get(kernels.model_hash)
        if make is None:
            raise GdcError("the CUDA kernels are compiled from the model's text, and these kernels were "
                           "not compiled from a text in this process", where="kernels.cuda",
                           hint="gdc.compile(model).cuda")
        found = _MADE[kernels.model_hash] = make()
    return found


def _packed_jtj(params, *args) -> float:
    """A shaped module's JᵀJ pass finished: its sums are Σr², Jᵀr, then JᵀJ's upper triangle row by
    row (gdc.codegen.cuda_shaped); both triangles are filled."""
    *_, total, _inv_n, jtj_out, jtr_out = args
    size = len(params)
    jtr_out[:] = total[1:1 + size]
    upper = np.triu_indices(size)
    jtj_out[upper] = total[1 + size:]
    jtj_out.T[upper] = total[1 + size:]
    return float(total[0])


def _copy_into(out, values: np.ndarray) -> None:
    """Copy into a device array (numba's, or CuPy's or torch's through numba's view of it)."""
    from numba import cuda
    target = out if hasattr(out, "copy_to_device") else cuda.as_cuda_array(out)
    target.copy_to_device(np.ascontiguousarray(values, dtype=target.dtype))
