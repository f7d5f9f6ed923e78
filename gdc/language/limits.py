"""What the compiler accepts, in numbers: the limits a model text is held to before any sympy runs.

Each limit turns what would be a crash, a hang or a runaway allocation later in the pipeline
into a positioned user error here, and is stated in the message:

- a numeric literal lies in float64's normal range (a literal such as `1e999999999` is
  judged by its digits and exponent, never by computing its exact value);
- names are at most MAX_NAME_LENGTH characters (LLVM refuses symbols past a few thousand);
- expressions nest at most MAX_NESTING levels, counted through `let` definitions (sympy
  recurses about five Python frames per level; 180 levels still derive, 200 do not). A
  chain of `+`/`-` or `*`/`/` is one level however long (every stage walks it without
  recursion), but holds at most MAX_TERMS terms: Python's compiler refuses one expression
  of about 2,500, and sympy takes minutes over 1,000 distinct terms (a vector and dot(...)
  hold any number);
- an expression written out, each `let` it uses copied in, holds at most MAX_SIZE nodes (a
  chain of `let a2 = sin(a1) + cos(a1)*a1` triples at each link: twelve links took minutes);
- at most MAX_PARAMETERS scalar parameters (the derivation of 200 parameters over a
  200-term sum takes 35 s; use a vector parameter beyond that), and at most MAX_ELEMENTS
  values in a vector or matrix whose size is fixed in the text.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Iterator

from . import ir
from gdc.errors import GdcError, Span
from gdc.runtime.limits import MAX_ELEMENTS   # noqa: F401  (the language holds fixed sizes to it)
from .unparse import expr_text
from .vocabulary import CONSTANTS, FUNCTIONS

MAX_NAME_LENGTH = 255
MAX_NESTING = 100
MAX_TERMS = 1000
MAX_PARAMETERS = 200
MAX_SIZE = 50_000                # nodes of one expression written out (33k derive in 20 s, 98k do not in 300 s)
MAX_NUMBER_LENGTH = 1000         # characters of a literal (Python's int() stops at 4300 digits)

SMALLEST_NORMAL = 2.2250738585072014e-308   # sys.float_info.min
LARGEST = 1.7976931348623157e308            # sys.float_info.max

_LITERAL = re.compile(r"([0-9]*)\.?([0-9]*)(?:[eE]([+-]?[0-9]+))?")


def literal_value(text: str, span: Span) -> Fraction:
    """The exact value of a numeric literal, refused with a position when float64 cannot hold it."""
    if len(text) > MAX_NUMBER_LENGTH:
        raise GdcError(f"this number has {len(text)} characters; gdc reads at most {MAX_NUMBER_LENGTH}",
                       span=span, hint="float64 keeps 17 significant digits; write it in e-notation")
    match = _LITERAL.fullmatch(text)
    if match is None:   # the grammar's NUMBER already guarantees the form
        raise GdcError(f"{text!r} is not a number", span=span)
    whole, fraction, exponent = match.groups()
    if (whole + fraction).strip("0"):
        # The decimal exponent of the leading digit, from lengths alone: 1e999999999 is never
        # computed (Fraction would build a billion-digit integer).
        significant = whole.lstrip("0")
        lead = len(significant) - 1 if significant else len(fraction.lstrip("0")) - len(fraction) - 1
        power = lead + int(exponent or 0)
        if not -309 <= power <= 308:
            raise out_of_range(text, power > 0, span)
    value = Fraction(text)
    if not ratio_in_range(value.numerator, value.denominator):
        raise out_of_range(text, value > 1, span)
    return value


def out_of_range(text: str, large: bool, span: Span) -> GdcError:
    """`text` overflows (large) or underflows float64."""
    if large:
        return GdcError(f"{text} is too large for a float64 (the largest is about 1.8e308)", span=span,
                        hint="rescale the model so that its constants are of moderate size")
    return GdcError(f"{text} is too small for a float64 (the smallest normal number is about 2.2e-308)",
                    span=span, hint="write 0 if it should vanish, or rescale the model")


def check_name(name: str, span: Span) -> None:
    if len(name) > MAX_NAME_LENGTH:
        raise GdcError(f"this name has {len(name)} characters; a name may have at most {MAX_NAME_LENGTH}",
                       span=span, hint="choose a shorter name")


def check_size(value: Fraction, text: str, span: Span) -> int:
    """A size or index as an int: a whole number up to MAX_ELEMENTS."""
    if value > MAX_ELEMENTS:
        raise GdcError(f"{text} is too large: a vector or matrix may hold at most {MAX_ELEMENTS:,} values",
                       span=span)
    return int(value)


# ------------------------------------------------------------------ nesting

def operands(expr: ir.Expr) -> tuple[ir.Expr, ...]:
    """The direct operands of an expression node."""
    if isinstance(expr, ir.BinOp):
        return (expr.left, expr.right)
    if isinstance(expr, ir.Neg):
        return (expr.operand,)
    if isinstance(expr, ir.Call):
        return expr.args
    if isinstance(expr, ir.Compare):
        return (expr.left, expr.right)
    return ()


def nodes(expr: ir.Expr) -> Iterator[ir.Expr]:
    """Every node of an expression, parents before children, left to right, without recursion."""
    todo = [expr]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(reversed(operands(node)))


def postorder(expr: ir.Expr) -> list[ir.Expr]:
    """Every node, children before parents (iteratively: a 10,000-term sum is 10,000 levels deep)."""
    order, todo = [], [expr]
    while todo:
        node = todo.pop()
        order.append(node)
        todo.extend(operands(node))
    return order[::-1]


def check_nesting(program: ir.Program) -> None:
    """No expression nests deeper than MAX_NESTING, counting through the `let`s it uses.

    The depth is that of the expression as sympy holds it: a chain of sums (or of products),
    which the parser nests to the left, is one level, since sympy flattens it (and every
    stage here walks such chains without recursion); anything else inside it adds a level.
    """
    depth_of_name: dict[str, int] = {}
    size_of_name: dict[str, int] = {}
    for stmt in program.statements:
        for expr in expressions(stmt):
            depth = _depth(expr, depth_of_name, program)
            size = _size(expr, size_of_name, program)
            if isinstance(stmt, (ir.Let, ir.ModelDef)):
                depth_of_name[stmt.name], size_of_name[stmt.name] = depth, size


def _size(expr: ir.Expr, names: dict[str, int], program: ir.Program) -> int:
    """The nodes of an expression written out, each `let` it uses copied in (as sympy holds it:
    the steps, the printers and the kernels walk every copy), at most MAX_SIZE."""
    size: dict[int, int] = {}
    for node in postorder(expr):
        value = names.get(node.name, 1) if isinstance(node, ir.Var) else \
            1 + sum(size[id(a)] for a in operands(node))
        if value > MAX_SIZE:
            raise GdcError(f"written out, this expression has {value:,} terms and operations (counting "
                           f"each use of a `let` definition in full); gdc derives at most {MAX_SIZE:,}",
                           where=program.where, span=node.span, source=program.source,
                           hint="a `let` used n times is copied n times, so a chain of such `let`s "
                                "grows exponentially; simplify the model")
        size[id(node)] = value
    return size[id(expr)]


def expressions(stmt: ir.Stmt) -> tuple[ir.Expr, ...]:
    """The expressions a statement holds (initial values and bounds, a definition, the loss)."""
    if isinstance(stmt, (ir.Let, ir.ModelDef, ir.LossDef)):
        return (stmt.expr,)
    if isinstance(stmt, ir.ParamDecl):
        return tuple(item.init for item in stmt.items if item.init is not None) + tuple(
            end for item in stmt.items if item.bounds is not None for end in (item.bounds.lower, item.bounds.upper))
    return ()


def _depth(expr: ir.Expr, names: dict[str, int], program: ir.Program) -> int:
    depth: dict[int, int] = {}
    terms: dict[int, int] = {}   # of a chain of + and - (or * and /) ending at the node
    for node in postorder(expr):
        if isinstance(node, ir.BinOp):
            family = _CHAIN.get(node.op)
            same = isinstance(node.left, ir.BinOp) and family is not None and _CHAIN.get(node.left.op) == family
            left, right = depth[id(node.left)], depth[id(node.right)]
            # A sum inside a sum is one sum (sympy flattens it): that chain is one level deep.
            value = max(left, 1 + right) if same else 1 + max(left, right)
            terms[id(node)] = (terms[id(node.left)] if same else 1) + 1
            if terms[id(node)] > MAX_TERMS:
                raise GdcError(f"this {family} has more than {MAX_TERMS:,} {'terms' if family == 'sum' else 'factors'}",
                               where=program.where, span=node.span, source=program.source,
                               hint="a vector holds any number of them: `param c[5000]`, `data x[d]`, "
                                    "then dot(c, x) or sum(c * x)")
        elif isinstance(node, (ir.Neg, ir.Call, ir.Compare)):
            value = 1 + max((depth[id(a)] for a in operands(node)), default=0)
        else:
            value = names.get(node.name, 0) if isinstance(node, ir.Var) else 0
        if value > MAX_NESTING:
            raise GdcError(f"this expression nests more than {MAX_NESTING} levels deep"
                           f"{' (counting the `let` definitions it uses)' if _uses_deep(node, names) else ''}",
                           where=program.where, span=node.span, source=program.source,
                           hint="split it with `let` definitions of moderate depth, or simplify it")
        depth[id(node)] = value
    return depth[id(expr)]


_CHAIN = {"+": "sum", "-": "sum", "*": "product", "/": "product"}


def _uses_deep(node: ir.Expr, names: dict[str, int]) -> bool:
    return any(isinstance(n, ir.Var) and names.get(n.name) for n in nodes(node))


# ------------------------------------------------------------------ constants

BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: a / b, "^": math.pow}
COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b}

# Operators whose exact result is never 0 when their operands are not: a float 0 from them
# means the result underflowed (and the functions whose Signature says so).
_NEVER_ZERO = frozenset({"*", "/", "^"} | {name for name, f in FUNCTIONS.items() if f.never_zero})


def _apply(node: ir.Expr, args: list[float]) -> float:
    """One node of a constant expression in float64; ValueError or ArithmeticError outside its domain."""
    if isinstance(node, ir.Num):
        return float(node.value)
    if isinstance(node, ir.Var):
        return CONSTANTS[node.name]
    if isinstance(node, ir.Neg):
        return -args[0]
    if isinstance(node, ir.BinOp):
        return BINARY[node.op](*args)
    if isinstance(node, ir.Compare):   # a condition of where: 1.0 when it holds, else 0.0
        return float(COMPARE[node.op](*args))
    return float(FUNCTIONS[node.func].value(*args))


def _operator(node: ir.Expr) -> str:
    return node.op if isinstance(node, ir.BinOp) else node.func if isinstance(node, ir.Call) else ""


def constant_value(expr: ir.Expr) -> float:
    """The value of an expression of numbers, constants and functions (ValueError, ArithmeticError
    outside a function's domain or past float64's range)."""
    values: dict[int, float] = {}
    for node in postorder(expr):
        args = [values[id(a)] for a in operands(node)]
        values[id(node)] = value = _apply(node, args)
        if not math.isfinite(value) and all(math.isfinite(a) for a in args):
            raise OverflowError(f"{_operator(node)} overflows")
    return values[id(expr)]


def check_constants(expr: ir.Expr, program: ir.Program) -> None:
    """Every constant part of an expression (2^1024, exp(-800), 1e200*1e200) stays within float64.

    sympy would compute such a part exactly and the generated code could not print it (or
    numba could not type it); a domain error (log(-1)) is left to the later checks.
    """
    values: dict[int, float | None] = {}
    for node in postorder(expr):
        args = [values[id(a)] for a in operands(node)]
        constant = all(a is not None for a in args) and not (
            isinstance(node, ir.Var) and node.name not in CONSTANTS) and not isinstance(node, ir.Element) \
            and not (isinstance(node, ir.Call) and node.func not in FUNCTIONS)
        value = None
        if constant:
            try:
                value = _apply(node, args)
            except OverflowError:
                raise _range_error(node, "overflows", program) from None
            except (ArithmeticError, ValueError, TypeError):
                value = None
        if value is not None:
            problem = _out_of_range(value, args, _operator(node))
            if problem:
                raise _range_error(node, problem, program)
        values[id(node)] = value


def _out_of_range(value: float, args: list[float], operator: str) -> str | None:
    if math.isinf(value) and all(math.isfinite(a) for a in args):
        return "overflows"
    if value != 0.0 and abs(value) < SMALLEST_NORMAL:
        return "underflows"
    if value == 0.0 and operator in _NEVER_ZERO and all(a != 0.0 for a in args[:1 if operator == "^" else None]):
        return "underflows"
    return None


def _range_error(node: ir.Expr, problem: str, program: ir.Program) -> GdcError:
    text = expr_text(node)
    shown = text if len(text) <= 40 else text[:37] + "..."
    limit = "about 1.8e308" if problem == "overflows" else "about 2.2e-308"
    return GdcError(f"`{shown}` {problem} a float64 (its magnitude is past {limit})", where=program.where,
                    span=node.span, source=program.source,
                    hint="rescale the model so that its constants are of moderate size")


def ratio_in_range(p: int, q: int) -> bool:
    """Whether |p/q| (q > 0) is 0 or lies in float64's normal range, judged by bit lengths first."""
    if p == 0:
        return True
    bits = abs(p).bit_length() - q.bit_length()
    if not -1080 < bits < 1030:
        return False
    try:
        value = abs(p) / q
    except OverflowError:
        return False
    return SMALLEST_NORMAL <= value <= LARGEST
