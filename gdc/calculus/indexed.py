"""The sympy vocabulary of shaped models: sizes, element indices, vectors and matrices.

A shaped value is written in index form. A vector parameter `w[d]` is a sympy IndexedBase
whose element is `w[k]`; a data vector `x[d]` likewise, its label a PerSample symbol, so
`x[k]` means the k-th element of sample i's row. Sizes are positive integer symbols (`d`,
bound from the data) or integers; element indices are integer symbols. A reduction over the
elements is a `sympy.Sum(body, (k, 0, d - 1))`, never symbolic.mean/SampleSum, which reduce over
the samples.
"""

from __future__ import annotations

import random

import sympy
from sympy import Indexed, IndexedBase, KroneckerDelta

from .functions import LogSumExp, PerSample

# The names of the free indices of ∂J/∂w[j] and ∂J/∂W[j, k], in order.
FREE_INDEX_NAMES = ("j", "k", "l")


def size_symbol(name: str) -> sympy.Symbol:
    """A size bound from the data, such as the `d` of `data x[d]`."""
    return sympy.Symbol(name, integer=True, positive=True)


def index_symbol(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, integer=True, nonnegative=True)


def shaped(name: str, sizes: tuple[sympy.Expr, ...], per_sample: bool = False) -> IndexedBase:
    """The IndexedBase of a shaped parameter or (per_sample) data vector."""
    label = (PerSample if per_sample else sympy.Symbol)(name, real=True)
    return IndexedBase(label, shape=sizes, real=True)


def free_indices(base: IndexedBase, taken: set[str] = frozenset()) -> tuple[sympy.Symbol, ...]:
    """j, k, … for the elements of `base`, avoiding names already taken by the model."""
    names = [n for n in FREE_INDEX_NAMES + tuple(f"j_{m}" for m in range(8)) if n not in taken]
    return tuple(index_symbol(n) for n in names[:len(base.shape)])


def element_name(var: sympy.Expr) -> str:
    """The gd name of a parameter, given its symbol or its generic element w[j]."""
    return var.base.label.name if isinstance(var, Indexed) else var.name


def element_sum(body: sympy.Expr, index: sympy.Symbol, size: sympy.Expr) -> sympy.Expr:
    """Σ_index body, index from 0 to size − 1."""
    return sympy.Sum(body, (index, 0, size - 1))


def collapse_deltas(expr: sympy.Expr) -> sympy.Expr:
    """Σ_k δ_jk f(k) = f(j): every Kronecker delta whose sum runs over one of its indices.

    The sums come from the model and run over a whole axis, so j is always in range and no
    case split is needed (sympy's own doit() adds a Piecewise for that).
    """
    previous = None
    while previous != expr:
        previous = expr
        expr = expr.replace(lambda n: isinstance(n, sympy.Sum) and n.has(KroneckerDelta), _collapse)
    return expr


def _collapse(node: sympy.Sum) -> sympy.Expr:
    terms = [node.function]
    for k, *_ in node.limits:
        terms = [part for term in terms for part in _delta_terms(term, k)]
    return sympy.Add(*(_collapse_term(term, list(node.limits)) for term in terms))


def _collapse_term(term: sympy.Expr, limits: list) -> sympy.Expr:
    """One product under Σ over `limits`: each δ on a summed index removes that sum."""
    progress = True
    while progress:
        progress = False
        for n, (k, lo, hi) in enumerate(limits):
            delta = next((f for f in sympy.Mul.make_args(term)
                          if isinstance(f, KroneckerDelta) and k in f.args), None)
            if delta is not None:
                other = delta.args[1] if delta.args[0] == k else delta.args[0]
                term = (term / delta).xreplace({k: other})
                limits.pop(n)
                progress = True
                break
    kept = [lim for lim in limits if term.has(lim[0])]
    for k, lo, hi in limits:
        if not term.has(k):   # a sum of a term without its index: that many copies
            term = term * (hi - lo + 1)
    return sympy.Sum(term, *kept) if kept else term


