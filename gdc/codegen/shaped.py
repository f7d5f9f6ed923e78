"""IndexPlan to the Python source of @numba.njit kernels for SHAPED models: loops over elements.

The text never grows with a size: sizes are read at run time from the data shapes, parameters'
offsets in the flat `params` are computed from them, and every element-wise computation is a
loop (lowered by codegen_loops: element sums materialized, parts that need fewer indices
hoisted, temps shared). As in codegen.py, every sum over the samples is one slot of ONE fused
pass; here a slot is an array over its body's free indices, all slots in one flat accumulator.
Scratch arrays are allocated once per call (per chunk, per batch), never per sample.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy
from sympy import IndexedBase

from gdc.version import __version__
from .scalar import (_INV_N, Accumulation, _printable, accumulate, check_module, module_options,
                      per_sample)
from .loops import LOOP_HELPER_NAMES, LOOP_HELPERS, Function, Target, fresh_bounds, index_sizes
from .printer import DATA_ARRAY, DATA_VALUE, HELPER_NAMES, HELPERS, PARAM
from gdc.errors import InternalError
from gdc.calculus.symbolic import Sum as SampleSum
from gdc.calculus.symbolic import mean
from gdc.calculus.kinks import kinked_parameters

Partials = tuple[tuple[tuple[sympy.Symbol, ...], sympy.Expr], ...]


@dataclass(frozen=True)
class IndexPlan:
    """What the kernels of a shaped model compute, as sympy in index form (see the shared spec)."""

    params: tuple[sympy.Symbol | IndexedBase, ...]  # in PARAM_NAMES order
    data: tuple[sympy.Symbol | IndexedBase, ...]  # PerSample symbols or per-sample bases
    inputs: tuple[sympy.Symbol | IndexedBase, ...]  # the data the prediction uses
    initial: tuple[float | None, ...]
    loss: sympy.Expr  # scalar, with mean/Sum over samples
    partials: Partials  # (free indices, ∂J/∂θ[indices]) per parameter
    prediction: sympy.Expr  # scalar per sample
    residual: sympy.Expr | None = None  # least squares: loss = c·Σr² (c/N when lsq_mean)
    lsq_scale: float | None = None
    lsq_mean: bool = False
    residual_partials: Partials = ()
    sizes: dict[str, tuple[str, int]] = field(default_factory=dict)  # size -> (data name, axis)


def _name(item) -> str:
    return item.label.name if isinstance(item, IndexedBase) else item.name


def _shape(item) -> tuple:
    return tuple(item.shape) if isinstance(item, IndexedBase) else ()


def _shape_const(item) -> tuple:
    return tuple(int(s) if s.is_Integer else s.name for s in _shape(item))


def _free_sizes(params, partials: Partials) -> tuple[dict, ...]:
    """Per partial ∂/∂θ[j, k], its free indices' sizes: θ's shape."""
    return tuple(dict(zip(ix, _shape(p))) for p, (ix, _) in zip(params, partials))


class _Module:
    """The names, sizes and parameter offsets every function of one module shares."""

    def __init__(self, plan: IndexPlan):
        self.plan = plan
        self.size_names = {}
        for item in plan.params + plan.data:
            for s in _shape(item):
                if s.is_Symbol and s.name not in plan.sizes:
                    raise InternalError(f"codegen: the size {s} is not bound from the data")
        for name in plan.sizes:
            self.size_names[sympy.Symbol(name, integer=True, positive=True)] = "sz_" + name
        self.names: dict = dict(self.size_names)
        self.arrays: dict = {}
        for p in plan.params:
            if isinstance(p, IndexedBase):
                self.arrays[p] = (PARAM + _name(p), "")
            else:
                self.names[p] = PARAM + p.name
        for d in plan.data:
            if isinstance(d, IndexedBase):
                self.arrays[d] = (DATA_ARRAY + _name(d), "i, ")
            else:
                self.names[d] = DATA_VALUE + d.name
        self.partial_sizes = _free_sizes(plan.params, plan.partials)
        self.residual_sizes = _free_sizes(plan.params, plan.residual_partials)

    def args(self, data=None) -> str:
        return ", ".join(DATA_ARRAY + _name(d) for d in (self.plan.data if data is None else data))

    def prologue(self, f: Function, data=None, check: bool = False, outs=()) -> None:
        """n, the sizes from the data shapes and the parameters' offsets; with check, the
        ValueErrors for arrays that disagree (loops would read past the end of one)."""
        data = self.plan.data if data is None else data
        arrays = [DATA_ARRAY + _name(d) for d in data]
        f.emit(f"n = {arrays[0]}.shape[0]" if arrays else "n = 1")
        sources, unknown = {}, []
        for name, source in self.plan.sizes.items():  # from SIZES' array, else any that has it
            options = [source] + [(_name(d), pos) for d in data for pos, s in enumerate(_shape(d))
                                  if s.is_Symbol and s.name == name]
            found = next((o for o in options if o[0] in {_name(d) for d in data}), None)
            if found is None:
                unknown.append(name)
                continue
            sources[name] = found
            f.emit(f"sz_{name} = {DATA_ARRAY}{found[0]}.shape[{found[1] + 1}]")
        self.solve_size(f, unknown)
        if check:
            for a in arrays[1:]:
                f.emit(f"if {a}.shape[0] != n:")
                f.emit('raise ValueError("the data arrays must all have the same length")', 2)
            for d in data:
                for pos, s in enumerate(_shape(d)):
                    if s.is_Symbol and sources[s.name] == (_name(d), pos):
                        continue
                    f.emit(f"if {DATA_ARRAY}{_name(d)}.shape[{pos + 1}] != {f.size(s)}:")
                    f.emit(f'raise ValueError("{_name(d)} must have {s} columns (DATA_SHAPES, SIZES)")', 2)
        total = "0"
        for q, p in enumerate(self.plan.params):
            f.emit(f"op_{q} = {total}")
            total = f"op_{q} + {f.count_text(_shape(p))}"
        f.emit(f"n_params = {total}")
        if check:
            for vector in ("params", *outs):
                f.emit(f"if {vector}.shape[0] != n_params:")
                f.emit(f'raise ValueError("{vector} must hold one value per parameter element '
                       '(PARAM_NAMES, PARAM_SHAPES)")', 2)

    def solve_size(self, f: Function, names: list[str]) -> None:
        """A size no array given has (predict without the array it comes from), from len(params)."""
        total = sympy.Add(*(sympy.Mul(*_shape(p)) for p in self.plan.params))
        unknown = [s for s in total.free_symbols if s.name in names]
        if not unknown:
            return
        poly = sympy.Poly(total, *unknown)
        if len(unknown) > 1 or poly.degree() != 1:
            raise InternalError(f"codegen: the sizes {', '.join(sorted(names))} cannot be read from "
                                "the arrays given or the length of params")
        slope, rest = poly.all_coeffs()
        name = self.size_names[unknown[0]]
        f.emit(f"{name} = (params.shape[0] - {self.count(f, rest)}) // {self.count(f, slope)}")
        f.emit(f"if {name} < 1:")
        f.emit('raise ValueError("params must hold one value per parameter element (PARAM_NAMES, '
               'PARAM_SHAPES)")', 2)

    def count(self, f: Function, e: sympy.Expr) -> str:
        """An integer expression in the sizes, as integer arithmetic."""
        if e.is_Integer or e.is_Symbol:
            return f.size(e)
        if isinstance(e, sympy.Pow) and e.exp.is_Integer and e.exp > 0:
            return "(" + " * ".join([self.count(f, e.base)] * int(e.exp)) + ")"
        if isinstance(e, (sympy.Add, sympy.Mul)):
            return "(" + (" + " if e.is_Add else " * ").join(self.count(f, a) for a in e.args) + ")"
        raise InternalError(f"codegen: cannot print the size {e}")

    def read_params(self, f: Function, depth: int = 1, scalars: bool = True) -> None:
        for q, p in enumerate(self.plan.params):
            if isinstance(p, IndexedBase):
                f.emit(f"{PARAM}{_name(p)} = {self.view(f, 'params', f'op_{q}', _shape(p))}", depth)
            elif scalars:
                f.emit(f"{PARAM}{p.name} = params[op_{q}]", depth)

    def view(self, f: Function, array: str, offset: str, shape: tuple) -> str:
        """A view of a flat array's part as an array of `shape` (C order)."""
        text = f"{array}[{offset}:{offset} + {f.count_text(shape)}]"
        return text if len(shape) == 1 else f"{text}.reshape({f.shape_text(shape)})"

    def param_places(self, f: Function, array: str, prefix: str, depth: int = 1) -> list[str]:
        """Per parameter, where its entries of a flat vector (grad_out, a Jacobian row) go."""
        places = []
        for q, p in enumerate(self.plan.params):
            if isinstance(p, IndexedBase):
                f.emit(f"{prefix}_{q} = {self.view(f, array, f'op_{q}', _shape(p))}", depth)
                places.append(f"{prefix}_{q}[" + ", ".join(["{}"] * len(_shape(p))) + "]")
            else:
                places.append(f"{array}[op_{q}]")
        return places

    def read_data(self, f: Function, exprs, depth: int) -> None:
        used = set().union(*(e.free_symbols for e in exprs))
        for d in self.plan.data:
            if not isinstance(d, IndexedBase) and d in used:
                f.emit(f"{DATA_VALUE}{d.name} = {DATA_ARRAY}{d.name}[i]", depth)

    def sample_loop(self, f: Function, indexed: bool, exprs, depth: int = 1, bounds: str = "lo, hi") -> None:
        if indexed:
            f.emit(f"for r in range({bounds}):", depth)
            f.emit("i = order[r]", depth + 1)
            f.emit("if i < 0 or i >= n:", depth + 1)
            f.emit('raise IndexError("order holds an index outside the data")', depth + 2)
        else:
            f.emit(f"for i in range({bounds}):", depth)
        self.read_data(f, exprs, depth + 1)


