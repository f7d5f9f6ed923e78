"""A derivation laid out as blocks (headings, step lines, displayed equations) for every printer."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Union

import sympy

from gdc.calculus.derivation import ALPHA, ERROR, J, Derivation, Update
from gdc.calculus.rules import Step
from gdc.language.naming import How, Origin


@dataclass(frozen=True)
class Math:
    """Expressions joined by a relation: `a = b = c`; or, for "update", (θ, s) is `θ ← θ − s`."""

    chain: tuple[sympy.Expr, ...]
    relation: str = "="


Part = Union[str, Math]


@dataclass(frozen=True)
class Heading:
    level: int
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Paragraph:
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Line:
    """One step: its rule's name, what it shows, and whether it was checked."""

    depth: int
    label: tuple[Part, ...]
    body: tuple[Part, ...]
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class Display:
    """An equation set apart (the loss, a result, an update rule), with a remark after it."""

    math: Math
    remark: tuple[Part, ...] = ()


Block = Union[Heading, Paragraph, Line, Display]

_RULE_WORDS = {"parameter": "by the naming rule: lower-case names other than x and t",
               "data": "by the naming rule: x, t and capitalised names"}


def origin_words(kind: str, origin: Origin) -> str:
    """Why a name was taken as a parameter or as data, in words."""
    return {How.DECLARED: f"declared with {'param' if kind == 'parameter' else 'data'}",
            How.NOT_A_PARAMETER: "used but not declared with param",
            How.NOT_DATA: "used but not declared with data",
            How.NAMING_RULE: _RULE_WORDS[kind],
            How.NAMED: f"named in {origin.source}",
            How.NOT_NAMED: f"not named in {origin.source}"}[origin.how]


def _names(kind: str, items) -> tuple[Part, ...]:
    """Names grouped by why they were classified: `m, b (by the naming rule: …)`."""
    groups: dict[Origin, list[str]] = {}
    for item in items:
        shape = f"[{', '.join(str(n) for n in item.shape)}]" if item.shape else ""
        bounds = getattr(item, "bounds", None)   # parameters only; shown only where the model gives them
        groups.setdefault(item.origin, []).append(item.name + shape + (f" in {bounds.text()}" if bounds else ""))
    return tuple("; ".join(f"{', '.join(names)} ({origin_words(kind, origin)})"
                           for origin, names in groups.items()),)


ORDERS = ("tree", "textbook")


