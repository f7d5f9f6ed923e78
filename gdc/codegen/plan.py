"""SymbolicModel to the kernels' plan: what they compute, as sympy, before any printing.

One builder for every model: a scalar model is the case whose partials have no free indices.
Every reduction `mean(body)`/`sum(body)` in the loss and its partials becomes an accumulator:
all bodies are summed in ONE pass over the samples, and the loss and the gradient are
assembled from the sums after it (`accumulate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import sympy

from gdc.calculus.derive import derive
from gdc.calculus.hessian import MAX_SECOND_ORDER, least_squares_form, printable, second_derivatives
from gdc.calculus.functions import SampleReduction
from gdc.calculus.stable import stabilize
from gdc.calculus.symbolic import SymbolicModel, mean
from gdc.calculus.verify import derivative

# 1/N in the expressions assembled from the sums; every kernel that uses it names it `inv_n`.
INV_N = sympy.Dummy("inv_n")

# Per parameter: the free indices of its element (none for a scalar) and ∂/∂θ[indices].
Partials = tuple[tuple[tuple[sympy.Symbol, ...], sympy.Expr], ...]


# ------------------------------------------------------------------ inputs of the generators

def gradient_exprs(sm: SymbolicModel) -> dict[sympy.Expr, sympy.Expr]:
    """∂J/∂θ for every parameter (element): the derivation's partials, every step checked."""
    return dict(derive(sm).partials)


def stable_form(expr: sympy.Expr) -> sympy.Expr:
    """The expression rewritten to stay finite where its naive form overflows (softplus forms)."""
    return stabilize(expr)[0]


# ------------------------------------------------------------------ accumulations

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
    atoms = sorted(set().union(*(e.atoms(SampleReduction) for e in exprs)), key=sympy.default_sort_key)
    bodies: list[sympy.Expr] = []
    sums: list[sympy.Symbol] = []
    swap = {}
    for atom in atoms:
        factor, body = _content(atom.args[0])
        if body not in bodies:
            bodies.append(body)
            sums.append(sympy.Dummy(f"s_{len(sums)}"))
        total = sums[bodies.index(body)]
        swap[atom] = factor * total * (INV_N if isinstance(atom, mean) else 1)
    if not bodies:  # every reduction cancelled: keep one, so the kernels keep their shape
        bodies.append(sympy.S.Zero)
        sums.append(sympy.Dummy("s_0"))
    return Accumulation(tuple(bodies), tuple(sums), tuple(e.xreplace(swap) for e in exprs))


