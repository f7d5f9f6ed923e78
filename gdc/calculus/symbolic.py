"""Checked model to sympy expressions: the one place where sympy objects are built from IR nodes.

Nothing here reads user text: every sympy object comes from a checked IR node, so no
`sympify`, `parse_expr` or `eval` is ever needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

import sympy

from gdc.language import ir
from gdc.language.check import CheckedModel
from gdc.language.limits import ratio_in_range
from gdc.errors import GdcError, InternalError
from .catalog import BY_NAME
from .functions import PerSample, SampleSum, mean, where
from .indexed import collapse_deltas, free_indices, index_symbol, shaped, size_symbol


# A call's sympy form: the catalog's functions, and the reductions over the samples.
_FUNCTIONS = {name: entry.make for name, entry in BY_NAME.items()} | {"mean": mean, "sum": SampleSum}
_CONSTANTS = {"pi": sympy.pi, "e": sympy.E}


@dataclass(frozen=True)
class Tensor:
    """A vector or matrix value in index form: `expr` is its element at `indices`."""

    expr: sympy.Expr
    indices: tuple[sympy.Symbol, ...]
    sizes: tuple[sympy.Expr, ...]

    def at(self, indices) -> sympy.Expr:
        """The element at other indices (fresh ones, or the indices of another operand)."""
        return self.expr.xreplace(dict(zip(self.indices, indices)))

    def map(self, f) -> "Tensor":
        return Tensor(f(self.expr), self.indices, self.sizes)


class Indices:
    """Fresh element indices k, l, m, … for the sums of one model, never a name the model uses."""

    NAMES = ("k", "l", "m", "n", "r", "s", "t", "u", "v", "o", "p", "a", "h")  # Unicode has their subscripts

    def __init__(self, taken: set[str]):
        self.taken = set(taken) | {"i", "j", "N"}
        self.count = 0

    def __call__(self) -> sympy.Symbol:
        while True:
            k, self.count = self.count, self.count + 1
            name = self.NAMES[k] if k < len(self.NAMES) else f"k_{k - len(self.NAMES) + 1}"
            if name not in self.taken:
                return index_symbol(name)


def symbol(name: str, per_sample: bool = False) -> sympy.Symbol:
    """The sympy symbol of a gd name (all gd values are real)."""
    return (PerSample if per_sample else sympy.Symbol)(name, real=True)


@dataclass(frozen=True)
class SymbolicModel:
    """The model as sympy: symbols, definitions in order, the prediction and the loss.

    `definitions` keeps each `let` and the model as its own symbol, so the derivation can
    show ∂J/∂r once and reuse it; `loss` and `prediction` are fully expanded.
    """

    checked: CheckedModel
    params: tuple[sympy.Symbol, ...]
    data: tuple[sympy.Symbol, ...]
    definitions: tuple[tuple[sympy.Symbol, sympy.Expr], ...]  # (name, body over earlier names)
    prediction_symbol: sympy.Symbol
    loss_compact: sympy.Expr  # over the definitions' symbols
    loss: sympy.Expr  # definitions substituted
    prediction: sympy.Expr  # definitions substituted
    # What each partial is taken with respect to: the parameter's symbol, or for a vector or
    # matrix its generic element w[j], W[j, k] (params then holds its IndexedBase).
    elements: tuple[sympy.Expr, ...] = ()
    # Every definition in source order for display, a vector `let` as its element h[j] (it is
    # written out where it is used, so it is not among `definitions`).
    shown_definitions: tuple[tuple[sympy.Expr, sympy.Expr], ...] = ()

    @property
    def shaped(self) -> bool:
        return self.checked.shaped

    def expand(self, expr: sympy.Expr) -> sympy.Expr:
        """Substitute every definition into an expression."""
        for name, body in reversed(self.definitions):
            expr = expr.subs(name, body)
        return expr

    def gradient(self) -> dict[sympy.Expr, sympy.Expr]:
        """∂J/∂θ for every parameter (element), straight from sympy.diff: the oracle for every derivation."""
        return {p: collapse_deltas(sympy.diff(self.loss, p)) for p in self.elements}


@singledispatch
def to_sympy(expr, env: dict) -> sympy.Expr:
    raise TypeError(f"not an expression node: {expr!r}")


@to_sympy.register
def _(expr: ir.Num, env: dict) -> sympy.Expr:
    return sympy.Rational(expr.value.numerator, expr.value.denominator)


@to_sympy.register
def _(expr: ir.Var, env: dict) -> sympy.Expr:
    return _CONSTANTS[expr.name] if expr.name in _CONSTANTS else env[expr.name]


@to_sympy.register
def _(expr: ir.Element, env: dict) -> sympy.Expr:
    value = env[expr.name]
    return value.at(tuple(sympy.Integer(k) for k in expr.indices))


@to_sympy.register
def _(expr: ir.Neg, env: dict):
    value = to_sympy(expr.operand, env)
    return value.map(lambda e: -e) if isinstance(value, Tensor) else -value


_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "/": lambda a, b: a / b, "^": lambda a, b: a ** b}


@to_sympy.register
def _(expr: ir.BinOp, env: dict):
    spine = []
    while isinstance(expr, ir.BinOp):   # a long sum nests to the left: build it in a loop
        spine.append(expr)
        expr = expr.left
    run = _Run(to_sympy(expr, env))
    for node in reversed(spine):
        run.add(node, to_sympy(node.right, env), env)
    return run.value()


class _Run:
    """A left-nested chain of operations, with each run of + and - (or * and /) among scalars
    built as one sympy Add (Mul): adding 10,000 terms one at a time would flatten the growing
    Add 10,000 times. sympy's result is the same either way."""

    _FAMILY = {"+": sympy.Add, "-": sympy.Add, "*": sympy.Mul, "/": sympy.Mul}

    def __init__(self, first):
        self.first = first
        self.items: list = []      # the pending run's terms (or factors), after `first`
        self.family = None         # sympy.Add or sympy.Mul while a run is pending
        self.node = None           # the run's last node, for its span

    def add(self, node: ir.BinOp, right, env: dict) -> None:
        family = self._FAMILY.get(node.op)
        scalars = not isinstance(right, Tensor) and not isinstance(self.first, Tensor)
        if family is not None and scalars:
            if family is not self.family:
                self.first, self.family = self.value(), family
            term = -right if node.op == "-" else _real(right ** -1, node) if node.op == "/" else right
            self.items.append(term)
            self.node = node
            return
        left = self.value()
        self.first = _matmul(left, right, env[_INDICES]) if node.op == "@" else \
            _elementwise(_BINARY[node.op], (left, right), node)

    def value(self):
        """The chain so far: the pending run added (or multiplied) up."""
        if self.items:
            self.first = _real(self.family(self.first, *self.items), self.node)
            self.items, self.family = [], None
        return self.first