def outline(d: Derivation, order: str = "tree") -> tuple[Block, ...]:
    """The derivation as blocks, in reading order.

    `order="tree"` gives each result first with its justification indented beneath it (a proof
    tree); `"textbook"` goes the other way, as a textbook does: the smallest steps first, each
    from the expression to its result with its rule named, every result before it is used,
    and the inner names of the chain rule introduced before they appear."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; the orders are {', '.join(ORDERS)}")
    lines = _textbook if order == "textbook" else _lines
    model = d.model
    checked = model.checked
    blocks: list[Block] = [Heading(1, (f"Derivation of {checked.program.where}",))]
    blocks.append(Paragraph(("Parameters: ",) + _names("parameter", checked.params)))
    blocks.append(Paragraph(("Data: ",) + _names("data", checked.data)))
    if checked.shaped:
        blocks.append(Paragraph(("Indices: i numbers the samples; j, k, l, ... number the elements of a "
                                 "vector or matrix, from 0, and a sum over one of them runs over all "
                                 "its elements.",)))
    for sym, body in model.shown_definitions or model.definitions:
        what = ("the model" if sym == model.prediction_symbol else "a definition" if sym.is_Symbol
                else "a vector, written out where it is used")
        blocks.append(Paragraph(("Definition: ", Math((sym, body)), f" ({what})")))
    number = itertools.count(1)
    blocks.append(Heading(2, (f"{next(number)}. The loss",)))
    blocks.append(Display(Math((J, d.loss_step.before))))
    blocks += lines(d.loss_step.substeps, 0, J)
    if d.linearity_step is not None:
        step = d.linearity_step
        blocks.append(Heading(2, (f"{next(number)}. Linearity: the derivative moves inside the sum",)))
        blocks.append(Line(0, (step.title(),), _where(Math((step.quantity, step.after)), step), step.verified))
        blocks.append(Paragraph((step.note[:1].upper() + step.note[1:] + ".",)))
    for step in d.shared_steps:
        blocks.append(Heading(2, (f"{next(number)}. Shared by every parameter: ", Math((step.quantity,)))))
        blocks += lines((step,), 0, step.quantity)
    for step in d.partial_steps:
        blocks.append(Heading(2, (f"{next(number)}. ", Math((step.quantity,)))))
        blocks += lines(step.substeps, 0, step.quantity)
        blocks.append(Display(Math((step.quantity, step.after)), (f"   ({step.note})",)))
    blocks.append(Heading(2, (f"{next(number)}. Update rules, with learning rate ", Math((ALPHA,)))))
    blocks += _updates(d.updates, d.terms)
    if not d.verified:
        blocks.append(Paragraph(("Not every step is verified: the verifier could neither confirm nor refute "
                                 "those whose note says so.",)))
    return tuple(blocks)


def _where(math: Math, step: Step) -> tuple[Part, ...]:
    parts: list[Part] = [math]
    for k, (sym, value) in enumerate(step.where):
        parts += [", where " if k == 0 else ", ", Math((sym, value))]
    return tuple(parts)


def _chain(step: Step, lhs) -> Math:
    """What a step shows: the quantity, the expression, the rule written out, the result."""
    if step.is_rewrite:
        return Math((lhs, step.after) if lhs is not None else (step.after,))
    return Math(tuple(e for e in (step.quantity, step.before, step.middle, step.after) if e is not None))


def _inner(step: Step):
    return step.quantity if step.quantity is not None else step.before


def _lines(steps, depth: int, lhs) -> list[Block]:
    """Proof-tree order: each step as a line, its substeps indented below it."""
    blocks: list[Block] = []
    for step in steps:
        blocks.append(Line(depth, _title(step), _where(_chain(step, lhs), step), step.verified, step.note))
        blocks += _lines(step.substeps, depth + 1, _inner(step))
    return blocks


def _textbook(steps, depth: int, lhs) -> list[Block]:
    """Textbook order: the names a step introduces, then its substeps, then the step itself."""
    blocks: list[Block] = []
    for step in steps:
        blocks += [Line(0, ("let",), (Math((sym, value)),), False) for sym, value in step.where]
        blocks += _textbook(step.substeps, depth + 1, _inner(step))
        blocks.append(Line(0, _title(step), (_chain(step, lhs),), step.verified, step.note))
    return blocks


def _title(step: Step) -> tuple[Part, ...]:
    """A rule's name with its slots filled by expressions (typeset by each printer)."""
    if not step.rule_args:
        return (step.rule,)
    parts: list[Part] = []
    text = step.rule
    while text:
        start = text.find("{")
        if start < 0:
            parts.append(text)
            break
        end = text.index("}", start)
        if start:
            parts.append(text[:start])
        parts.append(Math((step.rule_args[int(text[start + 1:end])],)))
        text = text[end + 1:]
    return tuple(parts)


def _updates(updates: tuple[Update, ...], terms) -> list[Block]:
    blocks: list[Block] = [Paragraph(("Batch gradient descent: each step uses all N samples.",))]
    blocks += [Display(Math((u.param, ALPHA * u.gradient), "update")) for u in updates]
    blocks.append(Paragraph(("Stochastic gradient descent: each step uses one sample i, "
                             "the loss's mean or sum replaced by its term at i.",)))
    blocks += [Display(Math((u.param, ALPHA * u.sample_gradient), "update")) for u in updates]
    classic = [u for u in updates if u.classic is not None]
    if classic:
        blocks.append(Paragraph(("The classic form: name the residual Error and fold a constant factor "
                                 "into the learning rate.",)))
    for u in classic:
        remark: list[Part] = []
        if u.error is not None:
            remark += [" with ", Math((ERROR, u.error))]
        if u.factor != 1:
            remark += [" and" if remark else "", " the factor ", Math((u.factor,)), " folded into ",
                       Math((ALPHA,))]
        blocks.append(Display(Math((u.param, ALPHA * u.folded), "update"), tuple(p for p in remark if p)))
    return blocks
