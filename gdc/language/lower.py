"""Lark parse tree to the immutable model IR, with a span on every node."""

from __future__ import annotations

from fractions import Fraction

from lark import Token, Transformer, v_args

from . import ir
from gdc.errors import GdcError, Span
from .parse import parse_tree, token_span


# Each operator token (whichever of its spellings was written) to the IR's operator.
_OPERATOR = {"PLUS": "+", "MINUS": "-", "STAR": "*", "SLASH": "/", "POW": "^", "AT": "@"}


def _meta_span(meta) -> Span:
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def number(text: str) -> Fraction:
    """The exact value of a numeric literal (`.5`, `5.`, `1e-3`), without evaluating user text."""
    return Fraction(text)


@v_args(meta=True)
class _Lower(Transformer):
    """Builds IR nodes bottom-up; each method is one grammar rule."""

    def number(self, meta, children):
        (tok,) = children
        return ir.Num(number(str(tok)), token_span(tok))

    def var(self, meta, children):
        (tok,) = children
        return ir.Var(str(tok), token_span(tok))

    def paren(self, meta, children):
        return children[0]

    def neg(self, meta, children):
        return ir.Neg(children[-1], _meta_span(meta))

    def pos(self, meta, children):
        return children[-1]

    def binop(self, meta, children):
        left, op, right = children
        return ir.BinOp(_OPERATOR[op.type], left, right, _meta_span(meta))

    def args(self, meta, children):
        return tuple(children)

    def call(self, meta, children):
        name, args = children
        return ir.Call(str(name), args or (), _meta_span(meta), token_span(name))

    def index(self, meta, children):
        (tok,) = children
        value = number(str(tok))
        if value.denominator != 1:
            raise GdcError(f"an index must be a whole number, not {tok}", span=token_span(tok),
                           hint="elements are numbered from 0")
        return int(value), token_span(tok)

    def element(self, meta, children):
        name, *indices = children
        return ir.Element(str(name), tuple(i for i, _ in indices), _meta_span(meta), token_span(name))

    def shape(self, meta, children):
        dims = []
        for tok in children:
            if tok.type == "NAME":
                dims.append(ir.Dim(str(tok), token_span(tok)))
                continue
            value = number(str(tok))
            if value.denominator != 1 or value < 1:
                raise GdcError(f"a size must be a positive whole number, not {tok}", span=token_span(tok))
            dims.append(ir.Dim(int(value), token_span(tok)))
        return tuple(dims)

    def param_item(self, meta, children):
        name, shape, init = children
        return ir.ParamItem(str(name), shape or (), init, _meta_span(meta), token_span(name))

    def data_item(self, meta, children):
        name, shape = children
        return ir.DataItem(str(name), shape or (), _meta_span(meta), token_span(name))

    def param_decl(self, meta, children):
        return ir.ParamDecl(tuple(children), _meta_span(meta))

    def data_decl(self, meta, children):
        return ir.DataDecl(tuple(children), _meta_span(meta))

    def size_stmt(self, meta, children):
        name, tok = children
        value = number(str(tok))
        if value.denominator != 1 or value < 1:
            raise GdcError(f"a size must be a positive whole number, not {tok}", span=token_span(tok))
        return ir.SizeDef(str(name), int(value), _meta_span(meta), token_span(name))

    def let_stmt(self, meta, children):
        name, expr = children
        return ir.Let(str(name), expr, _meta_span(meta), token_span(name))

    def model_stmt(self, meta, children):
        name, expr = children
        return ir.ModelDef(str(name), expr, _meta_span(meta), token_span(name))

    def loss_stmt(self, meta, children):
        return ir.LossDef(children[0], _meta_span(meta))

    def start(self, meta, children):
        return tuple(c for c in children if not isinstance(c, Token))


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
