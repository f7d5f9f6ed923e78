"""Index-form sympy to loop nests: the lowering behind shaped.py's kernels.

A Function collects the lines of one generated function. Given targets (`place op value`, each
in a loop over its indices), it materializes every element sum into a scalar or a temp array
(the innermost first), hoists every part of a value that needs fewer indices than its loop into
a temp before the loop, computes each function call over indices (tanh(u[j])) once into a temp
array, and caches temps by their index-renamed form, so that equal work is done once per sample.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import sympy
from sympy import Indexed, IndexedBase, KroneckerDelta
from sympy.codegen.cfunctions import log1p

from .logsumexp import lse_loops
from .printer import HELPERS, KernelPrinter
from gdc.errors import InternalError
from gdc.calculus.functions import LogSumExp, sigmoid, softplus

# e**r = 1 + r·q(r), |r| <= ln 2 / 2: _exp's Taylor series, to q (the same lines as in _exp).
_EXP_SERIES = HELPERS[HELPERS.index("    p = 1.6059"):HELPERS.index("    p = p * r + 1.0\n") + 20]

# Module-level helpers of shaped modules, beside printer.HELPERS. math.tanh is a call
# to libm that stops a loop over a hidden layer vectorizing; this one is branch-free.
LOOP_HELPERS = '''
@numba.njit(**_JIT_EXACT)
def _tanh(x):
    # tanh|x| = -m / (2 + m), m = e**y - 1, y = -2|x|, with e**y = 2**k * e**r as in _exp and
    # m = 2**k * (e**r - 1) + (2**k - 1): no digits cancel for small |x|, and no branch
    y = -2.0 * abs(x)
    y = y if y > -100.0 else -100.0  # tanh 50 is 1.0; NaN is returned below
    kb = y * 1.4426950408889634 + 6755399441055744.0
    k = kb - 6755399441055744.0
    r = y - k * 0.6931471803691238
    r = r - k * 1.9082149292705877e-10
''' + _EXP_SERIES + '''    two_k = np.int64((np.float64(kb).view(np.int64) - 4843621399236968448 + 1023) << 52).view(np.float64)
    m = two_k * (p * r) + (two_k - 1.0)
    t = (0.0 - m) / (2.0 + m)
    t = t if x >= 0.0 else -t
    return t if x == x else x
'''
LOOP_HELPER_NAMES = frozenset(re.findall(r"^def (\w+)", LOOP_HELPERS, re.M))

# Placeholders for the indices of a temp's key: a temp is shared by every use that differs
# only in the names of its indices (the loss's Σ_m W[l,m]x[m] and the partials' Σ_m W[j,m]x[m]).
PLACES = tuple(sympy.Symbol(f"_place{n}", integer=True) for n in range(16))


def _agree(sizes: dict, index: sympy.Symbol, size: sympy.Expr) -> None:
    size = sympy.Integer(size) if isinstance(size, int) else size   # sizes are ints or sympy already
    if sizes.setdefault(index, size) != size:
        raise InternalError(f"codegen: index {index} runs over both {sizes[index]} and {size}")


def index_sizes(expr: sympy.Expr, sizes: dict | None = None) -> dict:
    """index symbol -> its size, from the bases it indexes and the limits of the sums over it."""
    sizes = {} if sizes is None else dict(sizes)
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, Indexed):
            if node.base.shape is None:
                raise InternalError(f"codegen: {node.base} has no shape")
            for pos, ix in enumerate(node.indices):
                if ix.is_Symbol:
                    _agree(sizes, ix, node.base.shape[pos])
                elif not ix.is_Integer:
                    raise InternalError(f"codegen: cannot index {node.base} by {ix}")
        elif isinstance(node, (sympy.Sum, LogSumExp)):
            for m, lo, hi in node.limits:
                if lo != 0:
                    raise InternalError(f"codegen: an element sum from {lo}, not 0")
                _agree(sizes, m, hi + 1)
    return sizes


def _trivial(e: sympy.Expr) -> bool:
    """A value read, not computed: never worth a temp of its own."""
    if e.is_Atom or isinstance(e, (Indexed, KroneckerDelta)):
        return True
    return e.is_Mul and len(e.args) == 2 and e.args[0].is_Number and _trivial(e.args[1])


def _expensive(e: sympy.Expr) -> bool:
    """A call worth computing once per index value and sharing: tanh, exp, sigmoid, a root."""
    if isinstance(e, sympy.Pow):
        return not e.exp.is_Integer
    return isinstance(e, sympy.Function) and not isinstance(e, KroneckerDelta)


def _inversions(expr: sympy.Expr, order: tuple) -> int:
    """How many index pairs of the element reads run against `order` (strided inner loops)."""
    rank = {ix: n for n, ix in enumerate(order)}
    count = 0
    for node in expr.atoms(Indexed):
        ranks = [rank[ix] for ix in node.indices if ix in rank]
        count += sum(1 for a, b in itertools.combinations(ranks, 2) if a > b)
    return count


def fresh_bounds(e: sympy.Expr) -> sympy.Expr:
    """Each element sum over its own index symbols: a bound k never meets a free k of another size."""
    def fresh(node):
        swap = {k: sympy.Dummy(k.name, integer=True, nonnegative=True) for k, _, _ in node.limits}
        return type(node)(node.function.xreplace(swap), *((swap[k], lo, hi) for k, lo, hi in node.limits))
    kinds = (sympy.Sum, LogSumExp)
    return e.replace(lambda n: isinstance(n, kinds), fresh) if e.has(*kinds) else e


def _unfold(e: sympy.Expr) -> sympy.Expr:
    """σ(z) and softplus(z) written out (as the helpers compute them), so that cse shares their
    one exp(−|z|) between σ(z), σ(−z), softplus(z) and softplus(−z) (logistic loss + gradient)."""
    def sig(z):
        t = sympy.exp(-sympy.Abs(z))
        return sympy.Piecewise((1 / (1 + t), z >= 0), (t / (1 + t), True))

    def soft(z):
        return sympy.Max(z, 0) + log1p(sympy.exp(-sympy.Abs(z)))
    return e.replace(lambda n: isinstance(n, (sigmoid, softplus)),
                     lambda n: (sig if isinstance(n, sigmoid) else soft)(n.args[0]))


class _Printer(KernelPrinter):
    """KernelPrinter plus element reads: `p_W[ix_j, ix_k]`, `d_x[i, ix_k]`."""

    printmethod = "_gdc_kernel"  # not `_sympystr`: Indexed would print itself

    def __init__(self, names, arrays):
        super().__init__(names)
        self.arrays = arrays

    def _index(self, ix) -> str:
        return str(int(ix)) if ix.is_Integer else self._print_Symbol(ix)

    def _print_Indexed(self, expr):
        try:
            name, prefix = self.arrays[expr.base]
        except KeyError:
            raise InternalError(f"codegen: no array for {expr.base}") from None
        return f"{name}[{prefix}{', '.join(self._index(ix) for ix in expr.indices)}]"

    def _print_tanh(self, expr):
        return f"_tanh({self._print(expr.args[0])})"

    def _print_KroneckerDelta(self, expr):
        a, b = (self._index(ix) for ix in expr.args)
        return f"(1.0 if {a} == {b} else 0.0)"


# ------------------------------------------------------------------ one generated function

class Function:
    """The lines of one generated function, its names, and the per-sample lowering into loops."""

    def __init__(self, m, signature: str, decorator: str = "@numba.njit(**_JIT)"):
        """m: the module's shared names: `names` (symbol -> text), `arrays` (base -> (text,
        prefix of its indices)) and `size_names` (size symbol -> text)."""
        self.m = m
        self.lines = [decorator, f"def {signature}:"]
        self.allocs: list[str] = []
        self.alloc_at = None
        self.names = dict(m.names)
        self.arrays = dict(m.arrays)
        self.cache: dict = {}
        self.count = itertools.count()
        self.depth = 1  # where temps are emitted: the top of the per-sample code
        self.pending: list = []  # scalars not emitted yet (see later)
        self.scalars: set = set()  # the per-sample scalar temps
        self.shared: dict = {}  # per-sample calls emitted (exp, log, …) by whole value, for a later loop

    # ---------------------------------------------------------------- text

    def emit(self, line: str, depth: int = 1) -> None:
        self.lines.append("    " * depth + line)

    def mark_allocs(self) -> None:
        """Scratch arrays found while lowering are allocated here, before any loop."""
        self.alloc_at = len(self.lines)

    def text(self, e: sympy.Expr) -> str:
        return _Printer(self.names, self.arrays).doprint(e)

    def size(self, s: sympy.Expr) -> str:
        if s.is_Integer:
            return str(int(s))
        if s in self.m.size_names:
            return self.m.size_names[s]
        raise InternalError(f"codegen: cannot print the size {s}")

    def shape_text(self, sizes) -> str:
        return "(" + ", ".join(self.size(s) for s in sizes) + ("," if len(sizes) == 1 else "") + ")"

    def count_text(self, sizes) -> str:
        return " * ".join(self.size(s) for s in sizes) if sizes else "1"

    def index(self, ix: sympy.Symbol) -> str:
        if ix not in self.names:
            taken = set(self.names.values())
            name = "ix_" + ix.name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ix.name) else "ix_0"
            while name in taken:
                name = f"ix_{next(self.count)}"
            self.names[ix] = name
        return self.names[ix]

    def loops(self, order, sizes, depth: int) -> int:
        if order:
            self.flush()
        for n, ix in enumerate(order):
            self.emit(f"for {self.index(ix)} in range({self.size(sizes[ix])}):", depth + n)
        return depth + len(order)

    def values(self, assigns, depth: int) -> list:
        """Emit `lhs op value` lines, their common subexpressions first as temps (returned)."""
        temps = sympy.numbered_symbols("t", cls=sympy.Dummy)
        replacements, reduced = sympy.cse([e for _, _, e in assigns], symbols=temps, order="canonical")
        for sym, value in replacements:
            self.names[sym] = f"t_{next(self.count)}"
            self.emit(f"{self.names[sym]} = {self.text(value)}", depth)
        for (lhs, op, _), value in zip(assigns, reduced):
            self.emit(f"{lhs} {op} {self.text(value)}", depth)
        return replacements

    def later(self, lhs: str, op: str, value: sympy.Expr, sym: sympy.Symbol | None = None) -> None:
        """A per-sample scalar, emitted with the others (one cse) before the next loop needs it."""
        self.pending.append((lhs, op, value, sym))

    def flush(self) -> None:
        """Emit the pending scalars, each with the pending ones it uses substituted, so that one
        cse over all of them is safe and shares what they have in common (one exp(−|z|))."""
        known, assigns = {}, []
        for lhs, op, value, sym in self.pending:
            value = value.xreplace(known)
            assigns.append((lhs, op, value))
            if sym is not None:
                known[sym] = value
        self.pending = []
        if assigns:
            whole = {}
            for sym, value in self.values(assigns, self.depth):
                whole[sym] = value.xreplace(whole)
                if _expensive(whole[sym]):
                    self.shared[whole[sym]] = sym

    def new_array(self, sizes: tuple, prefix: str = "u") -> IndexedBase:
        base = IndexedBase(sympy.Dummy(prefix), shape=sizes)
        name = f"{prefix}_{next(self.count)}"
        self.arrays[base] = (name, "")
        self.allocs.append(f"{name} = np.empty({self.shape_text(sizes)})")
        return base

    def new_scalar(self) -> sympy.Symbol:
        sym = sympy.Dummy("t")
        self.scalars.add(sym)
        self.names[sym] = f"t_{next(self.count)}"
        return sym

    def source(self) -> str:
        lines = list(self.lines)
        if self.alloc_at is not None:
            lines[self.alloc_at:self.alloc_at] = ["    " + a for a in self.allocs]
        elif self.allocs:
            raise InternalError("codegen: scratch arrays without a place to allocate them")
        return "\n".join(lines) + "\n"

    # ---------------------------------------------------------------- lowering

    def targets(self, targets, depth: int, defer: bool = False) -> list:
        """Emit every Target; those with the same loop share one loop nest and its common
        subexpressions. With defer, the scalar targets are returned as (place, op, value) instead,
        for a later loop over the samples that vectorizes (see _sums_function)."""
        self.depth = depth
        deferred = []
        groups: dict = {}
        for t in targets:
            groups.setdefault((t.loop, tuple(t.sizes[ix] for ix in t.loop)), []).append(t)
        # scalars first, to share one cse with the scalars the loops hoist; deferred ones last,
        # so that they find those hoisted scalars (∂J/∂b = the s of ∂J/∂w[j] = s·x[j]) cached
        for (loop, _), group in sorted(groups.items(), key=lambda g: bool(g[0][0]) != defer):
            lowered = [(t, self.lower(t.value, loop, t.sizes)) for t in group]
            if not loop:
                for t, v in lowered:
                    (deferred.append if defer else lambda a: self.later(*a))((t.place, t.op, v))
                continue
            inner = self.loops(loop, group[0].sizes, depth)
            names = [self.index(ix) for ix in loop]
            self.values([(t.place.format(*names), t.op, v) for t, v in lowered], inner)
        self.flush()
        return deferred

    def lower(self, e: sympy.Expr, loop: tuple, sizes: dict) -> sympy.Expr:
        """e as an expression over the loop's indices: element sums and hoistable parts are temps."""
        e = fresh_bounds(_unfold(e))
        sizes = index_sizes(e, sizes)
        return self.hoist(self.sums(e, sizes), frozenset(loop), sizes)

    def free(self, e: sympy.Expr, sizes: dict) -> frozenset:
        return frozenset(s for s in e.free_symbols if s in sizes)

    def sums(self, e: sympy.Expr, sizes: dict) -> sympy.Expr:
        """Every element sum (and log-sum-exp) replaced by a temp, the innermost first."""
        if not e.has(sympy.Sum, LogSumExp):
            return e
        if isinstance(e, LogSumExp):
            return self.lse_temp(self.sums(e.function, sizes), e.limits[0], sizes)
        if isinstance(e, sympy.Sum):  # sympy keeps Σ_l Σ_m as one Sum, its first limit innermost
            body = self.sums(e.function, sizes)
            for limit in e.limits:
                body = self.sum_temp(body, limit, sizes)
            return body
        return e.func(*(self.sums(a, sizes) for a in e.args))

    def key(self, kind: str, e: sympy.Expr, indices, sizes: dict, last=None):
        """(the loop order, the cache key): the order with the fewest strided reads, then `last`
        innermost, then the smallest renamed form (so equal temps get equal keys)."""
        best = None
        for order in itertools.permutations(sorted(indices, key=sympy.default_sort_key)):
            renamed = e.xreplace({ix: PLACES[n] for n, ix in enumerate(order)})
            rank = (_inversions(e, order), order[-1] != last if order else False,
                    sympy.default_sort_key(renamed))
            if best is None or rank < best[0]:
                best = (rank, order, (kind, renamed, tuple(sizes[ix] for ix in order)))
        return best[1], best[2]

    def sum_temp(self, body: sympy.Expr, limit, sizes: dict) -> sympy.Expr:
        """Σ_m body over its free indices G: a scalar (G empty) or a temp array T[G]."""
        m, _, hi = limit
        sizes = index_sizes(body, {**sizes, m: hi + 1})
        bound = frozenset({m})
        order, key = self.key("sum", body, self.free(body, sizes) | bound, sizes, last=m)
        axes = tuple(ix for ix in order if ix != m)
        if key in self.cache:
            return self.read(self.cache[key], axes)
        value = self.hoist(body, frozenset(order), sizes)
        depth = self.depth
        if order[-1] == m:  # a dot product: a scalar accumulator the loop can vectorize
            target = self.new_array(tuple(sizes[ix] for ix in axes)) if axes else self.new_scalar()
            inner = self.loops(axes, sizes, depth)
            acc = self.new_scalar() if axes else target
            self.emit(f"{self.names[acc]} = 0.0", inner)
            self.loops((m,), sizes, inner)
            self.values([(self.names[acc], "+=", value)], inner + 1)
            if axes:
                self.emit(f"{self.text(self.read(target, axes))} = {self.names[acc]}", inner)
        else:  # an axpy: the inner loop runs over a free index, T[..., k] += ...
            target = self.new_array(tuple(sizes[ix] for ix in axes))
            self.emit(f"{self.arrays[target][0]}.fill(0.0)", depth)
            inner = self.loops(order, sizes, depth)
            self.values([(self.text(self.read(target, axes)), "+=", value)], inner)
        self.cache[key] = target
        return self.read(target, axes)

    def lse_temp(self, body: sympy.Expr, limit, sizes: dict) -> sympy.Expr:
        """logsumexpₘ(body) as a per-sample scalar (issue 14: logsumexp.py writes its loops)."""
        m, _, hi = limit
        sizes = index_sizes(body, {**sizes, m: hi + 1})
        key = ("lse", body.xreplace({m: PLACES[0]}), sizes[m])
        if key not in self.cache:
            self.cache[key] = lse_loops(self, body, m, sizes)
        return self.cache[key]

    def read(self, target, axes) -> sympy.Expr:
        return target[tuple(axes)] if isinstance(target, IndexedBase) else target

    def hoist(self, e: sympy.Expr, loop: frozenset, sizes: dict) -> sympy.Expr:
        """e inside a loop over `loop`: parts that need fewer indices become temps before it."""
        if _trivial(e):
            return e
        ix = self.free(e, sizes)
        if isinstance(e, sympy.logic.boolalg.Boolean):  # a condition stays one: z >= 0, not a temp
            return self.descend(e, loop, sizes)
        if ix < loop or (ix and _expensive(e)):
            return self.temp(e, ix, sizes)
        return self.descend(e, loop, sizes)

    def descend(self, e: sympy.Expr, loop: frozenset, sizes: dict) -> sympy.Expr:
        if not isinstance(e, (sympy.Add, sympy.Mul)):
            return e.func(*(self.hoist(a, loop, sizes) for a in e.args)) if e.args else e
        groups: dict = {}  # the factors (terms) of e by the indices they use
        for a in e.args:
            groups.setdefault(self.free(a, sizes), []).append(a)
        args = []
        for ix, group in sorted(groups.items(), key=lambda g: sorted(map(str, g[0]))):
            part = e.func(*group)
            if len(group) > 1 and not _trivial(part) and (ix < loop or self.cached(part, ix, sizes)):
                args.append(self.temp(part, ix, sizes))
            else:
                args.extend(self.hoist(a, loop, sizes) for a in group)
        return e.func(*args)

    def cached(self, e, indices, sizes) -> bool:
        return self.key("temp", e, indices, sizes)[1] in self.cache

    def temp(self, e: sympy.Expr, indices: frozenset, sizes: dict) -> sympy.Expr:
        """e computed once per sample into a scalar or a temp array over its indices."""
        order, key = self.key("temp", e, indices, sizes)
        if key not in self.cache:
            value = self.descend(e, frozenset(order), sizes)
            if order:
                target = self.new_array(tuple(sizes[ix] for ix in order))
                inner = self.loops(order, sizes, self.depth)
                self.values([(self.text(target[order]), "=", value)], inner)
            else:
                target = self.new_scalar()
                self.later(self.names[target], "=", value, target)
            self.cache[key] = target
        return self.read(self.cache[key], order)


@dataclass(frozen=True)
class Target:
    """`place op value`, in a loop over `loop` (the place's axes) when there is one."""

    place: str  # a text with one `{}` per loop index
    op: str
    loop: tuple[sympy.Symbol, ...]
    sizes: dict
    value: sympy.Expr