# ------------------------------------------------------------------ sums over the samples

_BLOCK = 256  # samples per block of the fused pass: its scalar tail runs once per block


@dataclass(frozen=True)
class _Slots:
    """The accumulator: one slot per distinct reduction body, an array over the body's indices."""

    acc: Accumulation
    axes: tuple[tuple[sympy.Symbol, ...], ...]
    sizes: tuple[dict, ...]


def _slots(exprs, contexts) -> _Slots:
    """Accumulate `exprs` (each with its (loop, sizes) context) into one flat accumulator."""
    acc = accumulate([_tidy(e) for e in exprs])
    axes, sizes = [], []
    for s, body in zip(acc.sums, acc.bodies):
        loop, ctx = next((c for e, c in zip(acc.outer, contexts) if s in e.free_symbols), ((), {}))
        ctx = index_sizes(fresh_bounds(body), ctx)
        used = {ix for ix in body.free_symbols if ix in ctx}
        if not used <= set(loop):
            raise InternalError("codegen: a sum over the samples inside a sum over elements")
        axes.append(tuple(ix for ix in loop if ix in used))
        sizes.append(ctx)
    return _Slots(acc, tuple(axes), tuple(sizes))


def _tidy(expr: sympy.Expr) -> sympy.Expr:
    """Common factors out of each reduction body: (a·x[j] + b·x[j]) → (a + b)·x[j]."""
    return expr.xreplace({r: type(r)(sympy.factor_terms(r.args[0])) for r in expr.atoms(mean, SampleSum)})