def _content(body: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    """body = factor·rest with a rational factor, so mean(2u) and mean(u) share a sum."""
    if body.is_Add:
        return body.primitive()
    if body.is_Mul:
        return body.as_coeff_Mul()
    return sympy.S.One, body


# ------------------------------------------------------------------ the plan

@dataclass(frozen=True)
class Plan:
    """What the kernels compute, as sympy in index form (a scalar model has no indices)."""

    params: tuple[sympy.Symbol | sympy.IndexedBase, ...]  # in PARAM_NAMES order
    data: tuple[sympy.Symbol | sympy.IndexedBase, ...]  # PerSample symbols or per-sample bases
    inputs: tuple[sympy.Symbol | sympy.IndexedBase, ...]  # the data the prediction uses
    initial: tuple[float | None, ...]  # None: a vector or matrix declared without a value
    loss: sympy.Expr  # scalar, with mean/SampleSum over samples
    partials: Partials  # (free indices, ∂J/∂θ[indices]) per parameter
    prediction: sympy.Expr  # scalar per sample
    # Second order: the least-squares residual r, its scale c (loss = c·Σr², or c/N·Σr² when
    # lsq_mean) and ∂r/∂θ; ∂²J/∂θⱼ∂θₖ for j ≤ k (scalar models only).
    residual: sympy.Expr | None = None
    lsq_scale: float | None = None
    lsq_mean: bool = False
    residual_partials: Partials = ()
    hessian: tuple[sympy.Expr, ...] | None = None
    sizes: dict[str, tuple[str, int]] = field(default_factory=dict)  # size -> (data name, axis)
    # For labels: the model's name (`y`) and its formula as written (`y = m*x + b`).
    model_name: str = ""
    model_formula: str = ""
    # A vector model (softmax): the free index of `prediction` and its size; predict gives (N, K).
    prediction_index: tuple[sympy.Symbol, ...] = ()
    prediction_size: sympy.Expr | None = None
    labels: dict[str, str] = field(default_factory=dict)  # `data Y[K] from label`: Y -> "label"

    @property
    def gradient(self) -> tuple[sympy.Expr, ...]:
        """∂J/∂θ per parameter, without their indices."""
        return tuple(g for _, g in self.partials)

    @property
    def jacobian(self) -> tuple[sympy.Expr, ...]:
        """∂r/∂θ per parameter, without their indices."""
        return tuple(g for _, g in self.residual_partials)


def plan(sm: SymbolicModel) -> Plan:
    """The loss, its partials and the prediction, stabilized, in the kernels' parameter order."""
    grads = gradient_exprs(sm)
    partials = tuple((_free(e), stable_form(grads[e])) for e in sm.elements)
    prediction = stable_form(sm.prediction)
    inputs = tuple(d for d in sm.data if _uses(prediction, d))
    initial = tuple(None if p.init is None else float(p.init) for p in sm.checked.params)
    vector = {}
    if isinstance(sm.prediction_symbol, sympy.Indexed):
        vector = dict(prediction_index=tuple(sm.prediction_symbol.indices),
                      prediction_size=sm.prediction_symbol.base.shape[0])
    base = Plan(sm.params, sm.data, inputs, initial, stable_form(sm.loss), partials, prediction,
                sizes=_sizes(sm), model_name=sm.checked.model.name, model_formula=_formula(sm.checked),
                labels={d.name: d.labels for d in sm.checked.data if d.labels}, **vector)
    return replace(base, **_second_order(sm, grads))


def _formula(checked) -> str:
    """`y = m*x + b`: the model statement's expression as the user wrote it (its span in the
    source), comments dropped and white space collapsed to one line."""
    span, lines = checked.model.expr.span, checked.program.source.splitlines()
    piece = lines[span.line - 1:span.end_line]
    piece[-1] = piece[-1][:span.end_col - 1]
    piece[0] = piece[0][span.col - 1:]
    text = " ".join(line.split("#", 1)[0] for line in piece)
    return f"{checked.model.name} = {' '.join(text.split())}"


def _second_order(sm: SymbolicModel, grads: dict) -> dict:
    """The plan's second-order fields, where their kernels exist.

    A scalar model's kernels hold one sum per entry of JᵀJ and of the Hessian, p(p+1)/2 of
    them: none above MAX_SECOND_ORDER parameters. A shaped model's JᵀJ is a loop over its
    elements at run time; it has no Hessian kernel.
    """
    if not sm.shaped and len(sm.params) > MAX_SECOND_ORDER:
        return {}
    extra = {}
    form = least_squares_form(sm.loss, sm.params)
    if form is not None:
        jac = tuple((_free(e), stable_form(derivative(form.residual, e))) for e in sm.elements)
        if printable(g for _, g in jac):
            extra = dict(residual=stable_form(form.residual), lsq_scale=float(form.scale),
                         lsq_mean=form.is_mean, residual_partials=jac)
    if not sm.shaped:
        hessian = tuple(stable_form(h) for h in second_derivatives(sm, grads).values())
        if printable(hessian):
            extra["hessian"] = hessian
    return extra


def _sizes(sm: SymbolicModel) -> dict[str, tuple[str, int]]:
    """Each named size, from the first data array that has it: (its name, the axis)."""
    sizes = {}
    for value in sm.checked.data:
        for axis, size in enumerate(value.shape):
            if isinstance(size, str):
                sizes.setdefault(size, (value.name, axis))
    return sizes


def _free(element: sympy.Expr) -> tuple:
    return tuple(element.indices) if isinstance(element, sympy.Indexed) else ()


def _uses(expr: sympy.Expr, value) -> bool:
    if isinstance(value, sympy.IndexedBase):
        return any(node.base == value for node in expr.atoms(sympy.Indexed))
    return value in expr.free_symbols
