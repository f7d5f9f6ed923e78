"""Lark parse tree to the immutable model IR, with a span on every node."""

from __future__ import annotations

from fractions import Fraction

from lark import Token, Transformer_NonRecursive, v_args

from . import ir
from gdc.errors import GdcError, Span
from .limits import check_name, check_size, literal_value
from .parse import parse_tree, token_span


# Each operator token (whichever of its spellings was written) to the IR's operator.
_OPERATOR = {"PLUS": "+", "MINUS": "-", "STAR": "*", "SLASH": "/", "POW": "^", "AT": "@"}
# Each spelling of a comparison to the IR's (the typographic ≤ ≥ of pasted formulas too).
_COMPARISON = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "≤": "<=", "≥": ">="}


def _meta_span(meta) -> Span:
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def number(tok) -> Fraction:
    """The exact value of a numeric literal (`.5`, `5.`, `1e-3`), without evaluating user text;
    a literal float64 cannot hold is a user error at its position."""
    return literal_value(str(tok), token_span(tok))


def name(tok) -> str:
    """A name token as a string, refused when it is longer than any stage can take."""
    check_name(str(tok), token_span(tok))
    return str(tok)


@v_args(meta=True)
class _Lower(Transformer_NonRecursive):
    """Builds IR nodes bottom-up; each method is one grammar rule. Without recursion: the
    parser nests a long sum to the left, one tree level per term."""

    def number(self, meta, children):
        (tok,) = children
        return ir.Num(number(tok), token_span(tok))

    def var(self, meta, children):
        (tok,) = children
        return ir.Var(name(tok), token_span(tok))

    def paren(self, meta, children):
        return children[0]

    def neg(self, meta, children):
        return ir.Neg(children[-1], _meta_span(meta))

    def pos(self, meta, children):
        return children[-1]

    def binop(self, meta, children):
        left, op, right = children
        return ir.BinOp(_OPERATOR[op.type], left, right, _meta_span(meta))

    def compare(self, meta, children):
        left, op, right = children
        return ir.Compare(_COMPARISON[str(op)], left, right, _meta_span(meta))

    def args(self, meta, children):
        return tuple(children)

    def call(self, meta, children):
        func, args = children
        return ir.Call(str(func), args or (), _meta_span(meta), token_span(func))

    def index(self, meta, children):
        (tok,) = children
        value = number(tok)
        if value.denominator != 1:
            raise GdcError(f"an index must be a whole number, not {tok}", span=token_span(tok),
                           hint="elements are numbered from 0")
        return check_size(value, str(tok), token_span(tok)), token_span(tok)

    def element(self, meta, children):
        tok, *indices = children
        return ir.Element(name(tok), tuple(i for i, _ in indices), _meta_span(meta), token_span(tok))

    def shape(self, meta, children):
        dims = []
        for tok in children:
            if tok.type == "NAME":
                dims.append(ir.Dim(name(tok), token_span(tok)))
                continue
            dims.append(ir.Dim(_size(tok), token_span(tok)))
        return tuple(dims)

    def param_item(self, meta, children):
        tok, shape, init, bounds = children
        return ir.ParamItem(name(tok), shape or (), init, _meta_span(meta), token_span(tok), bounds)

    def data_item(self, meta, children):
        tok, shape, label, bounds = children
        return ir.DataItem(name(tok), shape or (), _meta_span(meta), token_span(tok), bounds=bounds,
                           labels=None if label is None else name(label))

    def bounds(self, meta, children):
        _, opening, lower, _, upper, closing = children
        return ir.Bounds(lower, upper, str(opening) == "(", str(closing) == ")", _meta_span(meta))

    def param_decl(self, meta, children):
        return ir.ParamDecl(tuple(children), _meta_span(meta))

    def data_decl(self, meta, children):
        return ir.DataDecl(tuple(children), _meta_span(meta))

    def size_stmt(self, meta, children):
        tok, size = children
        return ir.SizeDef(name(tok), _size(size), _meta_span(meta), token_span(tok))

    def let_stmt(self, meta, children):
        tok, expr = children
        return ir.Let(name(tok), expr, _meta_span(meta), token_span(tok))

    def model_stmt(self, meta, children):
        tok, expr = children
        return ir.ModelDef(name(tok), expr, _meta_span(meta), token_span(tok))

    def loss_stmt(self, meta, children):
        return ir.LossDef(children[0], _meta_span(meta))

    def start(self, meta, children):
        return tuple(c for c in children if not isinstance(c, Token))


def _size(tok) -> int:
    """A size written as a number: a positive whole number, not past the limit on values."""
    value = number(tok)
    if value.denominator != 1 or value < 1:
        raise GdcError(f"a size must be a positive whole number, not {tok}", span=token_span(tok))
    return check_size(value, str(tok), token_span(tok))


def lower(text: str, where: str = "<string>") -> ir.Program:
    """Parse and lower `.gd` text into a Program; raises GdcError for bad syntax."""
    tree = parse_tree(text, where)
    try:
        statements = _Lower().transform(tree)
    except Exception as exc:  # lark wraps errors raised inside transformer callbacks
        inner = getattr(exc, "orig_exc", exc)
        if isinstance(inner, GdcError):
            raise inner.located(where, text) from None
        raise
    return ir.Program(statements, where, text)