def _slot_views(m: _Module, f: Function, slots: _Slots, scalars: str) -> list:
    """Offsets into `acc`, a view per array slot; per slot its place (text) or base (sympy).

    scalars="local": scalar slots are summed in local variables s_k (returned as their names);
    scalars="read": they are read from acc into s_k.
    """
    total = "0"
    out = []
    for k, (axes, sizes) in enumerate(zip(slots.axes, slots.sizes)):
        shape = tuple(sizes[ix] for ix in axes)
        f.emit(f"oa_{k} = {total}")
        total = f"oa_{k} + {f.count_text(shape)}"
        if axes:
            base = IndexedBase(sympy.Dummy("a"), shape=shape)
            f.arrays[base] = (f"a_{k}", "")
            f.emit(f"a_{k} = {m.view(f, 'acc', f'oa_{k}', shape)}")
            out.append(base)
        else:
            f.emit(f"s_{k} = 0.0" if scalars == "local" else f"s_{k} = acc[oa_{k}]")
            out.append(f"s_{k}")
    return out


def _acc_length(f: Function, slots: _Slots) -> str:
    counts = [f.count_text(tuple(sizes[ix] for ix in axes)) for axes, sizes in zip(slots.axes, slots.sizes)]
    return " + ".join(counts)


def _sums_function(m: _Module, slots: _Slots, name: str, indexed: bool) -> str:
    """Add every body, over samples lo..hi-1 (of `order`, when indexed), into acc: one pass."""
    f = Function(m, f"{name}(params, {m.args()}, {'order, ' if indexed else ''}lo, hi, acc)")
    m.prologue(f)
    m.read_params(f)
    places = _slot_views(m, f, slots, "local")
    f.mark_allocs()
    f.emit(f"for blo in range(lo, hi, {_BLOCK}):")
    f.emit(f"bhi = min(blo + {_BLOCK}, hi)", 2)
    m.sample_loop(f, indexed, slots.acc.bodies, 2, "blo, bhi")
    targets = []
    for k, (place, axes, sizes, body) in enumerate(zip(places, slots.axes, slots.sizes, slots.acc.bodies)):
        text = place if isinstance(place, str) else f"a_{k}[" + ", ".join(["{}"] * len(axes)) + "]"
        targets.append(Target(text, "+=", axes, sizes, body))
    tail = f.targets(targets, 3, defer=True)
    # The scalar sums (the loss, ∂J/∂b) in a second loop over the block, from buffered scalars:
    # their log1p/exp chains then vectorize across samples instead of stalling each one.
    row = "r" if indexed else "i"
    kept = sorted(set().union(*(v.free_symbols for _, _, v in tail)) & f.scalars, key=lambda t: f.names[t])
    buffers = {sym: f"v_{next(f.count)}" for sym in kept}
    for sym, buffer in buffers.items():
        f.allocs.append(f"{buffer} = np.empty({_BLOCK})")
        f.emit(f"{buffer}[{row} - blo] = {f.names[sym]}", 3)
    if tail:
        m.sample_loop(f, indexed, [v for _, _, v in tail], 2, "blo, bhi")
        for sym, buffer in buffers.items():
            f.emit(f"{f.names[sym]} = {buffer}[{row} - blo]", 3)
        f.values(tail, 3)
    for k, place in enumerate(places):
        if isinstance(place, str):
            f.emit(f"acc[oa_{k}] += {place}")
    f.emit("return 0")
    return f.source()