def _delta_terms(body: sympy.Expr, k: sympy.Symbol) -> list[sympy.Expr]:
    """The terms of body, each with its δ over k as a plain factor (expanded only where needed)."""
    terms = []
    for term in sympy.Add.make_args(body):
        factors = sympy.Mul.make_args(term)
        plain = any(isinstance(f, KroneckerDelta) and k in f.args for f in factors)
        if plain or not any(k in a.args for a in term.atoms(KroneckerDelta)):
            terms.append(term)
        else:
            terms.extend(sympy.Add.make_args(sympy.expand_mul(term)))
    return terms


def indexed_bases(expr: sympy.Expr) -> set[IndexedBase]:
    return {node.base for node in expr.atoms(Indexed)}


def depends_on(expr: sympy.Expr, var: sympy.Expr) -> bool:
    """Whether expr mentions var: a symbol, or any element of var's base when var is w[j]."""
    if isinstance(var, Indexed):
        return var.base in indexed_bases(expr)
    return var in expr.free_symbols


# ---------------------------------------------------------------- verification at fixed sizes

# Index form is checked numerically: at each of these choices, every size named by the data
# takes the value given, each free index (the j of ∂J/∂w[j]) a seeded value in its range, and
# every sum over elements is written out; then the expressions are compared as scalars.
CHECK_SIZES = (3, 2)
_CHECK_SEED = 20261126


def is_indexed(expr: sympy.Expr) -> bool:
    return expr.has(Indexed, sympy.Sum, KroneckerDelta, LogSumExp)


def instances(*exprs: sympy.Expr, one_hot: tuple[IndexedBase, ...] = ()) -> list[tuple[sympy.Expr, ...]]:
    """The expressions written out at a few sizes and free-index values, the same for all.

    A fixed size larger than the check size (x[1000]) is checked at a smaller one too: the
    index form is the same for every size that holds the elements the model names (w[7]); the
    sizes checked are made larger to hold them.
    Each data vector in `one_hot` (a row of class labels read as one-hot) has its last element
    written as 1 minus the others: the expressions are compared where its elements sum to 1.
    """
    sizes = sorted(set().union(*(_size_symbols(e) for e in exprs)), key=str)
    named = max((int(k) for e in exprs for node in e.atoms(Indexed, KroneckerDelta)
                 for k in (node.indices if isinstance(node, Indexed) else node.args) if k.is_Integer), default=-1)
    out = []
    for n, size in enumerate(CHECK_SIZES):
        # Every size checked holds the elements named: ∂/∂w[j] of b·w[3] is b·δ₃ⱼ, 0 at d ≤ 3.
        size += max(0, named + 1 - min(CHECK_SIZES))
        limit = size
        values = {s: sympy.Integer(size) for s in sizes}
        shrunk = [_shrink(e.xreplace(values), limit) for e in exprs]
        ranges = {}
        for e in shrunk:
            ranges.update(_free_index_ranges(e, limit))
        rng = random.Random(f"{_CHECK_SEED}:{n}")
        choice = {k: sympy.Integer(rng.randrange(min(int(r), limit))) for k, r in sorted(ranges.items(), key=str)}
        rows = _rows_summing_to_one(one_hot, values, limit)
        for chosen in [choice] + (_named_choices(shrunk, choice, ranges, limit) if n == 0 else []):
            out.append(tuple(written_out(e.xreplace(chosen)).xreplace(rows) for e in shrunk))
    return out


def _rows_summing_to_one(bases, values: dict, limit: int) -> dict:
    """{Y[K−1]: 1 − Y[0] − … − Y[K−2]} for each one-hot data vector Y, at the instance's size K."""
    rows = {}
    for base in bases:
        size = min(int(base.shape[0].xreplace(values)), limit)
        name = base.label.name
        element = [PerSample(f"{name}[{r}]", real=True) for r in range(size)]
        rows[element[-1]] = 1 - sympy.Add(*element[:-1])
    return rows


