"""The compiled kernels of one model, as a plain object; the runtime side (no sympy, no lark)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import ModuleType
from typing import Callable, Mapping, Sequence

import numpy as np

from .intervals import Interval, from_constant
from .layout import Layout, layout, resolve_sizes

# A generated module's names and constants (no kernels): what a module proxy (the GPU's, the
# partitioned data's, the weighted kernels') copies from the module it stands in for.
MODULE_CONSTANTS = ("PARAM_NAMES", "DATA_NAMES", "INPUT_NAMES", "INITIAL", "MODEL_HASH", "PARAM_SHAPES",
                    "DATA_SHAPES", "SIZES", "LSQ_SCALE", "LSQ_MEAN", "KINKS", "BOUNDS", "MODEL_NAME",
                    "MODEL_FORMULA", "GDC_VERSION", "LABELS", "OUTPUT_SIZE")


def module_constants(module: ModuleType) -> dict:
    """The MODULE_CONSTANTS that `module` has, by name."""
    return {name: getattr(module, name) for name in MODULE_CONSTANTS if hasattr(module, name)}


@dataclass(frozen=True)
class Kernels:
    """What a caller needs to run a compiled model.

    The calling convention (fixed, see README): `params` is a 1-D float64 array in the order
    of `param_names`; each data name is one positional 1-D float64 array of length N, in the
    order of `data_names`.

    Shaped models (`param w[d]`, `data x[d]`): `params` is still one flat 1-D array, each
    parameter flattened row-major in `param_names` order, and a data vector is a C-contiguous
    (N, d) array. The flat length depends on the sizes, which the data fix: `layout(data)`
    gives the Layout (gdc/layout.py: offsets, element names, initial values) and `flat(layout)`
    the same kernels seen as a model of one scalar parameter per element, which is what code
    that counts parameters by name takes (the optimizers, second order, gradient checks).
    For a scalar model the layout is trivial and `flat` returns the kernels themselves.

    - loss(params, *data) -> float
    - loss_grad(params, *data, grad_out) -> float: one fused pass, fills grad_out
    - loss_grad_parallel(params, *data, grad_out) -> float: same, fixed chunking, bit-identical
      for any thread count
    - sgd_epoch(params, *data, lr, order) -> float: per-sample updates in `order`, in place;
      returns the mean per-sample loss seen during the epoch (before each update)
    - minibatch_epoch(params, *data, lr, batch_size, order) -> float: likewise, per batch
    - predict(params, *inputs) -> ndarray: the model's prediction; `inputs` are the data
      names the prediction uses, in the order of `input_names`

    Second order (None where the model has none, see below):
    - jtj_jtr(params, *data, jtj_out, jtr_out) -> float: for a least-squares loss
      (loss = lsq_scale·Σᵢ rᵢ², or lsq_scale/N·Σᵢ rᵢ² when lsq_mean), one pass that fills
      jtj_out (p×p) with JᵀJ and jtr_out with Jᵀr, J = ∂r/∂θ, and returns Σᵢ rᵢ².
      None when the loss is not least squares.
    - residuals_jacobian(params, *data, r_out, jac_out) -> int: r (N) and J (N×p) written
      out; for least squares only, like jtj_jtr.
    - loss_grad_hess(params, *data, grad_out, hess_out) -> float: the loss, gradient and
      Hessian (p×p) in one pass. None when a second derivative has no kernel form.
    Neither exists for models of more than MAX_SECOND_ORDER parameters (gdc.runtime.limits).
    """

    param_names: tuple[str, ...]
    data_names: tuple[str, ...]
    input_names: tuple[str, ...]
    initial: np.ndarray
    model_hash: str
    module: ModuleType
    path: str | None  # the generated source file, when it lives on disk
    # Shaped models only (a scalar model's module lacks them: shapes (), no sizes). A shape
    # holds ints and size names; SIZES maps a size name to (data name, element axis).
    param_shapes: tuple[tuple, ...] = ()
    data_shapes: tuple[tuple, ...] = ()
    sizes: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    initial_spec: tuple[float | None, ...] = ()   # per parameter: a number, or None (random)
    # `data Y[K] from label` (issue 14): Y -> the column of class labels 0..K−1 it is read from.
    labels: Mapping[str, str] = field(default_factory=dict)
    # A vector model (softmax): predict returns one row of this many values per sample.
    output_size: str | int | None = None

    @property
    def shaped(self) -> bool:
        return any(self.param_shapes) or any(self.data_shapes)

    def layout(self, data: Sequence[np.ndarray] | Mapping[str, np.ndarray] = (),
               where: str = "the data", known: Mapping[str, int] | None = None) -> Layout:
        """The parameters' layout with the sizes the data give (one array per data name, or
        a mapping name -> array); `known` sizes fill in those no array gives."""
        shapes = self.param_shapes or ((),) * len(self.param_names)
        sizes = dict(known or {})
        if len(data):   # also checks each array's number of axes and any fixed size
            sizes.update(resolve_sizes(self.data_names, self.data_shapes or ((),) * len(self.data_names),
                                       self.sizes, data, where))
        spec = self.initial_spec or tuple(float(v) for v in self.module.INITIAL)
        return layout(self.param_names, shapes, spec, sizes)

    def flat(self, layout: Layout, seed: int = 0) -> "Kernels":
        """These kernels as a model of one scalar parameter per element of `layout`."""
        if not layout.shaped:
            return self
        start = layout.initial(seed)
        return dataclasses.replace(self, param_names=layout.element_names, initial=start,
                                   param_shapes=((),) * layout.size, initial_spec=tuple(start.tolist()))

    @property
    def loss(self) -> Callable:
        return self.module.loss

    @property
    def loss_grad(self) -> Callable:
        return self.module.loss_grad

    @property
    def loss_grad_parallel(self) -> Callable:
        return self.module.loss_grad_parallel

    @property
    def sgd_epoch(self) -> Callable:
        return self.module.sgd_epoch

    @property
    def minibatch_epoch(self) -> Callable:
        return self.module.minibatch_epoch

    @property
    def predict(self) -> Callable:
        return self.module.predict

    @property
    def cuda(self):
        """The same kernels on an NVIDIA GPU (gdc.runtime.cuda.CudaKernels: numba-cuda, `pip
        install 'gdc[gpu]'`): loss, loss_grad, jtj_jtr, loss_grad_hess and predict with this
        calling convention on device arrays (numba's, or CuPy and torch tensors through
        `__cuda_array_interface__`, without a copy); params a host array; outputs host or device
        arrays. A model with vectors or matrices gets the kernels of its data's sizes on each call
        (gdc.runtime.cuda_shaped). A GdcError where there is no GPU."""
        from .cuda import counterpart
        return counterpart(self)

    @property
    def jtj_jtr(self) -> Callable | None:
        return getattr(self.module, "jtj_jtr", None)

    @property
    def residuals_jacobian(self) -> Callable | None:
        return getattr(self.module, "residuals_jacobian", None)

    @property
    def loss_grad_hess(self) -> Callable | None:
        return getattr(self.module, "loss_grad_hess", None)

    @property
    def lsq_scale(self) -> float | None:
        return getattr(self.module, "LSQ_SCALE", None)

    @property
    def model_name(self) -> str | None:
        """The model's name, `y` in `model y = ...` (None for a module older than this field)."""
        return getattr(self.module, "MODEL_NAME", None) or None

    @property
    def model_formula(self) -> str | None:
        """`y = m*x + b`, the model statement as written, for titles and labels."""
        return getattr(self.module, "MODEL_FORMULA", None) or None

    @property
    def lsq_mean(self) -> bool:
        return bool(getattr(self.module, "LSQ_MEAN", False))

    @property
    def kinks(self) -> tuple[str, ...]:
        """The parameters inside an abs, max or min of the loss: where it may have kinks (the
        module's KINKS; empty for a module generated before gdc knew them)."""
        return tuple(getattr(self.module, "KINKS", ()))

    @property
    def bounds(self) -> dict[str, Interval]:
        """The bounds the model gives its parameters (`param k in (0, inf)`), by name: the
        module's BOUNDS (a module of a model without bounds has none)."""
        return {name: from_constant(values) for name, values in getattr(self.module, "BOUNDS", {}).items()}

    @classmethod
    def from_module(cls, module: ModuleType, path: str | None = None) -> "Kernels":
        """Wrap a generated module (it defines PARAM_NAMES, DATA_NAMES, INPUT_NAMES, INITIAL,
        MODEL_HASH; a shaped model's also PARAM_SHAPES, DATA_SHAPES and SIZES).

        `initial` is the flat starting vector; for a shaped model whose sizes come from the
        data it is empty until bound: use `flat(layout(data)).initial` or `layout(data).initial()`.
        """
        names = tuple(module.PARAM_NAMES)
        data_names = tuple(module.DATA_NAMES)
        param_shapes = tuple(tuple(s) for s in getattr(module, "PARAM_SHAPES", ((),) * len(names)))
        data_shapes = tuple(tuple(s) for s in getattr(module, "DATA_SHAPES", ((),) * len(data_names)))
        spec = tuple(None if v is None else float(v) for v in module.INITIAL)
        kernels = cls(names, data_names, tuple(module.INPUT_NAMES), np.empty(0), module.MODEL_HASH,
                      module, path, param_shapes, data_shapes, dict(getattr(module, "SIZES", {})), spec,
                      dict(getattr(module, "LABELS", {})), getattr(module, "OUTPUT_SIZE", None))
        named = any(isinstance(dim, str) for shape in param_shapes for dim in shape)
        initial = np.empty(0) if named else kernels.layout().initial()
        return dataclasses.replace(kernels, initial=initial)