@to_sympy.register
def _(expr: ir.Call, env: dict):
    args = [to_sympy(a, env) for a in expr.args if not isinstance(a, ir.Compare)]
    fresh = env[_INDICES]
    if expr.func == "dot":
        k = fresh()
        a, b = args
        return sympy.Sum(a.at((k,)) * b.at((k,)), (k, 0, a.sizes[0] - 1))
    if expr.func in ("sum", "mean") and isinstance(args[0], Tensor):
        return _element_reduction(args[0], fresh, expr.func == "mean")
    if expr.func == "where":
        return _where(expr, args, env)
    if expr.func in SOFTMAX:
        return SOFTMAX[expr.func](args[0], fresh)
    try:
        return _elementwise(_FUNCTIONS[expr.func], args, expr)
    except ValueError:  # sympy's Min/Max refuse arguments that are never real
        raise GdcError(f"`{expr.func}` compares values that are not real numbers", span=expr.span) from None


# where(u < v, a, b) as where(u, v, a, b, t), t its value on the boundary u = v (calculus/functions.where).
_WHERE = {"<": lambda u, v, a, b: where(u, v, a, b, b), "<=": lambda u, v, a, b: where(u, v, a, b, a),
          ">": lambda u, v, a, b: where(v, u, a, b, b), ">=": lambda u, v, a, b: where(v, u, a, b, a)}


