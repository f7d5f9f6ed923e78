"""Walking a model expression: its children, and every node in order."""

from __future__ import annotations

from functools import singledispatch
from typing import Iterator

from . import ir


def walk(expr: ir.Expr) -> Iterator[ir.Expr]:
    """Every node of an expression, parents before children, left to right (without recursion:
    a sum of a thousand terms is a thousand levels deep)."""
    todo = [expr]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(reversed(children(node)))


@singledispatch
def children(expr) -> tuple:
    return ()


@children.register
def _(expr: ir.Neg) -> tuple:
    return (expr.operand,)


@children.register
def _(expr: ir.BinOp) -> tuple:
    return (expr.left, expr.right)


@children.register
def _(expr: ir.Call) -> tuple:
    return expr.args


@children.register
def _(expr: ir.Compare) -> tuple:
    return (expr.left, expr.right)
