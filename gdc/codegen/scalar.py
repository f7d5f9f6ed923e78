"""SymbolicModel to the Python source of one module of @numba.njit kernels (see kernels.py).

Every reduction `mean(body)`/`sum(body)` in the loss and its partials becomes an accumulator:
all bodies are summed in ONE loop over the samples, their common subexpressions computed
once (sympy.cse), and the loss and the gradient are assembled from the sums after the loop.
SGD evaluates the per-sample objective instead: each reduction replaced by its body.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import sympy

from gdc.version import __version__
from .printer import DATA_ARRAY, DATA_VALUE, HELPER_NAMES, HELPERS, PARAM, KernelPrinter
from gdc.calculus.derive import derive
from gdc.errors import InternalError
from gdc.calculus.kinks import kinked_parameters
from gdc.calculus.hessian import MAX_SECOND_ORDER, least_squares_form, printable, second_derivatives
from gdc.runtime.sealed import seal
from gdc.calculus.stable import stabilize
from gdc.calculus.symbolic import Sum, SymbolicModel, mean

# Chunks of the parallel kernel: fixed, so its sums do not depend on the number of threads.
N_CHUNKS = 64

# Keeps NaN and inf (divergence detection needs them) but lets LLVM vectorize the sums.
FASTMATH = "{'contract', 'reassoc'}"

_INV_N = sympy.Dummy("inv_n")
_REDUCTIONS = (mean, Sum)


# ------------------------------------------------------------------ inputs of the generator

def gradient_exprs(sm: SymbolicModel) -> dict[sympy.Expr, sympy.Expr]:
    """∂J/∂θ for every parameter (element): the derivation's partials, every step checked."""
    return dict(derive(sm).partials)


def stable_form(expr: sympy.Expr) -> sympy.Expr:
    """The expression rewritten to stay finite where its naive form overflows (softplus forms)."""
    return stabilize(expr)[0]


# ------------------------------------------------------------------ the plan

@dataclass(frozen=True)
class Accumulation:
    """Expressions over reductions, split into per-sample bodies and what is done with their sums.

    `bodies[j]` is summed over the samples into `sums[j]`; `outer` are the expressions with each
    `mean(b)` replaced by `c·sums[j]·inv_n` and each `sum(b)` by `c·sums[j]` (b = c·bodies[j]).
    """

    bodies: tuple[sympy.Expr, ...]
    sums: tuple[sympy.Symbol, ...]
    outer: tuple[sympy.Expr, ...]


def accumulate(exprs: list[sympy.Expr]) -> Accumulation:
    """Collect the distinct reduction bodies of `exprs`, numeric factors pulled out."""
    atoms = sorted(set().union(*(e.atoms(*_REDUCTIONS) for e in exprs)), key=sympy.default_sort_key)
    bodies: list[sympy.Expr] = []
    sums: list[sympy.Symbol] = []
    replace = {}
    for atom in atoms:
        factor, body = _content(atom.args[0])
        if body not in bodies:
            bodies.append(body)
            sums.append(sympy.Dummy(f"s_{len(sums)}"))
        total = sums[bodies.index(body)]
        replace[atom] = factor * total * (_INV_N if isinstance(atom, mean) else 1)
    if not bodies:  # every reduction cancelled: keep one, so the kernels keep their shape
        bodies.append(sympy.S.Zero)
        sums.append(sympy.Dummy("s_0"))
    return Accumulation(tuple(bodies), tuple(sums), tuple(e.xreplace(replace) for e in exprs))


