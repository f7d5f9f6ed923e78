"""The model IR: immutable nodes, each carrying the source span it came from.

Spans are excluded from equality, so two programs that say the same thing compare equal
even when laid out differently (the printer round-trip test relies on this).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Union

from gdc.errors import Span

NO_SPAN = Span(0, 0, 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


# ---------------------------------------------------------------- expressions

@dataclass(frozen=True, slots=True)
class Num:
    """A numeric literal, kept exact: `0.1` is the fraction 1/10, `2` the integer 2."""

    value: Fraction
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Var:
    """A use of a name: a parameter, a data column, a constant, or a definition."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Neg:
    """Unary minus."""

    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class BinOp:
    """A binary operation; `op` is one of + - * / ^ @ (@: matrix times vector or matrix)."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Call:
    """A function application, including the reductions `mean` and `sum`."""

    func: str
    args: tuple["Expr", ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class Compare:
    """`x < 0`: a comparison, one of < <= > >=; only the condition of `where` may be one."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Element:
    """`w[2]` or `W[0, 3]`: one element of a vector or matrix, by fixed positions from 0."""

    name: str
    indices: tuple[int, ...]
    span: Span = _span()
    name_span: Span = _span()


Expr = Union[Num, Var, Neg, BinOp, Call, Element, Compare]

# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Dim:
    """One dimension of a shape: a fixed size or a name bound from the data."""

    size: int | str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Bounds:
    """`in (0, inf)` after a parameter: its lower and upper ends, each open `(` `)` or closed `[` `]`;
    an end may be `inf` or `-inf`."""

    lower: Expr
    upper: Expr
    lower_open: bool
    upper_open: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ParamItem:
    """`m = 0` inside a `param` declaration; `init` is None when no value is given, `bounds`
    when no interval is."""

    name: str
    shape: tuple[Dim, ...]
    init: Expr | None
    span: Span = _span()
    name_span: Span = _span()
    bounds: Bounds | None = None


@dataclass(frozen=True, slots=True)
class ParamDecl:
    items: tuple[ParamItem, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DataItem:
    """`x` inside a `data` declaration; `labels` names the column of class labels 0..K−1 that
    `data Y[K] from labels` reads as one-hot rows (`bounds` only to say that data take none)."""

    name: str
    shape: tuple[Dim, ...]
    span: Span = _span()
    name_span: Span = _span()
    bounds: Bounds | None = None
    labels: str | None = None


@dataclass(frozen=True, slots=True)
class DataDecl:
    items: tuple[DataItem, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SizeDef:
    """`size h = 32`: a size by name, for shapes the data do not set (a network's width)."""

    name: str
    value: int
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class Let:
    """`let r = y - Y`: a named intermediate that later statements use."""

    name: str
    expr: Expr
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class ModelDef:
    """`model y = ...`: the per-sample prediction."""

    name: str
    expr: Expr
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class LossDef:
    """`loss ...`: the objective; `mean`/`sum` inside it reduce over the samples."""

    expr: Expr
    span: Span = _span()


Stmt = Union[ParamDecl, DataDecl, SizeDef, Let, ModelDef, LossDef]


@dataclass(frozen=True, slots=True)
class Program:
    """A whole `.gd` file: its statements in order, its name and its text (for messages)."""

    statements: tuple[Stmt, ...]
    where: str = field(default="<string>", compare=False)
    source: str = field(default="", compare=False, repr=False)