def _where(expr: ir.Call, pieces, env: dict):
    condition = expr.args[0]
    sides = [to_sympy(condition.left, env), to_sympy(condition.right, env)]
    return _elementwise(_WHERE[condition.op], sides + list(pieces), expr)


# The env key of the model's fresh-index generator (not a gd name: it has brackets).
_INDICES = "<indices>"


def _elementwise(f, args, node):
    """f applied element by element; a scalar argument is the same for every element."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not tensors:
        return _real(f(*args), node)
    first = tensors[0]
    values = [a.at(first.indices) if isinstance(a, Tensor) else a for a in args]
    return Tensor(_real(f(*values), node), first.indices, first.sizes)


def _matmul(a: Tensor, b: Tensor, fresh) -> Tensor:
    """(A @ b)_r = Σ_k A_rk·b_k, and likewise for each column of a matrix b."""
    k = fresh()
    rows = (fresh(),)
    cols = tuple(fresh() for _ in b.indices[1:])
    body = a.at(rows + (k,)) * b.at((k,) + cols)
    return Tensor(sympy.Sum(body, (k, 0, a.sizes[1] - 1)), rows + cols, (a.sizes[0],) + b.sizes[1:])


# issue 14 (softmax): the functions of one vector, written out in index form, so that every
# rule, the verifier and sympy.diff see exp, log and Σ only. Their stable forms (the max shift)
# are calculus.stable's rewrites; the kernels compute them with it.
def _softmax(v: Tensor, fresh) -> Tensor:
    """softmax(v)_k = exp(v_k) / Σ_l exp(v_l)."""
    l = fresh()
    total = sympy.Sum(sympy.exp(v.at((l,))), (l, 0, v.sizes[0] - 1))
    return v.map(lambda e: sympy.exp(e) / total)


def _logsumexp(v: Tensor, fresh) -> sympy.Expr:
    """logsumexp(v) = log Σ_l exp(v_l)."""
    l = fresh()
    return sympy.log(sympy.Sum(sympy.exp(v.at((l,))), (l, 0, v.sizes[0] - 1)))


SOFTMAX = {"softmax": _softmax, "logsumexp": _logsumexp}


def _element_reduction(t: Tensor, fresh, average: bool) -> sympy.Expr:
    """Σ over every element (sum(w^2)); divided by their number for mean."""
    bound = tuple(fresh() for _ in t.indices)
    total = t.at(bound)
    for k, n in reversed(tuple(zip(bound, t.sizes))):
        total = sympy.Sum(total, (k, 0, n - 1))
    if average:
        total = total / sympy.Mul(*t.sizes)
    return total


def _real(value: sympy.Expr, node) -> sympy.Expr:
    """Gradient descent works on real numbers: a constant such as acos(3) or 1/0 is a user error."""
    if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise GdcError("this divides by zero (or is otherwise infinite)", span=node.span)
    if value.is_number and value.is_extended_real is False:
        raise GdcError(f"{value} is not a real number", span=node.span,
                       hint="check the arguments of sqrt, log, asin and acos")
    return value


def symbolic(model: CheckedModel) -> SymbolicModel:
    """Build the sympy form of a checked model."""
    try:
        return _symbolic(model)
    except GdcError as exc:
        raise exc.located(model.program.where, model.program.source) from None


def _symbolic(model: CheckedModel) -> SymbolicModel:
    taken = {v.name for v in model.params + model.data} | {s.name for s in model.definitions}
    taken |= {size for v in model.params + model.data for size in v.shape if isinstance(size, str)}
    elements, env = [], {}

    def declare(value, per_sample: bool):
        if not value.shape:
            sym = symbol(value.name, per_sample)
            env[value.name] = sym
            return sym
        sizes = tuple(sympy.Integer(n) if isinstance(n, int) else size_symbol(n) for n in value.shape)
        base = shaped(value.name, sizes, per_sample)
        indices = free_indices(base, taken)
        env[value.name] = Tensor(base[indices], indices, sizes)
        return base

    params = tuple(declare(p, False) for p in model.params)
    data = tuple(declare(d, True) for d in model.data)
    for p, value in zip(params, model.params):
        elements.append(env[value.name].expr if value.shape else p)
    # Sums run over k, l, …; j (and k, for a matrix) name the element a partial is taken for.
    free = {str(i) for e in elements if not e.is_Symbol for i in e.indices}
    env[_INDICES] = Indices(taken | free)
    definitions, shown = [], []
    for stmt in model.definitions:
        body = to_sympy(stmt.expr, env)
        if isinstance(body, Tensor):  # a vector `let` is written out where it is used
            env[stmt.name] = body
            per_sample = bool(body.expr.atoms(PerSample))
            shown.append((shaped(stmt.name, body.sizes, per_sample)[body.indices], body.expr))
            continue
        sym = symbol(stmt.name, per_sample=bool(body.atoms(PerSample)))
        definitions.append((sym, body))
        shown.append((sym, body))
        env[stmt.name] = sym
    loss_compact = to_sympy(model.loss.expr, env)
    if isinstance(loss_compact, Tensor):
        raise InternalError("the checker let a vector loss through")
    prediction = env[model.model.name]
    if isinstance(prediction, Tensor):  # a vector model (softmax): its element p[k] stands for it
        return _vector_model(model, params, data, definitions, loss_compact, prediction, elements, shown)
    sm = SymbolicModel(model, params, data, tuple(definitions), prediction,
                       loss_compact, sympy.S.Zero, sympy.S.Zero, tuple(elements))
    loss = sm.expand(loss_compact)
    if _out_of_range(loss) is not None:
        _range_error(sm, model)
    return SymbolicModel(model, params, data, tuple(definitions), sm.prediction_symbol,
                         loss_compact, loss, sm.expand(sm.prediction_symbol),
                         tuple(elements), tuple(shown))


def _vector_model(model, params, data, definitions, loss_compact, prediction: Tensor, elements, shown):
    """A model that gives a vector per sample: written out where the loss uses it (as a vector
    `let`), its element at the free index as `prediction`, `p[k]` as its symbol."""
    sm = SymbolicModel(model, params, data, tuple(definitions), sympy.S.Zero, loss_compact, sympy.S.Zero,
                       sympy.S.Zero, tuple(elements))
    loss = sm.expand(loss_compact)
    if _out_of_range(loss) is not None:
        _range_error(sm, model)
    name, _ = shown[-1]
    return SymbolicModel(model, params, data, tuple(definitions), name, loss_compact, loss,
                         sm.expand(prediction.expr), tuple(elements), tuple(shown))


# Exponents the kernels can print as integers (numba types them as int64).
_MAX_EXPONENT = 2 ** 63 - 1


def _out_of_range(expr: sympy.Expr) -> str | None:
    """A number in `expr` that float64 (or, as an exponent, int64) cannot hold, as text; else None.

    Substituting definitions can build such numbers from moderate ones: a `let` that squares
    the one before, 200 times, raises x to the power 2^200."""
    for power in expr.atoms(sympy.Pow):
        if power.exp.is_Integer and abs(int(power.exp)) > _MAX_EXPONENT:
            return f"the exponent {_short_number(power.exp)}"
    for number in expr.atoms(sympy.Rational):
        if not ratio_in_range(int(number.p), int(number.q)):
            return f"the number {_short_number(number)}"
    return None


def _short_number(number: sympy.Rational) -> str:
    text = str(number)
    return text if len(text) <= 24 else f"{text[:8]}… (of magnitude 10^{int(sympy.floor(sympy.log(abs(number), 10)))})"


def _range_error(sm: SymbolicModel, model: CheckedModel) -> None:
    """Raise at the first definition (or the loss) whose written-out form holds the number."""
    statements = {stmt.name: stmt for stmt in model.definitions}
    for sym, _ in sm.definitions:
        problem = _out_of_range(sm.expand(sym))
        if problem is not None:
            stmt = statements[sym.name]
            break
    else:
        stmt, problem = model.loss, _out_of_range(sm.loss_compact) or "a number"
    raise GdcError(f"written out, this holds {problem}, past what the kernels can compute in float64",
                   span=stmt.expr.span, hint="the `let` definitions it uses multiply their exponents; "
                   "rescale the model or use smaller powers")
