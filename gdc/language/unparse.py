"""Model IR back to `.gd` text, with the fewest parentheses that keep the same tree."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction
from functools import singledispatch

from . import ir

# Binding strength: higher binds tighter. Neg sits between products and powers.
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "^": 4}
_NEG = 3
_ATOM = 5


def number_text(value: Fraction) -> str:
    """A literal that lowers back to exactly `value` (literals are decimals, so this is exact)."""
    if value.denominator == 1:
        return str(value.numerator)
    with localcontext() as ctx:
        ctx.prec = 200
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@singledispatch
def _prec(expr) -> int:
    return _ATOM


@_prec.register
def _(expr: ir.Neg) -> int:
    return _NEG


@_prec.register
def _(expr: ir.BinOp) -> int:
    return _PREC[expr.op]


@singledispatch
def expr_text(expr) -> str:
    """The gd text of an expression."""
    raise TypeError(f"not an expression node: {expr!r}")


def _wrap(expr: ir.Expr, at_least: int) -> str:
    return _atleast(expr_text(expr), expr, at_least)


@expr_text.register
def _(expr: ir.Num) -> str:
    return number_text(expr.value)


@expr_text.register
def _(expr: ir.Var) -> str:
    return expr.name


@expr_text.register
def _(expr: ir.Element) -> str:
    return f"{expr.name}[{', '.join(map(str, expr.indices))}]"


@expr_text.register
def _(expr: ir.Neg) -> str:
    return "-" + _wrap(expr.operand, _NEG)


@expr_text.register
def _(expr: ir.Call) -> str:
    return f"{expr.func}({', '.join(expr_text(a) for a in expr.args)})"


@expr_text.register
def _(expr: ir.Compare) -> str:
    return f"{expr_text(expr.left)} {expr.op} {expr_text(expr.right)}"


@expr_text.register
def _(expr: ir.BinOp) -> str:
    spine = []
    while isinstance(expr, ir.BinOp):   # a long sum nests to the left: print it in a loop
        spine.append(expr)
        expr = expr.left
    text, inner = expr_text(expr), expr
    for node in reversed(spine):
        prec = _PREC[node.op]
        if node.op == "^":  # right-associative; the exponent may be signed
            left, right = _atleast(text, inner, _ATOM), _wrap(node.right, _NEG)
            text = f"{left}^{right}"
        else:  # left-associative: the right operand needs parentheses at equal strength
            text = f"{_atleast(text, inner, prec)} {node.op} {_wrap(node.right, prec + 1)}"
        inner = node
    return text


def _atleast(text: str, expr: ir.Expr, at_least: int) -> str:
    """`text`, the printed `expr`, in parentheses when it binds less tightly than `at_least`."""
    return text if _prec(expr) >= at_least else f"({text})"


def _shape(dims: tuple[ir.Dim, ...]) -> str:
    return f"[{', '.join(str(d.size) for d in dims)}]" if dims else ""


@singledispatch
def stmt_text(stmt) -> str:
    raise TypeError(f"not a statement: {stmt!r}")


def _bounds(bounds: ir.Bounds | None) -> str:
    if bounds is None:
        return ""
    left, right = "(" if bounds.lower_open else "[", ")" if bounds.upper_open else "]"
    return f" in {left}{expr_text(bounds.lower)}, {expr_text(bounds.upper)}{right}"


@stmt_text.register
def _(stmt: ir.ParamDecl) -> str:
    items = [item.name + _shape(item.shape) + (f" = {expr_text(item.init)}" if item.init is not None else "")
             + _bounds(item.bounds) for item in stmt.items]
    return "param " + ", ".join(items)


@stmt_text.register
def _(stmt: ir.DataDecl) -> str:
    return "data " + ", ".join(item.name + _shape(item.shape) + (f" from {item.labels}" if item.labels else "")
                               + _bounds(item.bounds) for item in stmt.items)


@stmt_text.register
def _(stmt: ir.SizeDef) -> str:
    return f"size {stmt.name} = {stmt.value}"


@stmt_text.register
def _(stmt: ir.Let) -> str:
    return f"let {stmt.name} = {expr_text(stmt.expr)}"


@stmt_text.register
def _(stmt: ir.ModelDef) -> str:
    return f"model {stmt.name} = {expr_text(stmt.expr)}"


@stmt_text.register
def _(stmt: ir.LossDef) -> str:
    return f"loss {expr_text(stmt.expr)}"


def unparse(program: ir.Program) -> str:
    """The whole program as `.gd` text, one statement per line."""
    return "".join(stmt_text(s) + "\n" for s in program.statements)
