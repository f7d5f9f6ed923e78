"""The kernel functions of a model without vectors or matrices: straight-line code over scalars.

Each sum over the samples is one local `s_j`, all of them added in ONE loop; the common
subexpressions of what a loop computes are computed once per sample (sympy.cse). A pass
returns its sums as a tuple. The second-order kernels (second_order.py) use the same pieces.
"""

from __future__ import annotations

import re

import sympy

from gdc.calculus.simplify import per_sample
from .generator import Generator
from .module import FIXED_NAMES, JIT
from .plan import INV_N, Accumulation, Plan
from .printer import DATA_ARRAY, DATA_VALUE, PARAM, KernelPrinter

# Names only these kernels use (the second-order ones among them).
FIXED = FIXED_NAMES | {
    "j", "k", "s", "z", "a", "b", "e", "at_zero", "hess_out", "loss_grad_hess", "_jtj_sums",
    "_jtj_finish", "_hess_sums", "_hess_finish",
}
MANGLED = re.compile(r"(p|d|di)_[A-Za-z_][A-Za-z0-9_]*|(t|s|g)_[0-9]+")


class StraightFunction:
    """The lines of one generated function, with its own names for sympy symbols and temps."""

    def __init__(self, plan: Plan, signature: str, decorator: str = JIT):
        self.plan = plan
        self.lines = [decorator, f"def {signature}:"]
        self.names = {p: PARAM + p.name for p in plan.params}
        self.names.update({d: DATA_VALUE + d.name for d in plan.data})
        self.names[INV_N] = "inv_n"
        self.temps = 0

    def emit(self, line: str, depth: int = 1) -> None:
        self.lines.append("    " * depth + line)

    def text(self, e: sympy.Expr) -> str:
        return KernelPrinter(self.names).doprint(e)

    def read_params(self, exprs, depth: int = 1) -> None:
        used = set().union(*(e.free_symbols for e in exprs))
        for j, p in enumerate(self.plan.params):
            if p in used:
                self.emit(f"{PARAM}{p.name} = params[{j}]", depth)

    def read_data(self, exprs, depth: int) -> None:
        used = set().union(*(e.free_symbols for e in exprs))
        for d in self.plan.data:
            if d in used:
                self.emit(f"{DATA_VALUE}{d.name} = {DATA_ARRAY}{d.name}[i]", depth)

    def shared(self, exprs, depth: int) -> list[sympy.Expr]:
        """Emit the common subexpressions of `exprs` as temps; return what is left to print."""
        temps = sympy.numbered_symbols("t", cls=sympy.Dummy)
        replacements, reduced = sympy.cse(list(exprs), symbols=temps, order="canonical")
        for sym, value in replacements:
            self.names[sym] = f"t_{self.temps}"
            self.temps += 1
            self.emit(f"{self.names[sym]} = {self.text(value)}", depth)
        return reduced

    def check_sizes(self, arrays, outs: tuple[str, ...] = ()) -> None:
        """Refuse arrays of different lengths: the loops would read past the end of one."""
        self.emit(f"n = {arrays[0]}.shape[0]")
        for a in arrays[1:]:
            self.emit(f"if {a}.shape[0] != n:")
            self.emit('raise ValueError("the data arrays must all have the same length")', 2)
        for vector in ("params", *outs):
            self.emit(f"if {vector}.shape[0] != {len(self.plan.params)}:")
            self.emit(f'raise ValueError("{vector} must hold one value per name in PARAM_NAMES")', 2)

    def sample_loop(self, indexed: bool, *bounds: str) -> None:
        """`for i` over the samples in range(*bounds) (of `order`, when indexed; each index checked)."""
        if indexed:
            self.emit(f"for k in range({', '.join(bounds)}):")
            self.emit("i = order[k]", 2)
            self.emit("if i < 0 or i >= n:", 2)
            self.emit('raise IndexError("order holds an index outside the data")', 3)
        else:
            # An unsigned i: numba wraps a signed index that may be negative around (i + n), a
            # select per read that kept LLVM from loading whole vectors whenever the loop did not
            # start at a literal 0, the chunks of loss_grad_parallel (2x slower than one thread).
            # The sums come out the same, bit for bit; i is used only to index.
            self.emit(f"for i in range({', '.join(f'np.uint64({b})' for b in bounds)}):")

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"


def tuple_text(items) -> str:
    items = list(items)
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