def _finish_function(m: _Module, slots: _Slots, name: str, with_grad: bool) -> str:
    """The loss (returned) and the gradient (into grad_out) from the sums and 1/N."""
    f = Function(m, f"{name}(params, {m.args()}, acc, inv_n{', grad_out' if with_grad else ''})")
    f.names[_INV_N] = "inv_n"
    m.prologue(f)
    m.read_params(f)
    places = _slot_views(m, f, slots, "read")
    swap = {}
    for s, place, axes in zip(slots.acc.sums, places, slots.axes):
        if isinstance(place, str):
            f.names[s] = place
        else:
            swap[s] = place[axes]
    outer = [e.xreplace(swap) for e in slots.acc.outer]
    grad = m.param_places(f, "grad_out", "g") if with_grad else []
    f.mark_allocs()
    targets = [Target("total", "=", (), {}, outer[0])]
    for place, (loop, _), sizes, value in zip(grad, m.plan.partials, m.partial_sizes, outer[1:]):
        targets.append(Target(place, "=", loop, sizes, value))
    f.targets(targets, 1)
    f.emit("return total")
    return f.source()


# ------------------------------------------------------------------ the public kernels

def _loss(m: _Module, slots: _Slots) -> str:
    f = Function(m, f"loss(params, {m.args()})")
    m.prologue(f, check=True)
    f.emit(f"acc = np.zeros({_acc_length(f, slots)})")
    f.emit(f"_loss_sums(params, {m.args()}, 0, n, acc)")
    f.emit(f"return _loss_finish(params, {m.args()}, acc, 1.0 / n)")
    return f.source()


