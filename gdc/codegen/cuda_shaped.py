"""Plan to the CUDA kernels of a SHAPED model (vectors, matrices) at known sizes: codegen.cuda's shaped half.

The CPU's shaped kernels (codegen.shaped) read their sizes from the data when they run and add
a pass's sums into a flat accumulator. A GPU thread's arrays need sizes known when the kernel
is compiled, so this module is generated for given sizes (d = 30), printed as numbers: every
loop has a fixed trip count. Per thread, the row's temp arrays and the thread's own share of
each sum are `cuda.local.array`s, filled by the same loop nests as on the CPU (codegen.loops
lowers the same slots of the same plan). After the grid-stride loop, the block adds the sum
entries one at a time as a tree in ONE shared buffer of THREADS doubles (codegen.cuda_device's
`_block_sum`), and thread 0 writes each to the block's row of `partial`, at the entry's place
in the CPU module's accumulator; `_add_blocks` adds the blocks in block order. So the CPU
module's shaped `_finish` functions finish the sums, and the bits repeat (no atomics).

JᵀJ (a least-squares model) is packed: Σr², then Jᵀr, then the upper triangle of JᵀJ row by
row. A thread's local arrays hold at most LOCAL_LIMIT doubles: past it the loss and gradient
are refused (a GdcError naming --device cpu) and the JᵀJ pass is left out (lm is then not
offered on the GPU; gd and lbfgs are).
"""

from __future__ import annotations

import math
import numbers
import re

import sympy
from sympy import IndexedBase

from gdc.calculus.symbolic import SymbolicModel
from gdc.errors import GdcError
from .cuda_device import CUDA_ATTRIBUTES, CUDA_FIXED, CUDA_HELPERS, DEVICE, HELPER_DEVICE_NAMES, KERNEL
from .loops import Function, Target
from .module import check_module, join
from .plan import Plan
from .printer import DATA_ARRAY, DATA_VALUE
from .shaped import FIXED as SHAPED_FIXED
from .shaped import MANGLED
from .shaped_layout import ShapedLayout, Slots, name_of, shape_of, slots_of

# Doubles of local arrays per thread (8 KiB). The driver reserves a thread's local memory for
# every thread that can be resident (2048 per multiprocessor; 132 of them on an H200): 2.2 GB
# at this size. It fits logistic regression up to d = 1024 and a hidden layer of 32 units on 28
# inputs (both gradients: 1,024 doubles); JᵀJ a line in up to d = 41 inputs.
LOCAL_LIMIT = 1024

# math.tanh is libdevice's on a GPU: the CPU's branch-free _tanh (loops.LOOP_HELPERS) is for SIMD.
TANH = f'''

{DEVICE}
def _tanh(x):
    return math.tanh(x)
'''

SHAPED_FIXED_NAMES = CUDA_FIXED | SHAPED_FIXED | {"_tanh", "N_PARAMS", "AT_SIZES", "OUTPUT_SHAPE", "LOCAL_DOUBLES"}
SHAPED_HELPERS = HELPER_DEVICE_NAMES | {"_tanh"}

# An element read of a data array (`d_x[i, ix_k]`), read as a float64: float32 data are then
# rounded in storage only, as in codegen.cuda's read_data.
_DATA_READ = re.compile(rf"\b{DATA_ARRAY}[A-Za-z_][A-Za-z0-9_]*\[i, [^\]]*\]")


class LocalFunction(Function):
    """A loops.Function whose scratch arrays are per-thread local arrays of fixed size (it counts
    their doubles) and whose element reads of the data are float64."""

    def __init__(self, m: ShapedLayout, signature: str, decorator: str = KERNEL):
        super().__init__(m, signature, decorator)
        self.local = 0

    def local_array(self, name: str, sizes) -> str:
        """The line that makes a local array; its doubles are counted."""
        self.local += math.prod(int(self.size(s)) for s in sizes)
        return f"{name} = cuda.local.array({self.shape_text(sizes)}, numba.float64)"

    def new_array(self, sizes: tuple, prefix: str = "u") -> IndexedBase:
        base = super().new_array(sizes, prefix)
        self.allocs[-1] = self.local_array(self.arrays[base][0], sizes)
        return base

    def text(self, e: sympy.Expr) -> str:
        return _DATA_READ.sub(lambda read: f"float({read.group(0)})", super().text(e))


def check_sizes(sm: SymbolicModel, sizes: dict[str, int]) -> dict[str, int]:
    """`sizes` as ints, or a GdcError unless they give a positive whole number to each size the
    model reads from its data, and no other (a scalar model has none). The numbers are printed
    into the module and its cache key: only ints pass."""
    named = {size for value in sm.checked.data for size in value.shape if isinstance(size, str)}
    missing, unknown = sorted(named - set(sizes)), sorted(set(sizes) - named)
    if missing:
        raise GdcError("the GPU kernels of a model with vectors or matrices are made for the sizes its data "
                       f"give; no value for {', '.join(missing)}", where="--size",
                       hint=f"give each: --size {missing[0]}=N (gdc compile --cuda), or fit on the data")
    if unknown:
        raise GdcError(f"the model has no size {', '.join(unknown)} read from the data "
                       f"(its sizes: {', '.join(sorted(named)) or 'none'})", where="--size")
    wrong = sorted(name for name, value in sizes.items()
                   if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1)
    if wrong:
        raise GdcError(f"a size is a positive whole number, not {sizes[wrong[0]]!r} ({wrong[0]})", where="--size")
    return {name: int(value) for name, value in sizes.items()}


