"""Random model expressions for the property tests, each drawn twice: as gd text for gdc, and as
the tests' own sympy (oracles.py) for the oracle, so the oracle never goes through gdc's front end.

A tree is drawn with blank leaves; then every parameter is put at a leaf of its own, so each
model uses every parameter, and the other leaves are drawn from all the leaf names.
"""

from __future__ import annotations

import sympy
from hypothesis import strategies as st

LEAF = ("leaf",)

# The functions of issue 14 among them (each written from its definition in sympy's classes).
NEW_UNARY = ("log10", "log2", "erf", "sign", "relu")
# The language's functions, each as gd text and as the tests' sympy.
UNARY = {
    "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs, "sin": sympy.sin,
    "cos": sympy.cos, "tan": sympy.tan, "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
    "sigmoid": lambda z: 1 / (1 + sympy.exp(-z)), "softplus": lambda z: sympy.log(1 + sympy.exp(z)),
    "log10": lambda z: sympy.log(z) / sympy.log(10), "log2": lambda z: sympy.log(z) / sympy.log(2),
    "erf": sympy.erf, "sign": sympy.sign, "relu": lambda z: sympy.Max(z, 0),
}
BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}
KINKS = {"min": sympy.Min, "max": sympy.Max, "hypot": lambda a, b: sympy.sqrt(a**2 + b**2)}
# Composite shapes that stay defined wherever their arguments are: e₁/(1 + e₂²), √(1 + e²), log(1 + e²).
SHAPES = {
    "ratio": ("({0}) / (1 + ({1})^2)", lambda a, b: a / (1 + b**2)),
    "hypot": ("sqrt(1 + ({0})^2)", lambda a: sympy.sqrt(1 + a**2)),
    "log1sq": ("log(1 + ({0})^2)", lambda a: sympy.log(1 + a**2)),
    "clip": ("clip({0}, -1, {1})", lambda a, b: sympy.Min(sympy.Max(a, -1), b)),
    "where": ("where({0} < {1}, {2}, {3})", lambda a, b, c, d: sympy.Piecewise((c, a < b), (d, True))),
}


def trees(unary, binary, kinks=(), powers=(), shapes=(), max_leaves=6):
    """Expression trees over blank leaves, as nested tuples."""
    def grow(children):
        options = [st.tuples(st.just("binary"), st.sampled_from(sorted(binary)), children, children)]
        if unary:
            options.append(st.tuples(st.just("unary"), st.sampled_from(sorted(unary)), children))
        if kinks:
            options.append(st.tuples(st.just("kink"), st.sampled_from(sorted(kinks)), children, children))
        if powers:
            options.append(st.tuples(st.just("power"), children, st.sampled_from(list(powers))))
        for name in shapes:
            arity = SHAPES[name][0].count("{")
            options.append(st.tuples(st.just("shape"), st.just(name), *([children] * arity)))
        return st.one_of(*options)
    return st.recursive(st.just(LEAF), grow, max_leaves=max_leaves)


def _leaves(tree) -> int:
    if tree == LEAF:
        return 1
    return sum(_leaves(t) for t in tree if isinstance(t, tuple))


def _render(tree, leaves: list, symbols: dict):
    """(gd text, sympy) of a tree, its leaves filled in order from `leaves`."""
    if tree == LEAF:
        name = leaves.pop(0)
        return name, symbols[name]
    kind = tree[0]
    if kind == "binary":
        (a, sa), (b, sb) = _render(tree[2], leaves, symbols), _render(tree[3], leaves, symbols)
        return f"({a} {tree[1]} {b})", BINARY[tree[1]](sa, sb)
    if kind == "unary":
        a, sa = _render(tree[2], leaves, symbols)
        return f"{tree[1]}({a})", UNARY[tree[1]](sa)
    if kind == "kink":
        (a, sa), (b, sb) = _render(tree[2], leaves, symbols), _render(tree[3], leaves, symbols)
        return f"{tree[1]}({a}, {b})", KINKS[tree[1]](sa, sb)
    if kind == "power":
        a, sa = _render(tree[1], leaves, symbols)
        return f"({a})^{tree[2]}", sa ** symbols.get(tree[2], sympy.Integer(tree[2]) if tree[2].isdigit() else None)
    text, build = SHAPES[tree[1]]
    parts = [_render(t, leaves, symbols) for t in tree[2:]]
    return text.format(*(p[0] for p in parts)), build(*(p[1] for p in parts))


@st.composite
def expressions(draw, params: tuple[str, ...], others: tuple[str, ...], symbols: dict, tree_strategy):
    """(gd text, sympy) of a random expression in which every name of `params` appears."""
    tree = draw(tree_strategy)
    while _leaves(tree) < len(params):   # too few leaves for every parameter: add a term
        tree = ("binary", draw(st.sampled_from(["+", "*"])), tree, LEAF)
    count = _leaves(tree)
    places = draw(st.permutations(range(count)))[:len(params)]
    names = [draw(st.sampled_from(params + others)) for _ in range(count)]
    for place, param in zip(places, params):
        names[place] = param
    return _render(tree, names, symbols)
