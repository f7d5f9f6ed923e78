"""Where a loss has kinks: the parameters inside an abs, max, min, relu, clip, where, hypot or sign
(where the derivation puts sign and Heaviside), for the runtime's choice of method (the generated
module's KINKS); the convention that a kink's derivative is 0 wherever it exists; and the
switches, whose signs choose a kink's branch, which the verifier must see both ways."""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import sympy

from .functions import PerSample, SampleReduction, clip, hypot, relu, where
from .simplify import size

KINKED = (sympy.Abs, sympy.Max, sympy.Min, sympy.sign, sympy.Heaviside, relu, clip, where, hypot)


def almost_everywhere(expr: sympy.Expr) -> sympy.Expr:
    """The derivative of a jump (sign, Heaviside) is 0 wherever it exists: sympy's DiracDelta → 0.

    This is the kink convention (sign′ = 0, H′ = 0) applied to what sympy.diff returns, so
    that the oracle, the Hessian and the least-squares Jacobian speak of the same function."""
    if not expr.has(sympy.DiracDelta):
        return expr
    return expr.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)


def kinked_parameters(loss: sympy.Expr, params) -> tuple[str, ...]:
    """The names of the parameters (symbols or IndexedBases, in their order) that occur inside
    a kinked function of the loss."""
    inside: set[str] = set()
    for node in loss.atoms(*KINKED):
        inside |= {symbol.name for symbol in node.free_symbols if isinstance(symbol, sympy.Symbol)}
        inside |= {element.base.label.name for element in node.atoms(sympy.Indexed)}
    names = [p.label.name if isinstance(p, sympy.IndexedBase) else p.name for p in params]
    return tuple(name for name in names if name in inside)


def _own_switches(node: sympy.Expr) -> tuple:
    """The switches of a kink node itself (none for any other node)."""
    args = node.args
    if isinstance(node, (sympy.Abs, sympy.sign, sympy.Heaviside, relu)):
        found = (args[0],)
    elif isinstance(node, (sympy.Max, sympy.Min)):
        found = tuple(u - v for u, v in combinations(args, 2))
    elif isinstance(node, clip):
        found = (args[0] - args[1], args[2] - args[0])
    elif isinstance(node, where):
        found = (args[1] - args[0],)
    else:
        return ()
    return tuple(s for s in found if not s.is_number)


@lru_cache(maxsize=4096)
def switches(expr: sympy.Expr, inside: bool = False) -> frozenset:
    """(s, inside) for each expression s whose sign picks a branch of a kink in expr: |u|, sign(u),
    H(u), relu(u) switch on u; max and min on the difference of each two arguments; clip(x, lo, hi)
    on x − lo and hi − x; where(u, v, …) on v − u. `inside` says s stands inside a mean or sum
    over the samples (its data then take a value at each sample). Two expressions that agree
    wherever every switch keeps one sign may differ where one turns: x·H(x − 50) and 0 agree
    for every x < 50."""
    if expr.is_Atom:
        return frozenset()
    inner = inside or isinstance(expr, SampleReduction)
    found = frozenset().union(*(switches(a, inner) for a in expr.args))
    return found | {(s, inside) for s in _own_switches(expr)}


@lru_cache(maxsize=4096)
def never(s: sympy.Expr, side: int) -> bool:
    """Whether sympy shows that s never takes the sign `side` (1 or −1) where its symbols are not
    0: b⁻² is never negative (b⁻² is not defined at b = 0; sympy says nothing of it otherwise)."""
    nonzero = s.xreplace({v: sympy.Dummy(v.name, nonzero=True, real=True) for v in s.free_symbols})
    return bool(nonzero.is_extended_nonnegative if side < 0 else nonzero.is_extended_nonpositive)


def kinks_freed(a: sympy.Expr, b: sympy.Expr, fixed) -> tuple[sympy.Expr, sympy.Expr] | None:
    """a and b with each kink that switches on one of `fixed` replaced by a symbol of its own
    (one of the data where the kink reads them), or None where there is none.

    For switches that kept one sign at every point the verifier looked at, which may never turn
    (sign(Y − hypot(max(b, Y), u)) is −1 wherever defined): a and b are equal if they are equal
    whatever values those kinks take."""
    fixed = set(fixed)
    nodes = {n for e in (a, b) for n in sympy.preorder_traversal(e) if set(_own_switches(n)) & fixed}
    if not nodes:
        return None
    free = {n: (PerSample if n.has(PerSample) else sympy.Symbol)(f"⟨kink {k}⟩", real=True)
            for k, n in enumerate(sorted(nodes, key=sympy.default_sort_key))}
    return a.xreplace(free), b.xreplace(free)


def on_the_kinks(a: sympy.Expr, b: sympy.Expr, limit: int = 400) -> list[tuple[sympy.Expr, sympy.Expr]]:
    """a and b on each kink: for a switch s = α·v + β linear in one of its symbols v, both with v
    replaced by −β/α, where s is then exactly 0 (sign(0) = 0, H(0) = 1/2 are evaluated there).

    Random points never land on a kink, yet a fit that starts at 0 (relu(m·x + b) at m = b = 0)
    reads the convention there. A parameter is replaced only by what holds no data (a datum may
    be replaced by anything: inside a mean, at each sample). No pairs for sides of more than
    `limit` nodes between them (a vector written out: rebuilt once a switch, it cost seconds); the
    steps of single rules, where a kink's convention is stated, are far below it."""
    found = []
    if size(a) + size(b) > limit:
        return found
    for s, _ in sorted(switches(a) | switches(b), key=sympy.default_sort_key):
        for v in sorted(s.free_symbols, key=sympy.default_sort_key):
            slope = sympy.diff(s, v)
            if slope == 0 or slope.has(v):
                continue
            at = -s.xreplace({v: sympy.S.Zero}) / slope
            pair = a.xreplace({v: at}), b.xreplace({v: at})
            if (isinstance(v, PerSample) or not at.has(PerSample)) and s.xreplace({v: at}) == 0 and \
                    not any(e.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) for e in pair):
                found.append(pair)
                break
    return found