class StraightGenerator(Generator):
    """The kernels of a model without axes; a pass returns its sums as a tuple."""

    fixed = FIXED
    mangled = MANGLED
    counter = "j"

    @property
    def n_params(self) -> str:
        return str(len(self.plan.params))

    def function(self, signature: str, decorator: str = JIT) -> StraightFunction:
        return StraightFunction(self.plan, signature, decorator)

    def arrays(self, inputs_only: bool = False) -> list[str]:
        return [DATA_ARRAY + d.name for d in (self.plan.inputs if inputs_only else self.plan.data)]

    def args(self) -> str:
        return ", ".join(self.arrays())

    def check(self, f: StraightFunction, outs: tuple[str, ...] = ()) -> None:
        f.check_sizes(self.arrays(), outs)

    # ---------------------------------------------------------------- passes and finishes

    def sums_function(self, acc: Accumulation, name: str, indexed: bool) -> str:
        f = self.function(f"{name}(params, {self.args()}, {'order, ' if indexed else ''}lo, hi)")
        f.read_params(acc.bodies)
        for s in acc.sums:
            f.emit(f"{s.name} = 0.0")
        if indexed:
            f.emit("n = " + DATA_ARRAY + self.plan.data[0].name + ".shape[0]")
        f.sample_loop(indexed, "lo", "hi")
        f.read_data(acc.bodies, 2)
        for s, body in zip(acc.sums, f.shared(acc.bodies, 2)):
            f.emit(f"{s.name} += {f.text(body)}", 2)
        f.emit(f"return {tuple_text(s.name for s in acc.sums)}")
        return f.source()

    def finish_function(self, acc: Accumulation, name: str, with_grad: bool) -> str:
        targets = [[f"grad_out[{j}]"] for j in range(len(self.plan.params))] if with_grad else []
        return self.finish_into(acc, name, ", grad_out" if with_grad else "", targets)

    def finish_into(self, acc: Accumulation, name: str, outs: str, targets: list[list[str]]) -> str:
        """Return acc.outer[0] from the sums; acc.outer[1 + j] is stored into each of targets[j]."""
        f = self.function(f"{name}(params, s, inv_n{outs})")
        f.names.update({s: s.name for s in acc.sums})
        f.read_params(acc.outer)
        used = set().union(*(e.free_symbols for e in acc.outer))
        for j, s in enumerate(acc.sums):
            if s in used:
                f.emit(f"{s.name} = s[{j}]")
        values = f.shared(acc.outer, 1)
        for value, places in zip(values[1:], targets):
            for place in places:
                f.emit(f"{place} = {f.text(value)}")
        f.emit(f"return {f.text(values[0])}")
        return f.source()

    # ---------------------------------------------------------------- per-sample kernels

    def sgd_epoch(self) -> str:
        p = self.plan
        f = self.function(f"sgd_epoch(params, {self.args()}, lr, order)")
        self.check(f)
        exprs = [per_sample(e, shown=False) for e in (p.loss, *p.gradient)]
        for j, q in enumerate(p.params):
            f.emit(f"{PARAM}{q.name} = params[{j}]")
        f.emit("total = 0.0")
        f.sample_loop(True, "order.shape[0]")
        f.read_data(exprs, 2)
        values = f.shared(exprs, 2)
        f.emit(f"total += {f.text(values[0])}", 2)
        for j, value in enumerate(values[1:]):
            f.emit(f"g_{j} = {f.text(value)}", 2)
        for j, q in enumerate(p.params):
            f.emit(f"{PARAM}{q.name} -= lr * g_{j}", 2)
        for j, q in enumerate(p.params):
            f.emit(f"params[{j}] = {PARAM}{q.name}")
        f.emit("return total / order.shape[0]")
        return f.source()

    def predict(self) -> str:
        p = self.plan
        f = self.function(f"predict(params{''.join(', ' + a for a in self.arrays(inputs_only=True))})")
        if p.inputs:
            f.check_sizes(self.arrays(inputs_only=True))
        else:
            f.emit("n = 1")
            f.emit(f"if params.shape[0] != {len(p.params)}:")
            f.emit('raise ValueError("params must hold one value per name in PARAM_NAMES")', 2)
        f.read_params([p.prediction])
        f.emit("out = np.empty(n)")
        f.emit("for i in range(n):")
        f.read_data([p.prediction], 2)
        (value,) = f.shared([p.prediction], 2)
        f.emit(f"out[i] = {f.text(value)}", 2)
        f.emit("return out")
        return f.source()

    # ---------------------------------------------------------------- sums as tuples

    def one_pass(self, f: StraightFunction, acc, kernel: str) -> str:
        return f"{kernel}(params, {self.args()}, 0, n)"

    def finish(self, kernel: str, sums: str, inv_n: str, outs: str) -> str:
        return f"{kernel}(params, {sums}, {inv_n}{outs})"

    def chunk_table(self, f: StraightFunction, acc: Accumulation) -> str:
        return f"np.empty((N_CHUNKS, {len(acc.sums)}))"

    def chunk_pass(self, f: StraightFunction, acc: Accumulation, bounds: str) -> None:
        f.emit(f"s = _sums(params, {self.args()}, {bounds})", 2)
        for j in range(len(acc.sums)):
            f.emit(f"chunks[c, {j}] = s[{j}]", 2)

    def chunk_zeros(self, f: StraightFunction, acc: Accumulation) -> str:
        for s in acc.sums:
            f.emit(f"{s.name} = 0.0")
        return tuple_text(s.name for s in acc.sums)

    def chunk_add(self, f: StraightFunction, acc: Accumulation) -> None:
        for j, s in enumerate(acc.sums):
            f.emit(f"{s.name} += chunks[c, {j}]", 2)

    def batch_scratch(self, f: StraightFunction, acc) -> None:
        pass  # each pass returns new sums

    def batch_pass(self, f: StraightFunction, acc) -> str:
        f.emit(f"s = _sums_at(params, {self.args()}, order, lo, hi)", 2)
        return "s"