def _loss_grad(m: _Module, slots: _Slots) -> str:
    f = Function(m, f"loss_grad(params, {m.args()}, grad_out)")
    m.prologue(f, check=True, outs=("grad_out",))
    f.emit(f"acc = np.zeros({_acc_length(f, slots)})")
    f.emit(f"_sums(params, {m.args()}, 0, n, acc)")
    f.emit(f"return _finish(params, {m.args()}, acc, 1.0 / n, grad_out)")
    return f.source()


def _loss_grad_parallel(m: _Module, slots: _Slots) -> str:
    """Fixed chunks, one accumulator each, added in chunk order: the same bits on any thread count."""
    f = Function(m, f"loss_grad_parallel(params, {m.args()}, grad_out)", "@numba.njit(**_JIT_PARALLEL)")
    m.prologue(f, check=True, outs=("grad_out",))
    f.emit(f"chunks = np.zeros((N_CHUNKS, {_acc_length(f, slots)}))")
    f.emit("for c in numba.prange(N_CHUNKS):")
    f.emit(f"_sums(params, {m.args()}, c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS, chunks[c])", 2)
    f.emit("acc = np.zeros(chunks.shape[1])")
    f.emit("for c in range(N_CHUNKS):")
    f.emit("for r in range(chunks.shape[1]):", 2)
    f.emit("acc[r] += chunks[c, r]", 3)
    f.emit(f"return _finish(params, {m.args()}, acc, 1.0 / n, grad_out)")
    return f.source()


def _sgd_epoch(m: _Module) -> str:
    """One update per sample, in `order`, on the per-sample objective (all parameters at once)."""
    p = m.plan
    f = Function(m, f"sgd_epoch(params, {m.args()}, lr, order)")
    m.prologue(f, check=True)
    m.read_params(f, scalars=False)
    f.emit("grad = np.empty(n_params)")
    places = m.param_places(f, "grad", "g")
    f.mark_allocs()
    f.emit("total = 0.0")
    f.emit("for r in range(order.shape[0]):")
    f.emit("i = order[r]", 2)
    f.emit("if i < 0 or i >= n:", 2)
    f.emit('raise IndexError("order holds an index outside the data")', 3)
    for q, param in enumerate(p.params):  # scalars are re-read: the last update changed them
        if not isinstance(param, IndexedBase):
            f.emit(f"{PARAM}{param.name} = params[op_{q}]", 2)
    exprs = [per_sample(_tidy(p.loss))] + [per_sample(_tidy(g)) for _, g in p.partials]
    m.read_data(f, exprs, 2)
    targets = [Target("total", "+=", (), {}, exprs[0])]
    for place, (loop, _), sizes, value in zip(places, p.partials, m.partial_sizes, exprs[1:]):
        targets.append(Target(place, "=", loop, sizes, value))
    f.targets(targets, 2)
    f.emit("for c in range(n_params):", 2)
    f.emit("params[c] -= lr * grad[c]", 3)
    f.emit("return total / order.shape[0]")
    return f.source()


def _minibatch_epoch(m: _Module, slots: _Slots) -> str:
    """One update per batch of `batch_size` samples of `order` (the last may be smaller)."""
    f = Function(m, f"minibatch_epoch(params, {m.args()}, lr, batch_size, order)")
    m.prologue(f, check=True)
    f.emit("if batch_size < 1:")
    f.emit('raise ValueError("batch_size must be at least 1")', 2)
    f.emit("m = order.shape[0]")
    f.emit("grad = np.empty(n_params)")
    f.emit(f"acc = np.empty({_acc_length(f, slots)})")
    f.emit("total = 0.0")
    f.emit("for lo in range(0, m, batch_size):")
    f.emit("hi = min(lo + batch_size, m)", 2)
    f.emit("acc.fill(0.0)", 2)
    f.emit(f"_sums_at(params, {m.args()}, order, lo, hi, acc)", 2)
    f.emit(f"total += _finish(params, {m.args()}, acc, 1.0 / (hi - lo), grad) * (hi - lo)", 2)
    f.emit("for r in range(n_params):", 2)
    f.emit("params[r] -= lr * grad[r]", 3)
    f.emit("return total / m")
    return f.source()