def _content(body: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    """body = factor·rest with a rational factor, so mean(2u) and mean(u) share a sum."""
    if body.is_Add:
        return body.primitive()
    if body.is_Mul:
        return body.as_coeff_Mul()
    return sympy.S.One, body


def per_sample(expr: sympy.Expr) -> sympy.Expr:
    """The per-sample objective (DESIGN.md): each reduction replaced by its body at sample i."""
    return expr.xreplace({atom: atom.args[0] for atom in expr.atoms(*_REDUCTIONS)})


@dataclass(frozen=True)
class Plan:
    """What the kernels compute, as sympy, before any printing."""

    params: tuple[sympy.Symbol, ...]
    data: tuple[sympy.Symbol, ...]
    inputs: tuple[sympy.Symbol, ...]
    initial: tuple[float, ...]
    loss: sympy.Expr
    partials: tuple[sympy.Expr, ...]
    prediction: sympy.Expr
    # Second order (None when the model has more than MAX_SECOND_ORDER parameters, or when a
    # second derivative cannot be printed): the least-squares residual r, its scale c
    # (loss = c·Σr², or c/N·Σr² when lsq_mean), ∂r/∂θ; and ∂²J/∂θⱼ∂θₖ for j ≤ k.
    residual: sympy.Expr | None = None
    lsq_scale: float | None = None
    lsq_mean: bool = False
    residual_partials: tuple[sympy.Expr, ...] = ()
    hessian: tuple[sympy.Expr, ...] | None = None


def plan(sm: SymbolicModel) -> Plan:
    """The loss, its partials and the prediction, stabilized, in the kernels' parameter order."""
    grads = gradient_exprs(sm)
    partials = tuple(stable_form(grads[p]) for p in sm.params)
    prediction = stable_form(sm.prediction)
    inputs = tuple(d for d in sm.data if d in prediction.free_symbols)
    initial = tuple(float(p.init) for p in sm.checked.params)
    base = Plan(sm.params, sm.data, inputs, initial, stable_form(sm.loss), partials, prediction)
    if len(sm.params) > MAX_SECOND_ORDER:
        return base
    extra = {}
    form = least_squares_form(sm.loss)
    if form is not None:
        jac = tuple(stable_form(d) for d in form.jacobian(sm.params))
        if printable(jac):
            extra = dict(residual=stable_form(form.residual), lsq_scale=float(form.scale),
                         lsq_mean=form.is_mean, residual_partials=jac)
    hessian = tuple(stable_form(h) for h in second_derivatives(sm, grads).values())
    if printable(hessian):
        extra["hessian"] = hessian
    return Plan(*(getattr(base, f) for f in ("params", "data", "inputs", "initial", "loss",
                                             "partials", "prediction")), **extra)


def shaped_plan(sm: SymbolicModel):
    """The IndexPlan of a model with vectors or matrices: partials in index form, stabilized."""
    from .shaped import IndexPlan
    from gdc.calculus.verify import derivative
    grads = gradient_exprs(sm)
    partials = tuple((_free(e), stable_form(grads[e])) for e in sm.elements)
    prediction = stable_form(sm.prediction)
    inputs = tuple(d for d in sm.data if _uses(prediction, d))
    sizes = {}
    for d, value in zip(sm.data, sm.checked.data):
        for axis, size in enumerate(value.shape):
            if isinstance(size, str):
                sizes.setdefault(size, (value.name, axis))
    extra = {}
    form = least_squares_form(sm.loss)
    if form is not None:
        extra = dict(residual=stable_form(form.residual), lsq_scale=float(form.scale), lsq_mean=form.is_mean,
                     residual_partials=tuple((_free(e), stable_form(derivative(form.residual, e)))
                                             for e in sm.elements))
    return IndexPlan(sm.params, sm.data, inputs, tuple(p.init for p in sm.checked.params),
                     stable_form(sm.loss), partials, prediction, sizes=sizes, **extra)


def _free(element: sympy.Expr) -> tuple:
    return tuple(element.indices) if isinstance(element, sympy.Indexed) else ()


def _uses(expr: sympy.Expr, value) -> bool:
    if isinstance(value, sympy.IndexedBase):
        return any(node.base == value for node in expr.atoms(sympy.Indexed))
    return value in expr.free_symbols


# ------------------------------------------------------------------ emitting functions

# Names the generator itself uses; user names are always `p_`/`d_`/`di_` + a checked name.
_FIXED = frozenset({
    "math", "numba", "np", "_JIT", "_JIT_PARALLEL", "_JIT_EXACT", "N_CHUNKS", "GDC_VERSION", "MODEL_HASH",
    "PARAM_NAMES", "DATA_NAMES", "INPUT_NAMES", "INITIAL", "params", "grad_out", "lr", "order",
    "batch_size", "n", "m", "i", "j", "k", "c", "lo", "hi", "s", "z", "a", "b", "e", "at_zero",
    "inv_n", "chunks", "total", "grad", "out", "abs", "range", "min", "max", "dict", "ValueError",
    "IndexError", "loss", "loss_grad", "loss_grad_parallel", "sgd_epoch", "minibatch_epoch",
    "predict", "_loss_sums", "_loss_finish", "_sums", "_sums_at", "_finish",
    "jtj_out", "jtr_out", "hess_out", "jtj_jtr", "loss_grad_hess", "_jtj_sums", "_jtj_finish",
    "_hess_sums", "_hess_finish", "LSQ_SCALE", "LSQ_MEAN", "r_out", "jac_out", "residuals_jacobian",
    "KINKS",
}) | HELPER_NAMES
_MANGLED = re.compile(r"(p|d|di)_[A-Za-z_][A-Za-z0-9_]*|(t|s|g)_[0-9]+")


class _Function:
    """The lines of one generated function, with its own names for sympy symbols and temps."""

    def __init__(self, plan_: Plan, signature: str, decorator: str = "@numba.njit(**_JIT)"):
        self.plan = plan_
        self.lines = [decorator, f"def {signature}:"]
        self.names = {p: PARAM + p.name for p in plan_.params}
        self.names.update({d: DATA_VALUE + d.name for d in plan_.data})
        self.names[_INV_N] = "inv_n"
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

    def name_sums(self, acc: Accumulation) -> None:
        self.names.update({s: s.name for s in acc.sums})

    def shared(self, exprs, depth: int) -> list[sympy.Expr]:
        """Emit the common subexpressions of `exprs` as temps; return what is left to print."""
        temps = sympy.numbered_symbols("t", cls=sympy.Dummy)
        replacements, reduced = sympy.cse(list(exprs), symbols=temps, order="canonical")
        for sym, value in replacements:
            self.names[sym] = f"t_{self.temps}"
            self.temps += 1
            self.emit(f"{self.names[sym]} = {self.text(value)}", depth)
        return reduced

    def check_sizes(self, arrays, grad_out: bool = False) -> None:
        """Refuse arrays of different lengths: the loops would read past the end of one."""
        self.emit(f"n = {arrays[0]}.shape[0]")
        for a in arrays[1:]:
            self.emit(f"if {a}.shape[0] != n:")
            self.emit('raise ValueError("the data arrays must all have the same length")', 2)
        for vector in ("params", "grad_out") if grad_out else ("params",):
            self.emit(f"if {vector}.shape[0] != {len(self.plan.params)}:")
            self.emit(f'raise ValueError("{vector} must hold one value per name in PARAM_NAMES")', 2)

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"


def _arrays(p: Plan, inputs_only: bool = False) -> list[str]:
    return [DATA_ARRAY + d.name for d in (p.inputs if inputs_only else p.data)]


def _tuple(items) -> str:
    items = list(items)
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _data_args(p: Plan) -> str:
    return ", ".join(_arrays(p))


def _sums_function(p: Plan, acc: Accumulation, name: str, indexed: bool) -> str:
    """Sum every body over samples lo..hi-1 (of `order`, when indexed) in one loop."""
    args = _data_args(p)
    f = _Function(p, f"{name}(params, {args}, {'order, ' if indexed else ''}lo, hi)")
    f.read_params(acc.bodies)
    for s in acc.sums:
        f.emit(f"{s.name} = 0.0")
    if indexed:
        f.emit("n = " + DATA_ARRAY + p.data[0].name + ".shape[0]")
        f.emit("for k in range(lo, hi):")
        f.emit("i = order[k]", 2)
        f.emit("if i < 0 or i >= n:", 2)
        f.emit('raise IndexError("order holds an index outside the data")', 3)
    else:
        f.emit("for i in range(lo, hi):")
    f.read_data(acc.bodies, 2)
    for s, body in zip(acc.sums, f.shared(acc.bodies, 2)):
        f.emit(f"{s.name} += {f.text(body)}", 2)
    f.emit(f"return {_tuple(s.name for s in acc.sums)}")
    return f.source()


def _finish_function(p: Plan, acc: Accumulation, name: str, with_grad: bool) -> str:
    """The loss (and the gradient, into grad_out) from the sums and 1/N."""
    targets = [[f"grad_out[{j}]"] for j in range(len(p.params))] if with_grad else []
    return _finish_into(p, acc, name, ", grad_out" if with_grad else "", targets)


def _finish_into(p: Plan, acc: Accumulation, name: str, outs: str, targets: list[list[str]]) -> str:
    """Return acc.outer[0] from the sums; acc.outer[1 + j] is stored into each of targets[j]."""
    f = _Function(p, f"{name}(params, s, inv_n{outs})")
    f.name_sums(acc)
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


def _loss(p: Plan) -> str:
    f = _Function(p, f"loss(params, {_data_args(p)})")
    f.check_sizes(_arrays(p))
    f.emit(f"return _loss_finish(params, _loss_sums(params, {_data_args(p)}, 0, n), 1.0 / n)")
    return f.source()


def _loss_grad(p: Plan) -> str:
    f = _Function(p, f"loss_grad(params, {_data_args(p)}, grad_out)")
    f.check_sizes(_arrays(p), grad_out=True)
    f.emit(f"return _finish(params, _sums(params, {_data_args(p)}, 0, n), 1.0 / n, grad_out)")
    return f.source()


def _loss_grad_parallel(p: Plan, acc: Accumulation) -> str:
    """Fixed chunks, one partial sum each, added in chunk order: the same bits on any thread count."""
    f = _Function(p, f"loss_grad_parallel(params, {_data_args(p)}, grad_out)",
                  "@numba.njit(**_JIT_PARALLEL)")
    f.check_sizes(_arrays(p), grad_out=True)
    f.emit(f"chunks = np.empty((N_CHUNKS, {len(acc.sums)}))")
    f.emit("for c in numba.prange(N_CHUNKS):")
    f.emit(f"s = _sums(params, {_data_args(p)}, c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS)", 2)
    for j in range(len(acc.sums)):
        f.emit(f"chunks[c, {j}] = s[{j}]", 2)
    for s in acc.sums:
        f.emit(f"{s.name} = 0.0")
    f.emit("for c in range(N_CHUNKS):")
    for j, s in enumerate(acc.sums):
        f.emit(f"{s.name} += chunks[c, {j}]", 2)
    f.emit(f"return _finish(params, {_tuple(s.name for s in acc.sums)}, 1.0 / n, grad_out)")
    return f.source()


def _sgd_epoch(p: Plan) -> str:
    """One update per sample, in `order`, on the per-sample objective."""
    f = _Function(p, f"sgd_epoch(params, {_data_args(p)}, lr, order)")
    f.check_sizes(_arrays(p))
    exprs = [per_sample(p.loss)] + [per_sample(g) for g in p.partials]
    for j, q in enumerate(p.params):
        f.emit(f"{PARAM}{q.name} = params[{j}]")
    f.emit("total = 0.0")
    f.emit("for k in range(order.shape[0]):")
    f.emit("i = order[k]", 2)
    f.emit("if i < 0 or i >= n:", 2)
    f.emit('raise IndexError("order holds an index outside the data")', 3)
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


def _minibatch_epoch(p: Plan) -> str:
    """One update per batch of `batch_size` samples of `order` (the last may be smaller)."""
    f = _Function(p, f"minibatch_epoch(params, {_data_args(p)}, lr, batch_size, order)")
    f.check_sizes(_arrays(p))
    f.emit("if batch_size < 1:")
    f.emit('raise ValueError("batch_size must be at least 1")', 2)
    f.emit("m = order.shape[0]")
    f.emit(f"grad = np.empty({len(p.params)})")
    f.emit("total = 0.0")
    f.emit("for lo in range(0, m, batch_size):")
    f.emit("hi = min(lo + batch_size, m)", 2)
    f.emit(f"s = _sums_at(params, {_data_args(p)}, order, lo, hi)", 2)
    f.emit("total += _finish(params, s, 1.0 / (hi - lo), grad) * (hi - lo)", 2)
    f.emit(f"for j in range({len(p.params)}):", 2)
    f.emit("params[j] -= lr * grad[j]", 3)
    f.emit("return total / m")
    return f.source()


def _predict(p: Plan) -> str:
    """The model's value per sample; a model without inputs gives one value."""
    f = _Function(p, f"predict(params{''.join(', ' + DATA_ARRAY + d.name for d in p.inputs)})")
    if p.inputs:
        f.check_sizes(_arrays(p, inputs_only=True))
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


# ------------------------------------------------------------------ the module

def generate(sm: SymbolicModel, model_hash: str) -> str:
    """The complete, sealed module text for one model (deterministic for a given model)."""
    if sm.shaped:   # vectors and matrices: loops over elements (codegen_index.py)
        from .shaped import module_body
        body = module_body(shaped_plan(sm), _preamble_comment(sm), model_hash)
        return seal(body, model_hash)
    from .second_order import second_order_parts   # it builds on this module's emitters
    p = plan(sm)
    loss_acc = accumulate([p.loss])
    grad_acc = accumulate([p.loss, *p.partials])
    parts = [
        _preamble(sm, p, model_hash),
        HELPERS.lstrip("\n"),
        _sums_function(p, loss_acc, "_loss_sums", indexed=False),
        _finish_function(p, loss_acc, "_loss_finish", with_grad=False),
        _sums_function(p, grad_acc, "_sums", indexed=False),
        _sums_function(p, grad_acc, "_sums_at", indexed=True),
        _finish_function(p, grad_acc, "_finish", with_grad=True),
        _loss(p),
        _loss_grad(p),
        _loss_grad_parallel(p, grad_acc),
        _sgd_epoch(p),
        _minibatch_epoch(p),
        _predict(p),
        *second_order_parts(p),
    ]
    body = "\n\n".join(part.rstrip("\n") + "\n" for part in parts)
    check_module(body)
    return seal(body, model_hash)


def _preamble_comment(sm: SymbolicModel) -> str:
    """The model's text as comment lines, opening the module."""
    model = "\n".join("# " + _printable(line) for line in sm.checked.program.source.splitlines())
    return f"#\n# model ({_printable(sm.checked.program.where)}):\n{model}\n"


def _preamble(sm: SymbolicModel, p: Plan, model_hash: str) -> str:
    return _preamble_comment(sm) + f'''"""Kernels of one gd model, generated by gdc. They need numpy and numba only.

Calling convention: `params` is a 1-D float64 array in the order of PARAM_NAMES; each data
array is one positional argument, in the order of DATA_NAMES (predict: INPUT_NAMES).
"""

import math

import numba
import numpy as np

GDC_VERSION = {__version__!r}
MODEL_HASH = {model_hash!r}
PARAM_NAMES = {tuple(q.name for q in p.params)!r}
DATA_NAMES = {tuple(d.name for d in p.data)!r}
INPUT_NAMES = {tuple(d.name for d in p.inputs)!r}
INITIAL = {p.initial!r}
''' + module_options(p.lsq_scale, p.lsq_mean, kinked_parameters(sm.loss, sm.params))


def module_options(lsq_scale, lsq_mean: bool, kinks: tuple[str, ...] = ()) -> str:
    """The last constants of every generated module: chunks, least-squares form, kinks, jit options."""
    return f'''N_CHUNKS = {N_CHUNKS}
LSQ_SCALE = {lsq_scale!r}  # loss = LSQ_SCALE·Σr² (÷N when LSQ_MEAN); None: not least squares
LSQ_MEAN = {lsq_mean!r}
KINKS = {kinks!r}  # the parameters inside an abs, max or min of the loss

_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath={FASTMATH})
_JIT_PARALLEL = dict(_JIT, parallel=True)
_JIT_EXACT = dict(_JIT, fastmath={{'contract'}})
'''


def _printable(line: str) -> str:
    """A line that cannot end a Python comment early: control characters are escaped."""
    return "".join(ch if ch.isprintable() or ch == "\t" else ascii(ch)[1:-1] for ch in line)


def _walk_generated(tree: ast.AST, helpers: frozenset = HELPER_NAMES):
    """Every node outside the fixed helper functions (whose text never changes)."""
    for node in ast.iter_child_nodes(tree):
        yield node
        if not (isinstance(node, ast.FunctionDef) and node.name in helpers):
            yield from _walk_generated(node, helpers)


def check_module(body: str, fixed: frozenset = _FIXED, mangled: re.Pattern = _MANGLED,
                 attributes: frozenset = frozenset({"shape"}), helpers: frozenset = HELPER_NAMES) -> None:
    """The module parses, and every name in it is gdc's own (`fixed`, the helpers) or a
    mangled user name; attributes only of math, numba and np, or those in `attributes`."""
    try:
        tree = ast.parse(body)
    except SyntaxError as exc:
        raise InternalError(f"codegen produced invalid Python: {exc}") from None
    for node in _walk_generated(tree, helpers):
        name = (node.id if isinstance(node, ast.Name) else node.arg if isinstance(node, ast.arg)
                else node.name if isinstance(node, ast.FunctionDef) else None)
        if name is not None and name not in fixed and not mangled.fullmatch(name):
            raise InternalError(f"codegen produced the unexpected name {name!r}")
        if isinstance(node, ast.Attribute) and not (
                isinstance(node.value, ast.Name) and node.value.id in ("math", "numba", "np")
                or node.attr in attributes):
            raise InternalError(f"codegen produced an unexpected attribute {node.attr!r}")