def at_sizes(p: Plan, sizes: dict[str, int]) -> ShapedLayout:
    """The CPU kernels' layout with each size printed as its number (check_sizes checked them)."""
    m = ShapedLayout(p)
    for sym in m.size_names:
        m.size_names[sym] = m.names[sym] = str(int(sizes[sym.name]))
    return m


def _count(f: LocalFunction, shape) -> int:
    return math.prod(int(f.size(s)) for s in shape)


def _prologue(f: LocalFunction, m: ShapedLayout, rows: str) -> int:
    """n, the parameters' offsets (numbers) and their views of `params`; returns their count."""
    f.emit(f"n = {rows}.shape[0]")
    offset = 0
    for q, param in enumerate(m.plan.params):
        f.emit(f"op_{q} = {offset}")
        offset += _count(f, shape_of(param))
    m.read_params(f)
    return offset


def _read_scalars(f: LocalFunction, m: ShapedLayout, exprs) -> None:
    """Each scalar data value the loop uses, read as a float64 (vector data: LocalFunction.text)."""
    used = set().union(*(e.free_symbols for e in exprs))
    for d in m.plan.data:
        if not isinstance(d, IndexedBase) and d in used:
            f.emit(f"{DATA_VALUE}{d.name} = float({DATA_ARRAY}{d.name}[i])", 2)


def _zeroed(f: LocalFunction, name: str, sizes) -> None:
    f.emit(f.local_array(name, sizes))
    f.emit(f"{name}.fill(0.0)")


def _reduce(f: LocalFunction, entries) -> int:
    """Each (value, shape) entry's elements, in C order, added over the block and written by
    thread 0 to the block's row of `partial`, one after the other; returns how many."""
    at = 0
    for value, shape in entries:
        names = [f"ix_{n}" for n in range(len(shape))]
        for depth, (ix, size) in enumerate(zip(names, shape)):
            f.emit(f"for {ix} in range({size}):", 1 + depth)
        strides = [math.prod(shape[n + 1:]) for n in range(len(shape))]
        flat = " + ".join([str(at)] + [f"{ix} * {s}" if s != 1 else ix for ix, s in zip(names, strides)])
        inner = 1 + len(shape)
        f.emit(f"total = _block_sum(shared, {value}{'[' + ', '.join(names) + ']' if shape else ''})", inner)
        f.emit("if cuda.threadIdx.x == 0:", inner)
        f.emit(f"partial[cuda.blockIdx.x, {flat}] = total", inner + 1)
        at += math.prod(shape)
    return at


def blocks_kernel(m: ShapedLayout, name: str, slots: Slots) -> tuple[str, int, int]:
    """`name`(params, *data, partial): each block's sums of the slots into its row of partial.
    Returns the text, the number of sums and the local doubles per thread."""
    f = LocalFunction(m, f"{name}(params, {m.args()}, partial)")
    f.emit("shared = cuda.shared.array(THREADS, numba.float64)")
    _prologue(f, m, DATA_ARRAY + name_of(m.plan.data[0]))
    targets, entries = [], []
    for k, (axes, sizes, body) in enumerate(zip(slots.axes, slots.sizes, slots.acc.bodies)):
        shape = tuple(sizes[ix] for ix in axes)
        if axes:
            base = IndexedBase(sympy.Dummy("a"), shape=shape)
            f.arrays[base] = (f"a_{k}", "")
            _zeroed(f, f"a_{k}", shape)
            place = f"a_{k}[" + ", ".join(["{}"] * len(axes)) + "]"
        else:
            f.emit(f"s_{k} = 0.0")
            place = f"s_{k}"
        targets.append(Target(place, "+=", axes, sizes, body))
        entries.append((place.split("[")[0], tuple(int(f.size(s)) for s in shape)))
    f.mark_allocs()
    f.emit("for i in range(cuda.grid(1), n, cuda.gridsize(1)):")
    _read_scalars(f, m, slots.acc.bodies)
    f.targets(targets, 2)
    count = _reduce(f, entries)
    return f.source(), count, f.local


