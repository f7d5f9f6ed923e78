"""The kernels as `gdc.compile` hands them to a person: lists, pandas Series and a dict of
parameters are converted, and a wrong shape or dtype is a GdcError that says what each argument
must be, never a numba TypingError. The fit loops call the unchecked kernels (`raw`); the
generated module itself (`k.module`, `gdc compile -o`) stays as it is.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from gdc.io.labels import check_one_hot
from gdc.errors import GdcError
from .kernels import Kernels
from .layout import resolve_sizes, size_from_count

# What follows the data in each kernel's call: an output array (its shape in p, the number of
# parameter values, and N, the rows), the rate, the batch size or the row order.
_AFTER_DATA = {
    "loss": (),
    "loss_grad": ("grad_out",),
    "loss_grad_parallel": ("grad_out",),
    "sgd_epoch": ("lr", "order"),
    "minibatch_epoch": ("lr", "batch_size", "order"),
    "predict": (),
    "jtj_jtr": ("jtj_out", "jtr_out"),
    "residuals_jacobian": ("r_out", "jac_out"),
    "loss_grad_hess": ("grad_out", "hess_out"),
}
_OUT_SHAPES = {"grad_out": "p", "jtr_out": "p", "hess_out": "pp", "jtj_out": "pp", "r_out": "N",
               "jac_out": "Np"}
_IN_PLACE = ("sgd_epoch", "minibatch_epoch")   # they update params where it lies


@dataclass(frozen=True)
class CheckedKernels(Kernels):
    """Kernels whose functions check and convert their arguments first (see Kernels for the
    calling convention): `params` may also be a dict of values by name, and data any
    array-like of numbers (a list, a pandas Series, a DataFrame for a data vector)."""

    @property
    def raw(self) -> Kernels:
        """The same kernels without the checks, for loops that call them many times."""
        return Kernels(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Kernels)})

    def _checked(self, kernel: str) -> Callable | None:
        function = getattr(self.module, kernel, None)
        return None if function is None else _Checked(self, kernel, function)

    loss = property(lambda self: self._checked("loss"))
    loss_grad = property(lambda self: self._checked("loss_grad"))
    loss_grad_parallel = property(lambda self: self._checked("loss_grad_parallel"))
    sgd_epoch = property(lambda self: self._checked("sgd_epoch"))
    minibatch_epoch = property(lambda self: self._checked("minibatch_epoch"))
    predict = property(lambda self: self._checked("predict"))
    jtj_jtr = property(lambda self: self._checked("jtj_jtr"))
    residuals_jacobian = property(lambda self: self._checked("residuals_jacobian"))
    loss_grad_hess = property(lambda self: self._checked("loss_grad_hess"))


# One checked view per kernels object, so that compiling a model twice gives the same object,
# as the cache does; the kernels are held too, so that an id is never reused while listed.
_VIEWS: dict[int, tuple[Kernels, "CheckedKernels"]] = {}


def checked(kernels: Kernels) -> CheckedKernels:
    if isinstance(kernels, CheckedKernels):
        return kernels
    held = _VIEWS.get(id(kernels))
    if held is None:
        view = CheckedKernels(**{f.name: getattr(kernels, f.name) for f in dataclasses.fields(Kernels)})
        held = _VIEWS[id(kernels)] = (kernels, view)
    return held[1]


def unchecked(kernels: Kernels) -> Kernels:
    return kernels.raw if isinstance(kernels, CheckedKernels) else kernels


class _Checked:
    """One kernel function behind its argument checks."""

    def __init__(self, kernels: CheckedKernels, name: str, function: Callable):
        self.kernels, self.name, self.function = kernels, name, function
        self.__name__ = self.__qualname__ = name
        self.__doc__ = f"{name}{self.signature} (arguments checked and converted; see gdc.Kernels)"

    @property
    def data_names(self) -> tuple[str, ...]:
        k = self.kernels
        return k.input_names if self.name == "predict" else k.data_names

    @property
    def signature(self) -> str:
        return "(" + ", ".join(("params",) + self.data_names + _AFTER_DATA[self.name]) + ")"

    def __repr__(self) -> str:
        return f"<gdc kernel {self.name}{self.signature}>"

    def __call__(self, *args):
        where = f"kernels.{self.name}"
        names = self.data_names
        after = _AFTER_DATA[self.name]
        if len(args) != 1 + len(names) + len(after):
            raise GdcError(f"{self.name} takes {1 + len(names) + len(after)} arguments "
                           f"{self.signature}, not {len(args)}", where=where)
        data = tuple(self._data(name, value, where) for name, value in zip(names, args[1:1 + len(names)]))
        rows = {len(a) for a in data}
        if len(rows) > 1:
            lengths = ", ".join(f"{n}: {len(a)}" for n, a in zip(names, data))
            raise GdcError(f"the data arrays differ in length ({lengths})", where=where)
        k = self.kernels
        known = None
        if self.name == "predict" and k.output_size is not None:   # softmax: K from len(params)
            given = resolve_sizes(k.data_names, k.data_shapes, k.sizes, dict(zip(names, data)), where)
            known = size_from_count(k.param_shapes, given, int(np.size(args[0])))
        layout = k.layout(dict(zip(names, data)), where, known)
        params = self._params(args[0], layout, where)
        n = rows.pop() if rows else 0
        rest = tuple(self._after(kind, value, layout.size, n, where)
                     for kind, value in zip(after, args[1 + len(names):]))
        return self.function(params, *data, *rest)

    def _data(self, name: str, value, where: str) -> np.ndarray:
        shape = dict(zip(self.kernels.data_names, self.kernels.data_shapes or ())).get(name, ())
        array = _numbers(value, f"the data {name!r}", where)
        want = 1 + len(shape)
        if array.ndim != want:
            what = "a 1-D array, one value per sample" if not shape else \
                f"a 2-D array, one row of {len(shape) and shape[0]} values per sample"
            raise GdcError(f"the data {name!r} must be {what}, not an array of shape {array.shape}",
                           where=where)
        if name in self.kernels.labels:
            check_one_hot(array, name, self.kernels.labels[name], where)
        return np.ascontiguousarray(array, dtype=np.float64)   # no copy when it is one already

    def _params(self, value, layout, where: str) -> np.ndarray:
        if isinstance(value, Mapping):
            extra = [name for name in value if name not in layout.names]
            if extra:
                raise GdcError(f"the model has no parameter {extra[0]!r}", where=where,
                               hint=f"the parameters are {', '.join(layout.names)}")
            return layout.flatten(value, where)
        if self.name in _IN_PLACE:   # the epoch writes its updates into params: no copy may stand in
            return _output(value, (layout.size,), "params", where, "it is updated in place",
                           "e.g. params = k.initial.copy(), or layout.initial() for a vector model")
        array = _numbers(value, "params", where)
        if array.shape != (layout.size,):
            raise GdcError(f"params must hold {layout.size} values ({', '.join(layout.element_names[:6])}"
                           f"{', …' if layout.size > 6 else ''}), not an array of shape {array.shape}",
                           where=where, hint="or pass a dict of values by parameter name")
        return np.ascontiguousarray(array, dtype=np.float64)

    def _after(self, kind: str, value, p: int, n: int, where: str):
        if kind in _OUT_SHAPES:
            shape = tuple({"p": p, "N": n}[c] for c in _OUT_SHAPES[kind])
            return _output(value, shape, kind, where, "the kernel writes into it")
        if kind == "lr":
            rate = _number(value, kind, where)
            if not math.isfinite(rate):
                raise GdcError(f"lr must be a finite number, not {rate}", where=where)
            return rate
        if kind == "batch_size":
            if isinstance(value, bool) or not float(_number(value, kind, where)).is_integer() or value < 1:
                raise GdcError(f"batch_size must be a whole number ≥ 1, not {value!r}", where=where)
            return int(value)
        order = _numbers(value, "order", where)
        if order.ndim != 1 or (order.size and (order.dtype.kind == "f" and not np.all(order == np.round(order)))):
            raise GdcError("order must be a 1-D array of row numbers", where=where)
        order = np.ascontiguousarray(order, dtype=np.int64)
        if order.size and (order.min() < 0 or order.max() >= n):
            raise GdcError(f"order holds a row number outside 0 … {n - 1}", where=where)
        return order


def _numbers(value, what: str, where: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise GdcError(f"{what} is not an array of numbers ({e})", where=where) from None
    if array.dtype.kind not in "biuf":
        raise GdcError(f"{what} must hold numbers, not {array.dtype} values", where=where)
    return array


def _number(value, what: str, where: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise GdcError(f"{what} must be a number, not {value!r}", where=where) from None


def _output(value, shape: Sequence[int], what: str, where: str, why: str,
            hint: str | None = None) -> np.ndarray:
    """An array the kernel writes into: it must be one already, so that the caller sees the result."""
    ok = (isinstance(value, np.ndarray) and value.dtype == np.float64 and value.shape == tuple(shape)
          and value.flags.c_contiguous and value.flags.writeable)
    if not ok:
        have = (f"{value.dtype} array of shape {value.shape}" if isinstance(value, np.ndarray)
                else type(value).__name__)
        raise GdcError(f"{what} must be a writable float64 numpy array of shape {tuple(shape)}, "
                       f"since {why}; got a {have}", where=where,
                       hint=hint or f"e.g. np.empty({tuple(shape)[0] if len(shape) == 1 else tuple(shape)})")
    return value
