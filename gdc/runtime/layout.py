"""Where each parameter lives in the flat vector the kernels take, once the data fix the sizes.

Runtime only (numpy; no sympy, no lark). A generated module lists its parameters in
PARAM_NAMES; for a shaped model it also has PARAM_SHAPES, DATA_SHAPES, SIZES and INITIAL
(see gdc/kernels.py). A scalar model's module has none of the three: every shape is then (),
and this module reduces to "parameter j is element j".

- The sizes: a named size `d` is read from the data array SIZES names (`d = x.shape[1]`);
  every data array must then agree with every declared size.
- The flat vector: the parameters in PARAM_NAMES order, each flattened row-major (C order).
- The initial values: a number fills its whole parameter; None draws each element from
  uniform(−1/√fan_in, 1/√fan_in), fan_in = the parameter's last size (a vector's length, a
  matrix's number of columns; 1 for a scalar): the usual scale for a layer's weights, small
  enough that tanh or sigmoid units start unsaturated and different enough to break symmetry.
  The draws come from numpy's default_rng(seed), parameter by parameter in PARAM_NAMES order,
  so a fit is reproducible and `--seed` gives another start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from gdc.errors import GdcError
from .limits import MAX_ELEMENTS

Shape = tuple  # of ints, or for a declared shape ints and size names



@dataclass(frozen=True, slots=True)
class Layout:
    """The parameters' shapes with every size resolved, and their places in the flat vector."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    initial_spec: tuple[float | None, ...]
    sizes: tuple[tuple[str, int], ...] = ()   # (size name, value), the named sizes resolved

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(math.prod(shape) for shape in self.shapes)

    @property
    def offsets(self) -> tuple[int, ...]:
        """Where each parameter starts in the flat vector."""
        out, at = [], 0
        for count in self.counts:
            out.append(at)
            at += count
        return tuple(out)

    @property
    def size(self) -> int:
        """The length of the flat vector."""
        return sum(self.counts)

    @property
    def shaped(self) -> bool:
        """Whether some parameter is a vector or matrix (else the flat vector is the names)."""
        return any(self.shapes)

    def span(self, name: str) -> slice:
        """The slice of the flat vector that holds parameter `name`."""
        j = self.names.index(name)
        start = self.offsets[j]
        return slice(start, start + self.counts[j])

    @property
    def element_names(self) -> tuple[str, ...]:
        """One name per entry of the flat vector: `b`, `w[0]`, `W[3, 7]`."""
        out = []
        for name, shape in zip(self.names, self.shapes):
            if not shape:
                out.append(name)
            else:
                out.extend(f"{name}[{', '.join(map(str, index))}]" for index in np.ndindex(*shape))
        return tuple(out)

    def unflatten(self, theta: np.ndarray) -> dict[str, float | np.ndarray]:
        """name -> a float (scalar parameter) or a new ndarray of its shape."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.size,):
            raise ValueError(f"expected {self.size} parameter values, got an array of shape {theta.shape}")
        out: dict[str, float | np.ndarray] = {}
        for name, shape, start, count in zip(self.names, self.shapes, self.offsets, self.counts):
            out[name] = float(theta[start]) if not shape else theta[start:start + count].reshape(shape).copy()
        return out

    def flatten(self, values: Mapping[str, object], where: str = "the parameters") -> np.ndarray:
        """The flat vector of `values` (numbers, nested lists or arrays, one per name)."""
        theta = np.empty(self.size)
        for name, shape, start, count in zip(self.names, self.shapes, self.offsets, self.counts):
            if name not in values:
                raise GdcError(f"no value for the parameter {name!r}", where=where)
            value = np.asarray(values[name], dtype=np.float64)
            if value.shape != shape:
                raise GdcError(f"{name!r} has shape {_shape_text(value.shape)} here, but the model "
                               f"with this data needs {_shape_text(shape)}", where=where,
                               hint=_sizes_hint(self.sizes))
            theta[start:start + count] = value.ravel()
        return theta

    def initial(self, seed: int = 0) -> np.ndarray:
        """The starting point: numbers as given, None as seeded uniform(±1/√fan_in) draws."""
        rng = np.random.default_rng(seed)
        theta = np.empty(self.size)
        for spec, shape, start, count in zip(self.initial_spec, self.shapes, self.offsets, self.counts):
            if spec is None:
                bound = 1.0 / math.sqrt(shape[-1] if shape else 1)
                theta[start:start + count] = rng.uniform(-bound, bound, count)
            else:
                theta[start:start + count] = float(spec)
        return theta

    def fill(self, theta: np.ndarray, name: str, value: float) -> None:
        """Set every element of parameter `name` to `value`, in place."""
        theta[self.span(name)] = value


def _shape_text(shape: tuple[int, ...]) -> str:
    return "() (a number)" if not shape else f"[{', '.join(map(str, shape))}]"


def _sizes_hint(sizes: tuple[tuple[str, int], ...]) -> str | None:
    if not sizes:
        return None
    return "the data give " + ", ".join(f"{name} = {value}" for name, value in sizes)


def resolve_sizes(data_names: Sequence[str], data_shapes: Sequence[Shape],
                  sizes: Mapping[str, tuple[str, int]], data: Sequence[np.ndarray] | Mapping[str, np.ndarray],
                  where: str = "the data") -> dict[str, int]:
    """Each named size's value, read from the data; every array must agree with every size.

    `data` is one array per data name (in order) or a mapping from data names to arrays; a
    name may be missing from a mapping (predict has only the inputs), and a size it would
    give is then left out of the result.
    """
    arrays = dict(data) if isinstance(data, Mapping) else dict(zip(data_names, data))
    shapes = dict(zip(data_names, data_shapes))
    for name, array in arrays.items():
        shape = shapes.get(name, ())
        if array.ndim != 1 + len(shape):
            what = ("a 1-D array (one value per sample)" if not shape
                    else f"a 2-D array (one row of {_dims(shape)} values per sample)")
            raise GdcError(f"the data {name!r} must be {what}, not an array of shape {array.shape}",
                           where=where)
    found: dict[str, int] = {}
    for size, (name, axis) in sizes.items():
        if name in arrays:
            found[size] = int(arrays[name].shape[axis + 1])
    for name, array in arrays.items():
        for axis, dim in enumerate(shapes.get(name, ())):
            have = int(array.shape[axis + 1])
            if isinstance(dim, str) and dim in found and have != found[dim]:
                source = sizes[dim][0]
                raise GdcError(f"the data {name!r} has {have} columns, but {source!r} has "
                               f"{found[dim]}: both give the size {dim}", where=where)
            if not isinstance(dim, str) and have != dim:
                raise GdcError(f"the data {name!r} has {have} columns, but the model declares "
                               f"{name}[{dim}]", where=where)
    return found


def _dims(shape: Shape) -> str:
    return " × ".join(str(dim) for dim in shape)


def size_from_count(param_shapes: Sequence[Shape], sizes: Mapping[str, int], count: int) -> dict[str, int]:
    """The one size no data give (a softmax model's K, predicting from x alone), from the number
    of parameter values: the count is linear in it. {} when there is no such single size."""
    unknown = {dim for shape in param_shapes for dim in shape if isinstance(dim, str) and dim not in sizes}
    if len(unknown) != 1:
        return {}
    (name,) = unknown

    def total(value: int) -> int:
        known = {**sizes, name: value}
        return sum(math.prod(known[d] if isinstance(d, str) else d for d in shape) for shape in param_shapes)
    slope, rest = total(1) - total(0), total(0)
    if slope <= 0 or total(2) - total(1) != slope or (count - rest) % slope or count <= rest:
        return {}
    return {name: (count - rest) // slope}


def layout(param_names: Sequence[str], param_shapes: Sequence[Shape], initial: Sequence[float | None],
           sizes: Mapping[str, int]) -> Layout:
    """The layout of the parameters, their named sizes replaced by the values in `sizes`."""
    resolved = []
    for name, shape in zip(param_names, param_shapes):
        dims = []
        for dim in shape:
            if isinstance(dim, str):
                if dim not in sizes:
                    raise GdcError(f"the size {dim!r} of the parameter {name!r} is not known: "
                                   "no data give it", where="the data")
                dim = sizes[dim]
            dims.append(int(dim))
        resolved.append(tuple(dims))
        count = math.prod(dims)
        if count > MAX_ELEMENTS:
            raise GdcError(f"the parameter {name!r} would hold {count:,} values with these sizes "
                           f"({' × '.join(map(str, dims))}); a vector or matrix may hold at most "
                           f"{MAX_ELEMENTS:,}", where="the data")
    used = sorted({dim for shape in param_shapes for dim in shape if isinstance(dim, str)})
    return Layout(tuple(param_names), tuple(resolved), tuple(initial),
                  tuple((name, int(sizes[name])) for name in used))
