"""Shape checking, part of the check stage: the shape of every expression, before anything runs.

A shape is a tuple of sizes (an int, or a size name bound from the data); () is a scalar.
Arithmetic and functions work elementwise, a scalar combining with any shape. `dot(a, b)`
takes two vectors of one size; `A @ b` a matrix and a vector (or matrix) whose sizes meet.
`mean`/`sum` of a vector or matrix reduce over its elements; of a scalar, over the samples
(those are the sample reductions, allowed only in `loss`, never one inside another).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import ir
from gdc.errors import GdcError, Span
from .vocabulary import REDUCTIONS, SOFTMAX_FUNCTIONS
from .unparse import expr_text

Shape = tuple  # of int | str


def shape_text(shape: Shape) -> str:
    if not shape:
        return "a scalar"
    if len(shape) == 1:
        return f"{shape[0]} elements"
    return "a " + "×".join(str(s) for s in shape) + " matrix"


def _is(expr: ir.Expr, shape: Shape) -> str:
    """`w has 3 elements`, `W is a 4×3 matrix`, `b is a scalar`."""
    verb = "has" if len(shape) == 1 else "is"
    return f"{_short(expr)} {verb} {shape_text(shape)}"


def _short(expr: ir.Expr) -> str:
    text = expr_text(expr)
    return text if len(text) <= 24 else text[:21] + "..."


@dataclass
class ShapeChecker:
    """Shapes of the names in scope; `error` builds a positioned GdcError."""

    names: dict[str, Shape]
    error: Callable[..., GdcError]
    sample_reductions: set[int] = field(default_factory=set)  # ids of those Call nodes

    def shape(self, expr: ir.Expr, in_loss: bool, inside: ir.Call | None = None) -> Shape:
        spine = []
        while isinstance(expr, ir.BinOp):   # a long sum nests to the left: walk it in a loop
            spine.append(expr)
            expr = expr.left
        shape = self.operand_shape(expr, in_loss, inside)
        for node in reversed(spine):
            right = self.shape(node.right, in_loss, inside)
            if node.op == "@":
                shape = self.matmul(node, shape, right)
            else:
                shape = self.broadcast(node, node.left, shape, node.right, right)
        return shape

    def operand_shape(self, expr: ir.Expr, in_loss: bool, inside: ir.Call | None) -> Shape:
        """The shape of anything but a binary operation."""
        if isinstance(expr, ir.Num):
            return ()
        if isinstance(expr, ir.Var):
            return self.names.get(expr.name, ())
        if isinstance(expr, ir.Element):
            return self.element(expr)
        if isinstance(expr, ir.Neg):
            return self.shape(expr.operand, in_loss, inside)
        if isinstance(expr, ir.Compare):   # elementwise, as arithmetic is
            return self.broadcast(expr, expr.left, self.shape(expr.left, in_loss, inside),
                                  expr.right, self.shape(expr.right, in_loss, inside))
        return self.call(expr, in_loss, inside)

    def element(self, expr: ir.Element) -> Shape:
        shape = self.names.get(expr.name, ())
        if not shape:
            raise self.error(f"`{expr.name}` is a scalar and has no elements", expr.span,
                             f"declare it with a shape, e.g. `param {expr.name}[3]`")
        if len(expr.indices) != len(shape):
            raise self.error(f"`{expr.name}` has {len(shape)} axes, but {len(expr.indices)} "
                             f"{'index is' if len(expr.indices) == 1 else 'indices are'} given",
                             expr.span, "give one index per axis, counted from 0")
        for index, size in zip(expr.indices, shape):
            if isinstance(size, int) and index >= size:
                raise self.error(f"index {index} is out of range: `{expr.name}` has {size} "
                                 f"{'elements' if len(shape) == 1 else 'entries on that axis'}",
                                 expr.span, f"indices count from 0 to {size - 1}")
        return ()

    def broadcast(self, node, a, sa: Shape, b, sb: Shape) -> Shape:
        if not sa or sa == sb:
            return sb
        if not sb:
            return sa
        what = expr_text(node) if len(expr_text(node)) <= 30 else \
            f"`{node.func}(...)`" if isinstance(node, ir.Call) else f"`{node.op}`"
        raise self.error(f"{what}: {_is(a, sa)}, {_is(b, sb)}", node.span,
                         "elementwise operations need equal shapes (or a scalar)")

    def matmul(self, node: ir.BinOp, sa: Shape, sb: Shape) -> Shape:
        if len(sa) != 2 or len(sb) not in (1, 2):
            raise self.error(f"`@` multiplies a matrix by a vector or a matrix, but {_is(node.left, sa)} "
                             f"and {_is(node.right, sb)}", node.span,
                             "for two vectors use dot(a, b); for a scalar factor use `*`")
        if sa[1] != sb[0]:
            raise self.error(f"{_short(node.left)} @ {_short(node.right)}: {_is(node.left, sa)}, "
                             f"{_is(node.right, sb)}; the sizes {sa[1]} and {sb[0]} must be the same",
                             node.span)
        return (sa[0],) + tuple(sb[1:])

    def call(self, call: ir.Call, in_loss: bool, inside: ir.Call | None) -> Shape:
        if call.func in REDUCTIONS:
            (arg,) = call.args
            if self.argument_shape(arg):  # over the elements
                self.shape(arg, in_loss, inside)
                return ()
            if not in_loss:
                raise self.error(f"`{call.func}(...)` reduces over the samples and may only appear in `loss`",
                                 call.name_span, "compute the per-sample value here and reduce it in `loss`")
            if inside is not None:
                raise self.error(f"`{call.func}(...)` inside `{inside.func}(...)`: reductions cannot be nested",
                                 call.name_span)
            self.sample_reductions.add(id(call))
            self.shape(arg, in_loss, call)
            return ()
        shapes = [self.shape(a, in_loss, inside) for a in call.args]
        if call.func == "dot":
            (a, b), (sa, sb) = call.args, shapes
            if len(sa) != 1 or len(sb) != 1:
                bad, shape = (a, sa) if len(sa) != 1 else (b, sb)
                raise self.error(f"dot({_short(a)}, {_short(b)}): {_is(bad, shape)}; dot takes two vectors",
                                 call.span, "for a matrix times a vector write W @ x")
            if sa != sb:
                raise self.error(f"dot({_short(a)}, {_short(b)}): {_is(a, sa)}, {_is(b, sb)}", call.span)
            return ()
        if call.func in SOFTMAX_FUNCTIONS:   # a vector in: a vector (softmax) or a scalar (logsumexp) out
            (arg,), (shape,) = call.args, shapes
            if len(shape) != 1:
                raise self.error(f"{call.func}({_short(arg)}): {_is(arg, shape)}; {call.func} takes a vector",
                                 call.span, "e.g. softmax(W @ x + c) for a matrix W and vectors x, c")
            return shape if SOFTMAX_FUNCTIONS[call.func] == "vector" else ()
        shape, holder = shapes[0], call.args[0]   # min, max, clip, where, …: elementwise
        for arg, other in zip(call.args[1:], shapes[1:]):
            if other and not shape:
                holder = arg   # the argument whose shape the result has, for a message
            shape = self.broadcast(call, holder, shape, arg, other)
        return shape

    def argument_shape(self, expr: ir.Expr) -> Shape:
        """The shape of an expression, without the reduction rules (for deciding which kind)."""
        checker = ShapeChecker(self.names, self.error)
        return checker.shape(expr, in_loss=True, inside=_NOT_A_CALL)


# Lets argument_shape accept anything a reduction could hold: nesting is judged afterwards.
_NOT_A_CALL = None


def check_sizes(params: list[ir.ParamItem], data: list[ir.DataItem], error) -> dict[str, Span]:
    """Data have at most one axis, parameters two; every size name is bound by a data vector."""
    bound: dict[str, Span] = {}
    for item in data:
        if len(item.shape) > 1:
            raise error(f"`{item.name}` has {len(item.shape)} axes; data may be scalars or vectors",
                        item.shape[0].span.join(item.shape[-1].span),
                        "give each sample's values as one vector, e.g. `data x[d]`")
        for dim in item.shape:
            if isinstance(dim.size, str):
                bound.setdefault(dim.size, dim.span)
    for item in params:
        if len(item.shape) > 2:
            raise error(f"`{item.name}` has {len(item.shape)} axes; parameters may be scalars, "
                        "vectors or matrices", item.shape[0].span.join(item.shape[-1].span))
        for dim in item.shape:
            if isinstance(dim.size, str) and dim.size not in bound:
                raise error(f"the size `{dim.size}` of `{item.name}` is not set", dim.span,
                            f"set it with `size {dim.size} = 32` (any whole number), or use it in a data "
                            f"declaration such as `data x[{dim.size}]`, so that the data set it")
    return bound