def _named_choices(exprs, choice: dict, ranges: dict, limit: int) -> list[dict]:
    """The random choice varied one free index at a time: to each number the expressions name
    on its axis (w[j] beside w[2], or δ_2j in ∂/∂w[j] of w[2]), where such a partial differs
    from the other elements, and to one number they do not name."""
    named: dict = {k: set() for k in choice}
    for e in exprs:
        for delta in e.atoms(KroneckerDelta):
            for k, c in (delta.args, delta.args[::-1]):
                if k in named and c.is_Integer:
                    named[k].add(int(c))
        axes = {}   # (base, axis) → the free indices on it
        for node in e.atoms(Indexed):
            for axis, k in enumerate(node.indices):
                if k in named:
                    axes.setdefault((node.base, axis), set()).add(k)
        for node in e.atoms(Indexed):
            for axis, c in enumerate(node.indices):
                for k in axes.get((node.base, axis), ()) if c.is_Integer else ():
                    named[k].add(int(c))
    found = []
    for k in sorted(named, key=str):
        if not named[k]:
            continue
        span = range(min(int(ranges[k]), limit))
        unnamed = [v for v in span if v not in named[k]]
        for v in sorted(named[k] & set(span)) + unnamed[:1]:
            chosen = {**choice, k: sympy.Integer(v)}
            if chosen != choice and chosen not in found:
                found.append(chosen)
    return found


def _shrink(expr: sympy.Expr, limit: int) -> sympy.Expr:
    """Every sum over more than `limit` elements cut to its first `limit`."""
    def cut(node):
        k, lo, hi = node.limits[0]
        if hi.is_Integer and int(hi) >= limit:
            return type(node)(node.function, (k, lo, limit - 1), *node.limits[1:])
        return node
    return expr.replace(lambda n: isinstance(n, (sympy.Sum, LogSumExp)), cut)


def _size_symbols(expr: sympy.Expr) -> set[sympy.Symbol]:
    found = set()
    for node in expr.atoms(Indexed):
        found |= {s for s in node.base.shape if s.is_Symbol}
    for node in expr.atoms(sympy.Sum, LogSumExp):
        found |= {s for lim in node.limits for s in lim[2].free_symbols}
    return found


def _free_index_ranges(expr: sympy.Expr, limit: int) -> dict[sympy.Symbol, sympy.Expr]:
    """Each free index and its range: the axis it indexes, or `limit` for one that only a δ
    mentions (δ_2j in ∂/∂w[j] of w[2]); left free, it would be no number at all."""
    free = expr.free_symbols
    found = {k: size for node in expr.atoms(Indexed)
             for k, size in zip(node.indices, node.base.shape) if k.is_Symbol and k in free}
    for delta in expr.atoms(KroneckerDelta):
        found.update({k: sympy.Integer(limit) for k in delta.free_symbols if k in free and k not in found})
    return found


def written_out(expr: sympy.Expr) -> sympy.Expr:
    """Sums over concrete ranges expanded; each element w[2] a scalar symbol `w[2]`."""
    def scalar(node):
        label = node.base.label
        name = f"{label.name}[{', '.join(str(i) for i in node.indices)}]"
        return (PerSample if isinstance(label, PerSample) else sympy.Symbol)(name, real=True)

    return _expand_sums(expr).replace(lambda n: isinstance(n, Indexed), scalar)


def _expand_sums(expr: sympy.Expr) -> sympy.Expr:
    """Outermost sum first, so an inner sum sees the outer index already replaced."""
    if isinstance(expr, LogSumExp):
        return _expand_sums(expr.written_out())
    if isinstance(expr, sympy.Sum):
        (k, lo, hi), rest = expr.limits[0], expr.limits[1:]
        body = sympy.Sum(expr.function, *rest) if rest else expr.function
        return sympy.Add(*(_expand_sums(body.xreplace({k: sympy.Integer(v)}))
                           for v in range(int(lo), int(hi) + 1)))
    if expr.is_Atom or not expr.has(sympy.Sum, LogSumExp):
        return expr
    return expr.func(*(_expand_sums(a) for a in expr.args))