def _predict(m: _Module) -> str:
    """The model's value per sample; a model without inputs gives one value."""
    p = m.plan
    f = Function(m, f"predict(params{''.join(', ' + DATA_ARRAY + _name(d) for d in p.inputs)})")
    m.prologue(f, p.inputs, check=True)
    m.read_params(f)
    f.emit("out = np.empty(n)")
    f.mark_allocs()
    f.emit("lo = 0")
    f.emit("hi = n")
    m.sample_loop(f, False, [p.prediction])
    f.targets([Target("out[i]", "=", (), {}, p.prediction)], 2)
    f.emit("return out")
    return f.source()


def _residual_rows(m: _Module, f: Function) -> None:
    """Per sample: `res` = r and `row` = ∂r/∂θ (flat, PARAM_NAMES order), inside `for i`."""
    p = m.plan
    m.read_params(f)
    f.emit("row = np.empty(n_params)")
    places = m.param_places(f, "row", "b")
    f.mark_allocs()
    f.emit("lo = 0")
    f.emit("hi = n")
    m.sample_loop(f, False, [p.residual] + [g for _, g in p.residual_partials])
    targets = [Target("res", "=", (), {}, p.residual)]
    for place, (loop, g), sizes in zip(places, p.residual_partials, m.residual_sizes):
        targets.append(Target(place, "=", loop, sizes, g))
    f.targets(targets, 2)


def _jtj_jtr(m: _Module) -> str:
    """jtj_jtr(params, *data, jtj_out, jtr_out) -> Σr²: JᵀJ (both triangles) and Jᵀr, one pass."""
    f = Function(m, f"jtj_jtr(params, {m.args()}, jtj_out, jtr_out)")
    m.prologue(f, check=True, outs=("jtr_out",))
    f.emit("if jtj_out.shape[0] != n_params or jtj_out.shape[1] != n_params:")
    f.emit('raise ValueError("jtj_out must be a square matrix, one row per parameter element")', 2)
    f.emit("jtj_out.fill(0.0)")
    f.emit("jtr_out.fill(0.0)")
    f.emit("total = 0.0")
    _residual_rows(m, f)
    f.emit("total += res * res", 2)
    f.emit("for r in range(n_params):", 2)
    f.emit("jtr_out[r] += row[r] * res", 3)
    f.emit("for c in range(r, n_params):", 3)
    f.emit("jtj_out[r, c] += row[r] * row[c]", 4)
    f.emit("for r in range(n_params):")
    f.emit("for c in range(r):", 2)
    f.emit("jtj_out[r, c] = jtj_out[c, r]", 3)
    f.emit("return total")
    return f.source()


def _residuals_jacobian(m: _Module) -> str:
    """residuals_jacobian(params, *data, r_out, jac_out): r and ∂r/∂θ per sample (N×p memory)."""
    f = Function(m, f"residuals_jacobian(params, {m.args()}, r_out, jac_out)")
    m.prologue(f, check=True)
    f.emit("if r_out.shape[0] != n or jac_out.shape[0] != n or jac_out.shape[1] != n_params:")
    f.emit('raise ValueError("r_out must hold one value per row, jac_out one row per row of data '
           'and one column per parameter element")', 2)
    _residual_rows(m, f)
    f.emit("r_out[i] = res", 2)
    f.emit("for r in range(n_params):", 2)
    f.emit("jac_out[i, r] = row[r]", 3)
    f.emit("return n")
    return f.source()


# ------------------------------------------------------------------ the module

