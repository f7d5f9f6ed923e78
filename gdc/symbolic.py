"""Checked model to sympy expressions: the one place where sympy objects are built from IR nodes.

Nothing here reads user text: every sympy object comes from a checked IR node, so no
`sympify`, `parse_expr` or `eval` is ever needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

import sympy

from . import ir
from .check import CheckedModel
from .errors import GdcError


class sigmoid(sympy.Function):
    """The logistic function σ(z) = 1 / (1 + e^(−z)); σ'(z) = σ(z)(1 − σ(z))."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sympy.exp(-z))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        inner = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return inner if exp is None else rf"{inner}^{{{exp}}}"

    def _pretty(self, printer):
        return printer._print_Function(self, func_name="σ")


class softplus(sympy.Function):
    """softplus(z) = log(1 + e^z), a smooth relu; its derivative is σ(z)."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return sympy.log(1 + sympy.exp(z))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        inner = rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"
        return inner if exp is None else rf"{inner}^{{{exp}}}"


class PerSample(sympy.Symbol):
    """A symbol with a value per sample: a data column, or a definition that depends on one."""


class _Reduction(sympy.Function):
    """A reduction over the samples. It is linear, so d/dθ moves inside it."""

    nargs = 1

    def _eval_derivative(self, s):
        return type(self)(sympy.diff(self.args[0], s))

    @classmethod
    def eval(cls, arg):
        # Factors that are the same for every sample move out: mean(2*u) -> 2*mean(u).
        if arg.is_zero:
            return sympy.S.Zero
        if isinstance(arg, sympy.Mul):
            const, rest = arg.as_independent(*arg.atoms(PerSample), as_Add=False)
            if const != 1 and rest != 1:
                return const * cls(rest)
        return None

    def _latex(self, printer, exp=None):
        op = r"\frac{1}{N}\sum_{i}" if isinstance(self, mean) else r"\sum_{i}"
        return rf"{op}\left({printer._print(self.args[0])}\right)"


class mean(_Reduction):
    """(1/N) Σᵢ of its argument."""


class Sum(_Reduction):
    """Σᵢ of its argument (printed `sum`, so the JSON partials read like the gd language)."""

    def _sympystr(self, printer):
        return f"sum({printer._print(self.args[0])})"


_FUNCTIONS = {
    "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs,
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "asin": sympy.asin,
    "acos": sympy.acos, "atan": sympy.atan, "sinh": sympy.sinh, "cosh": sympy.cosh,
    "tanh": sympy.tanh, "sigmoid": sigmoid, "softplus": softplus,
    "min": sympy.Min, "max": sympy.Max, "mean": mean, "sum": Sum,
}
_CONSTANTS = {"pi": sympy.pi, "e": sympy.E}


def symbol(name: str, per_sample: bool = False) -> sympy.Symbol:
    """The sympy symbol of a gd name (all gd values are real)."""
    return (PerSample if per_sample else sympy.Symbol)(name, real=True)


@dataclass(frozen=True)
class SymbolicModel:
    """The model as sympy: symbols, definitions in order, the prediction and the loss.

    `definitions` keeps each `let` and the model as its own symbol, so the derivation can
    show ∂J/∂r once and reuse it; `loss` and `prediction` are fully expanded.
    """

    checked: CheckedModel
    params: tuple[sympy.Symbol, ...]
    data: tuple[sympy.Symbol, ...]
    definitions: tuple[tuple[sympy.Symbol, sympy.Expr], ...]  # (name, body over earlier names)
    prediction_symbol: sympy.Symbol
    loss_compact: sympy.Expr  # over the definitions' symbols
    loss: sympy.Expr  # definitions substituted
    prediction: sympy.Expr  # definitions substituted

    def expand(self, expr: sympy.Expr) -> sympy.Expr:
        """Substitute every definition into an expression."""
        for name, body in reversed(self.definitions):
            expr = expr.subs(name, body)
        return expr

    def gradient(self) -> dict[sympy.Symbol, sympy.Expr]:
        """∂J/∂θ for every parameter, straight from sympy.diff: the oracle for every derivation."""
        return {p: sympy.diff(self.loss, p) for p in self.params}


@singledispatch
def to_sympy(expr, env: dict) -> sympy.Expr:
    raise TypeError(f"not an expression node: {expr!r}")


@to_sympy.register
def _(expr: ir.Num, env: dict) -> sympy.Expr:
    return sympy.Rational(expr.value.numerator, expr.value.denominator)


@to_sympy.register
def _(expr: ir.Var, env: dict) -> sympy.Expr:
    return _CONSTANTS[expr.name] if expr.name in _CONSTANTS else env[expr.name]


@to_sympy.register
def _(expr: ir.Neg, env: dict) -> sympy.Expr:
    return -to_sympy(expr.operand, env)


_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "/": lambda a, b: a / b, "^": lambda a, b: a ** b}


@to_sympy.register
def _(expr: ir.BinOp, env: dict) -> sympy.Expr:
    return _real(_BINARY[expr.op](to_sympy(expr.left, env), to_sympy(expr.right, env)), expr)


@to_sympy.register
def _(expr: ir.Call, env: dict) -> sympy.Expr:
    args = [to_sympy(a, env) for a in expr.args]
    try:
        return _real(_FUNCTIONS[expr.func](*args), expr)
    except ValueError:  # sympy's Min/Max refuse arguments that are never real
        raise GdcError(f"`{expr.func}` compares values that are not real numbers", span=expr.span) from None


def _real(value: sympy.Expr, node) -> sympy.Expr:
    """Gradient descent works on real numbers: a constant such as acos(3) or 1/0 is a user error."""
    if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise GdcError("this divides by zero (or is otherwise infinite)", span=node.span)
    if value.is_number and value.is_extended_real is False:
        raise GdcError(f"{value} is not a real number", span=node.span,
                       hint="check the arguments of sqrt, log, asin and acos")
    return value


def symbolic(model: CheckedModel) -> SymbolicModel:
    """Build the sympy form of a checked model."""
    try:
        return _symbolic(model)
    except GdcError as exc:
        raise exc.located(model.program.where, model.program.source) from None


def _symbolic(model: CheckedModel) -> SymbolicModel:
    params = tuple(symbol(p.name) for p in model.params)
    data = tuple(symbol(d.name, per_sample=True) for d in model.data)
    env = {s.name: s for s in params + data}
    definitions = []
    for stmt in model.definitions:
        body = to_sympy(stmt.expr, env)
        sym = symbol(stmt.name, per_sample=bool(body.atoms(PerSample)))
        definitions.append((sym, body))
        env[stmt.name] = sym
    loss_compact = to_sympy(model.loss.expr, env)
    sm = SymbolicModel(model, params, data, tuple(definitions), env[model.model.name],
                       loss_compact, sympy.S.Zero, sympy.S.Zero)
    return SymbolicModel(model, params, data, tuple(definitions), sm.prediction_symbol,
                         loss_compact, sm.expand(loss_compact), sm.expand(sm.prediction_symbol))
