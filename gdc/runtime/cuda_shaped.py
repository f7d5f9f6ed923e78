"""The CUDA kernels of a model with vectors or matrices: one module per set of sizes, picked by the data.

A GPU thread's arrays need sizes fixed when the kernel compiles, so a shaped model's CUDA module
is made for the sizes its data give (gdc.codegen.cuda_shaped: d = 30 printed as a number).
`ShapedCudaKernels` has the calling convention of gdc.runtime.cuda.CudaKernels; on each call it
reads the sizes from the data's shapes (as the CPU kernels do: gdc.runtime.layout) and runs the
CudaKernels of those sizes, made once per set of sizes by the compiler's `make` (the module is
cached beside the CPU one, its key the CPU key and the sizes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from gdc.errors import GdcError
from .layout import resolve_sizes, size_from_count

if TYPE_CHECKING:
    from .cuda import CudaKernels
    from .kernels import Kernels


class ShapedCudaKernels:
    """A shaped model's CUDA kernels at whatever sizes the data have: loss, loss_grad, jtj_jtr
    and predict (a shaped model has no Hessian kernel), each run by the module of its sizes."""

    loss_grad_hess = None

    def __init__(self, kernels: "Kernels", make: Callable[[dict[str, int]], "CudaKernels"]):
        self.kernels, self.cpu, self._make = kernels, kernels.module, make
        self.param_names, self.data_names = kernels.param_names, kernels.data_names
        self.input_names = kernels.input_names
        self._made: dict[tuple, CudaKernels] = {}
        self._last: dict[str, int] | None = None

    def at(self, sizes: dict[str, int]) -> "CudaKernels":
        """The CUDA kernels made for these sizes (once per set of sizes)."""
        key = tuple(sorted(sizes.items()))
        if key not in self._made:
            self._made[key] = self._make(dict(key))
        self._last = dict(key)
        return self._made[key]

    def sizes(self, data, where: str = "the data on the GPU") -> dict[str, int]:
        """The sizes the data arrays give (one per data name), checked as the CPU kernels' are."""
        if len(data) != len(self.data_names):
            raise ValueError(f"the kernels take {len(self.data_names)} data arrays "
                             f"({', '.join(self.data_names)}), not {len(data)}")
        return resolve_sizes(self.data_names, self.cpu.DATA_SHAPES, self.cpu.SIZES, data, where)

    def bound(self, data) -> "CudaKernels":
        """The CUDA kernels for these data's sizes: what a fit on them launches."""
        return self.at(self.sizes(data))

    def loss(self, params, *data) -> float:
        return self.bound(data).loss(params, *data)

    def loss_grad(self, params, *args) -> float:
        return self.bound(args[:-1]).loss_grad(params, *args)

    @property
    def jtj_jtr(self) -> Callable | None:
        return self._jtj_jtr if self.cpu.LSQ_SCALE is not None else None

    def _jtj_jtr(self, params, *args) -> float:
        kernels = self.bound(args[:-2])
        if kernels.jtj_jtr is None:
            raise GdcError("JᵀJ of this many parameter values does not fit in a GPU thread's local arrays "
                           "(gdc.codegen.cuda_shaped.LOCAL_LIMIT)", where="jtj_jtr",
                           hint="use loss_grad (gd, lbfgs) on the GPU, or jtj_jtr on the CPU")
        return kernels.jtj_jtr(params, *args)

    def predict(self, params, *inputs, rows: int | None = None):
        """The model's values per row: the sizes from the inputs, else from the number of
        parameter values (a softmax's K), else those of the last call."""
        arrays = dict(zip(self.input_names, inputs))
        sizes = resolve_sizes(self.data_names, self.cpu.DATA_SHAPES, self.cpu.SIZES, arrays, "the inputs")
        sizes.update(size_from_count(self.cpu.PARAM_SHAPES, sizes, len(params)))
        if set(sizes) != set(self.cpu.SIZES) and self._last is not None:
            sizes = {**self._last, **sizes}
        if set(sizes) != set(self.cpu.SIZES):
            raise GdcError("the sizes " + ", ".join(sorted(set(self.cpu.SIZES) - set(sizes))) +
                           " are not given by these inputs", where="predict",
                           hint="call loss or loss_grad on the data first, or pass every input")
        return self.at(sizes).predict(params, *inputs, rows=rows)