def module_body(plan: IndexPlan, source_comment: str, model_hash: str) -> str:
    """The module text (unsealed: codegen seals it) of one shaped model's kernels."""
    m = _Module(plan)
    contexts = [((), {})] + [(ix, sizes) for (ix, _), sizes in zip(plan.partials, m.partial_sizes)]
    loss_slots = _slots([plan.loss], contexts[:1])
    grad_slots = _slots([plan.loss, *(g for _, g in plan.partials)], contexts)
    parts = [
        _preamble(plan, source_comment, model_hash),
        HELPERS.lstrip("\n"),
        LOOP_HELPERS.lstrip("\n"),
        _sums_function(m, loss_slots, "_loss_sums", indexed=False),
        _finish_function(m, loss_slots, "_loss_finish", with_grad=False),
        _sums_function(m, grad_slots, "_sums", indexed=False),
        _sums_function(m, grad_slots, "_sums_at", indexed=True),
        _finish_function(m, grad_slots, "_finish", with_grad=True),
        _loss(m, loss_slots),
        _loss_grad(m, grad_slots),
        _loss_grad_parallel(m, grad_slots),
        _sgd_epoch(m),
        _minibatch_epoch(m, grad_slots),
        _predict(m),
    ]
    if plan.residual is not None:
        parts += [_jtj_jtr(m), _residuals_jacobian(m)]
    body = "\n\n".join(part.rstrip("\n") + "\n" for part in parts)
    check_module(body, _FIXED, _MANGLED, _ATTRIBUTES, HELPER_NAMES | LOOP_HELPER_NAMES)
    return body


def _preamble(p: IndexPlan, source_comment: str, model_hash: str) -> str:
    comment = "\n".join(line if line.startswith("#") else "# " + _printable(line)
                        for line in source_comment.splitlines())
    return f'''{comment}
"""Kernels of one gd model with vectors and matrices, generated by gdc. They need numpy and numba only.

Calling convention: `params` is one flat 1-D float64 array, the parameters in the order of
PARAM_NAMES, each flattened in C order (shapes in PARAM_SHAPES; the sizes named there are read
from the data: SIZES). A scalar data column is a 1-D float64 array, a data vector a 2-D
C-contiguous float64 array with one row per sample; one positional argument each, in the
order of DATA_NAMES (predict: INPUT_NAMES).
"""

import math

import numba
import numpy as np

GDC_VERSION = {__version__!r}
MODEL_HASH = {model_hash!r}
PARAM_NAMES = {tuple(_name(q) for q in p.params)!r}
PARAM_SHAPES = {tuple(_shape_const(q) for q in p.params)!r}
DATA_NAMES = {tuple(_name(d) for d in p.data)!r}
DATA_SHAPES = {tuple(_shape_const(d) for d in p.data)!r}
INPUT_NAMES = {tuple(_name(d) for d in p.inputs)!r}
SIZES = {dict(p.sizes)!r}
INITIAL = {tuple(None if v is None else float(v) for v in p.initial)!r}
''' + module_options(p.lsq_scale, p.lsq_mean, kinked_parameters(p.loss, p.params))


# Names the generator itself uses; user names are always a prefix + a checked name.
_FIXED = frozenset({
    "math", "numba", "np", "_JIT", "_JIT_PARALLEL", "_JIT_EXACT", "N_CHUNKS", "GDC_VERSION", "MODEL_HASH",
    "PARAM_NAMES", "PARAM_SHAPES", "DATA_NAMES", "DATA_SHAPES", "INPUT_NAMES", "SIZES", "INITIAL",
    "LSQ_SCALE", "LSQ_MEAN", "params", "grad_out", "grad", "lr", "order", "batch_size", "n", "m", "i",
    "r", "c", "lo", "hi", "acc", "chunks", "total", "inv_n", "out", "res", "row", "n_params", "jtj_out",
    "jtr_out", "r_out", "jac_out", "min", "range", "ValueError", "IndexError", "loss", "loss_grad",
    "loss_grad_parallel", "sgd_epoch", "minibatch_epoch", "predict", "jtj_jtr", "residuals_jacobian",
    "_loss_sums", "_loss_finish", "_sums", "_sums_at", "_finish", "abs", "max", "dict", "blo", "bhi",
    "KINKS",
}) | HELPER_NAMES | LOOP_HELPER_NAMES
_MANGLED = re.compile(r"(p|d|di|sz|ix)_[A-Za-z_][A-Za-z0-9_]*|(t|s|u|a|g|b|v|op|oa|ix)_[0-9]+")
_ATTRIBUTES = frozenset({"shape", "reshape", "fill"})


