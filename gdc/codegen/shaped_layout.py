"""Where each array lives in the kernels of a shaped model: sizes, offsets and the accumulator.

The text never grows with a size: sizes are read at run time from the data shapes, and each
parameter's offset in the flat `params` is computed from them. Every sum over the samples is
one slot of the fused pass's flat accumulator `acc`: an array over its body's free indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import IndexedBase

from gdc.calculus.functions import SampleReduction
from gdc.errors import InternalError
from .loops import Function, fresh_bounds, index_sizes
from .plan import Accumulation, Partials, Plan, accumulate
from .printer import DATA_ARRAY, DATA_VALUE, PARAM


def name_of(item) -> str:
    return item.label.name if isinstance(item, IndexedBase) else item.name


def shape_of(item) -> tuple:
    return tuple(item.shape) if isinstance(item, IndexedBase) else ()


def shape_const(item) -> tuple:
    """The shape as the module's constants write it: numbers, and the names of sizes."""
    return tuple(int(s) if s.is_Integer else s.name for s in shape_of(item))


def _free_sizes(params, partials: Partials) -> tuple[dict, ...]:
    """Per partial ∂/∂θ[j, k], its free indices' sizes: θ's shape."""
    return tuple(dict(zip(ix, shape_of(p))) for p, (ix, _) in zip(params, partials))


class ShapedLayout:
    """The names, sizes and parameter offsets every function of one module shares."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.size_names = {}
        for item in plan.params + plan.data:
            for s in shape_of(item):
                if s.is_Symbol and s.name not in plan.sizes:
                    raise InternalError(f"codegen: the size {s} is not bound from the data")
        for name in plan.sizes:
            self.size_names[sympy.Symbol(name, integer=True, positive=True)] = "sz_" + name
        self.names: dict = dict(self.size_names)
        self.arrays: dict = {}
        for p in plan.params:
            if isinstance(p, IndexedBase):
                self.arrays[p] = (PARAM + name_of(p), "")
            else:
                self.names[p] = PARAM + p.name
        for d in plan.data:
            if isinstance(d, IndexedBase):
                self.arrays[d] = (DATA_ARRAY + name_of(d), "i, ")
            else:
                self.names[d] = DATA_VALUE + d.name
        self.partial_sizes = _free_sizes(plan.params, plan.partials)
        self.residual_sizes = _free_sizes(plan.params, plan.residual_partials)

    def args(self, data=None) -> str:
        return ", ".join(DATA_ARRAY + name_of(d) for d in (self.plan.data if data is None else data))

    def prologue(self, f: Function, data=None, check: bool = False, outs=()) -> None:
        """n, the sizes from the data shapes and the parameters' offsets; with check, the
        ValueErrors for arrays that disagree (loops would read past the end of one)."""
        data = self.plan.data if data is None else data
        arrays = [DATA_ARRAY + name_of(d) for d in data]
        f.emit(f"n = {arrays[0]}.shape[0]" if arrays else "n = 1")
        sources, unknown = {}, []
        for name, source in self.plan.sizes.items():  # from SIZES' array, else any that has it
            options = [source] + [(name_of(d), pos) for d in data for pos, s in enumerate(shape_of(d))
                                  if s.is_Symbol and s.name == name]
            found = next((o for o in options if o[0] in {name_of(d) for d in data}), None)
            if found is None:
                unknown.append(name)
                continue
            sources[name] = found
            f.emit(f"sz_{name} = {DATA_ARRAY}{found[0]}.shape[{found[1] + 1}]")
        self.solve_size(f, unknown)
        if check:
            self.check_data(f, arrays, data, sources)
        total = "0"
        for q, p in enumerate(self.plan.params):
            f.emit(f"op_{q} = {total}")
            total = f"op_{q} + {f.count_text(shape_of(p))}"
        f.emit(f"n_params = {total}")
        if check:
            for vector in ("params", *outs):
                f.emit(f"if {vector}.shape[0] != n_params:")
                f.emit(f'raise ValueError("{vector} must hold one value per parameter element '
                       '(PARAM_NAMES, PARAM_SHAPES)")', 2)

    def check_data(self, f: Function, arrays: list[str], data, sources: dict) -> None:
        """The data arrays agree in rows, and in every size not read from them."""
        for a in arrays[1:]:
            f.emit(f"if {a}.shape[0] != n:")
            f.emit('raise ValueError("the data arrays must all have the same length")', 2)
        for d in data:
            for pos, s in enumerate(shape_of(d)):
                if s.is_Symbol and sources[s.name] == (name_of(d), pos):
                    continue
                f.emit(f"if {DATA_ARRAY}{name_of(d)}.shape[{pos + 1}] != {f.size(s)}:")
                f.emit(f'raise ValueError("{name_of(d)} must have {s} columns (DATA_SHAPES, SIZES)")', 2)

    def solve_size(self, f: Function, names: list[str]) -> None:
        """A size no array given has (predict without the array it comes from), from len(params)."""
        total = sympy.Add(*(sympy.Mul(*shape_of(p)) for p in self.plan.params))
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
                f.emit(f"{PARAM}{name_of(p)} = {self.view(f, 'params', f'op_{q}', shape_of(p))}", depth)
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
                f.emit(f"{prefix}_{q} = {self.view(f, array, f'op_{q}', shape_of(p))}", depth)
                places.append(f"{prefix}_{q}[" + ", ".join(["{}"] * len(shape_of(p))) + "]")
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


# ------------------------------------------------------------------ the accumulator

@dataclass(frozen=True)
class Slots:
    """The accumulator: one slot per distinct reduction body, an array over the body's indices."""

    acc: Accumulation
    axes: tuple[tuple[sympy.Symbol, ...], ...]
    sizes: tuple[dict, ...]


def slots_of(exprs, contexts) -> Slots:
    """Accumulate `exprs` (each with its (loop, sizes) context) into one flat accumulator."""
    acc = accumulate([factor_bodies(e) for e in exprs])
    axes, sizes = [], []
    for s, body in zip(acc.sums, acc.bodies):
        loop, ctx = next((c for e, c in zip(acc.outer, contexts) if s in e.free_symbols), ((), {}))
        ctx = index_sizes(fresh_bounds(body), ctx)
        used = {ix for ix in body.free_symbols if ix in ctx}
        if not used <= set(loop):
            raise InternalError("codegen: a sum over the samples inside a sum over elements")
        axes.append(tuple(ix for ix in loop if ix in used))
        sizes.append(ctx)
    return Slots(acc, tuple(axes), tuple(sizes))


def factor_bodies(expr: sympy.Expr) -> sympy.Expr:
    """Common factors out of each reduction body: (a·x[j] + b·x[j]) → (a + b)·x[j]."""
    return expr.xreplace({r: type(r)(sympy.factor_terms(r.args[0])) for r in expr.atoms(SampleReduction)})


def slot_views(m: ShapedLayout, f: Function, slots: Slots, scalars: str) -> list:
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


def acc_length(f: Function, slots: Slots) -> str:
    """The accumulator's length, as integer arithmetic in the sizes."""
    counts = [f.count_text(tuple(sizes[ix] for ix in axes)) for axes, sizes in zip(slots.axes, slots.sizes)]
    return " + ".join(counts)