def jtj_kernel(m: ShapedLayout) -> tuple[str, int, int]:
    """_jtj_blocks(params, *data, partial): Σr², Jᵀr and JᵀJ's upper triangle (packed), per block,
    from each row's residual and its row of J (a local array over the parameter elements)."""
    p = m.plan
    f = LocalFunction(m, f"_jtj_blocks(params, {m.args()}, partial)")
    f.emit("shared = cuda.shared.array(THREADS, numba.float64)")
    size = _prologue(f, m, DATA_ARRAY + name_of(p.data[0]))
    f.emit(f.local_array("row", (sympy.Integer(size),)))
    places = m.param_places(f, "row", "b")
    _zeroed(f, "jtr_out", (sympy.Integer(size),))
    _zeroed(f, "jtj_out", (sympy.Integer(size * (size + 1) // 2),))
    f.emit("s_0 = 0.0")
    f.mark_allocs()
    f.emit("for i in range(cuda.grid(1), n, cuda.gridsize(1)):")
    _read_scalars(f, m, [p.residual, *p.jacobian])
    targets = [Target("res", "=", (), {}, p.residual)]
    for place, (loop, g), sizes in zip(places, p.residual_partials, m.residual_sizes):
        targets.append(Target(place, "=", loop, sizes, g))
    f.targets(targets, 2)
    f.emit("s_0 += res * res", 2)
    f.emit("m = 0", 2)
    f.emit(f"for r in range({size}):", 2)
    f.emit("jtr_out[r] += row[r] * res", 3)
    f.emit(f"for c in range(r, {size}):", 3)
    f.emit("jtj_out[m] += row[r] * row[c]", 4)
    f.emit("m += 1", 4)
    count = _reduce(f, [("s_0", ()), ("jtr_out", (size,)), ("jtj_out", (size * (size + 1) // 2,))])
    return f.source(), count, f.local


def predict_kernel(m: ShapedLayout) -> tuple[str, int]:
    """_predict(params, *inputs, out): the model's value per row (a row of K for a vector model)."""
    p = m.plan
    inputs = m.args(p.inputs)
    f = LocalFunction(m, f"_predict(params{', ' + inputs if inputs else ''}, out)")
    _prologue(f, m, "out")
    f.mark_allocs()
    f.emit("for i in range(cuda.grid(1), n, cuda.gridsize(1)):")
    _read_scalars(f, m, [p.prediction])
    if p.prediction_index:
        ix = p.prediction_index[0]
        target = Target("out[i, {}]", "=", p.prediction_index, {ix: p.prediction_size}, p.prediction)
    else:
        target = Target("out[i]", "=", (), {}, p.prediction)
    f.targets([target], 2)
    return f.source(), f.local


class TooLarge(GdcError):
    """A shaped model whose kernels would need more than LOCAL_LIMIT local doubles per thread at
    these sizes (`--device auto` then stays on the CPU)."""


def _too_large(where: str, kernel: str, local: int, sizes: dict[str, int]) -> TooLarge:
    at = ", ".join(f"{name} = {value}" for name, value in sorted(sizes.items()))
    return TooLarge(f"on the GPU each thread keeps a row's element values and its share of the sums in "
                    f"local arrays; {kernel} of this model{' at ' + at if at else ''} needs {local:,} doubles "
                    f"per thread, more than the {LOCAL_LIMIT:,} the GPU kernels allow", where=where,
                    hint="fit it on the CPU (--device cpu)")


def shaped_body(p: Plan, head: str, sizes: dict[str, int], where: str) -> str:
    """The module text (unsealed) of a shaped model's CUDA kernels at `sizes`, after `head` (the
    opening codegen.cuda writes, constants included)."""
    m = at_sizes(p, sizes)
    contexts = [((), {})] + [(ix, s) for (ix, _), s in zip(p.partials, m.partial_sizes)]
    kernels, sums, local = [], {}, {}
    for name, exprs, ctx in (("_loss_blocks", [p.loss], contexts[:1]),
                             ("_grad_blocks", [p.loss, *p.gradient], contexts)):
        text, sums[name], local[name] = blocks_kernel(m, name, slots_of(exprs, ctx))
        kernels.append(text)
    if p.residual is not None:
        text, count, need = jtj_kernel(m)
        if need <= LOCAL_LIMIT:   # else left out: Gauss–Newton needs p² sums per thread
            kernels.append(text)
            sums["_jtj_blocks"], local["_jtj_blocks"] = count, need
    predict, local["_predict"] = predict_kernel(m)
    for kernel, what in (("_grad_blocks", "the gradient"), ("_loss_blocks", "the loss"), ("_predict", "the prediction")):
        if local[kernel] > LOCAL_LIMIT:
            raise _too_large(where, what, local[kernel], sizes)
    params = sum(math.prod(int(m.size_names.get(s, s)) for s in shape_of(q)) for q in p.params)
    output = () if p.prediction_size is None else (int(m.size_names.get(p.prediction_size, p.prediction_size)),)
    constants = dict(SUMS=sums, AT_SIZES=dict(sorted(sizes.items())), N_PARAMS=params, OUTPUT_SHAPE=output,
                     LOCAL_DOUBLES=local)
    values = "".join(f"{name} = {value!r}\n" for name, value in constants.items())
    body = join([head + values, (CUDA_HELPERS + TANH).lstrip("\n"), *kernels, predict])
    check_module(body, SHAPED_FIXED_NAMES, MANGLED, CUDA_ATTRIBUTES | {"local", "fill", "reshape"}, SHAPED_HELPERS)
    return body
