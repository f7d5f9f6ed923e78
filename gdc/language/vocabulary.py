"""The vocabulary of the gd language: keywords, functions, constants and the naming rule."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

KEYWORDS = ("param", "data", "size", "let", "model", "loss")



def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def _softplus(v: float) -> float:
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def _sign(v: float) -> float:
    return 0.0 if v == 0 else math.copysign(1.0, v)


def _where(condition: bool, a: float, b: float) -> float:
    return a if condition else b


@dataclass(frozen=True)
class Signature:
    """What the language knows of an elementwise function: its arity and its float64 value.

    The rest of a function (sympy class, derivative rule, precise value, kernel form, printed
    names) is its entry in gdc/calculus/catalog.py, under the same name; the language keeps
    only this part because it sits below sympy (a warm `gdc fit` checks names without it).
    """

    arity: int
    value: Callable[..., float]   # for constant parts (`param a = exp(1)`) and the verifier's float points
    never_zero: bool = False      # its exact value is never 0 when its arguments are not: 0.0 is an underflow
    usage: str = ""               # how a call of several arguments reads, for the message of a wrong count


# Elementwise functions: of each element when given a vector or matrix.
FUNCTIONS: dict[str, Signature] = {
    "exp": Signature(1, math.exp, never_zero=True), "log": Signature(1, math.log),
    "sqrt": Signature(1, math.sqrt), "abs": Signature(1, abs),
    "sin": Signature(1, math.sin), "cos": Signature(1, math.cos), "tan": Signature(1, math.tan),
    "asin": Signature(1, math.asin), "acos": Signature(1, math.acos), "atan": Signature(1, math.atan),
    "sinh": Signature(1, math.sinh), "cosh": Signature(1, math.cosh), "tanh": Signature(1, math.tanh),
    "sigmoid": Signature(1, _sigmoid, never_zero=True), "softplus": Signature(1, _softplus, never_zero=True),
    "min": Signature(2, min, usage="min(a, b)"), "max": Signature(2, max, usage="max(a, b)"),
    "log10": Signature(1, math.log10), "log2": Signature(1, math.log2), "erf": Signature(1, math.erf),
    "sign": Signature(1, _sign), "relu": Signature(1, lambda v: max(v, 0.0)),
    "clip": Signature(3, lambda v, lo, hi: min(max(v, lo), hi), usage="clip(x, lo, hi): x held to [lo, hi]"),
    "pow": Signature(2, math.pow, usage="pow(a, b) = a^b"), "hypot": Signature(2, math.hypot, usage="hypot(a, b)"),
    # where(condition, a, b): the condition is a comparison (`x < 0`), allowed only here.
    "where": Signature(3, _where, usage="where(x < 0, value if true, value if false)"),
}

# The comparisons a condition of `where` may use.
COMPARISONS = ("<", "<=", ">", ">=")

# Reductions: over the samples when their argument is a scalar (then only in `loss`), over
# the elements when it is a vector or matrix (anywhere): mean((y - Y)^2), sum(w^2).
REDUCTIONS = ("mean", "sum")

# Functions of vectors and matrices (besides the elementwise FUNCTIONS and the operator @), by arity.
VECTOR_FUNCTIONS = {"dot": 2}

# softmax(v) is a vector of v's size (its elements exp(v_k)/Σ_l exp(v_l)), logsumexp(v) the
# scalar log Σ_l exp(v_l): written out in index form by calculus/symbolic.py.
SOFTMAX_FUNCTIONS = {"softmax": "vector", "logsumexp": "scalar"}   # name -> shape of the result
VECTOR_FUNCTIONS = VECTOR_FUNCTIONS | dict.fromkeys(SOFTMAX_FUNCTIONS, 1)

# Every callable name and its number of arguments.
ARITY = {name: f.arity for name, f in FUNCTIONS.items()} | VECTOR_FUNCTIONS | dict.fromkeys(REDUCTIONS, 1)
CALLABLE = tuple(ARITY)

CONSTANTS = {"pi": math.pi, "e": math.e}

# Names other tools use for gd's functions, for a hint when one is called.
ALIASES = {"ln": "log", "log1p": "log(1 + ...)", "arcsin": "asin", "arccos": "acos",
           "arctan": "atan", "logistic": "sigmoid", "expit": "sigmoid", "square": "(...)^2", "fabs": "abs", "minimum": "min", "maximum": "max",
           "inner": "dot", "matmul": "W @ x", "norm": "sum(w^2)", "sumsq": "sum(w^2)",
           "clamp": "clip", "heaviside": "where(x > 0, 1, 0)", "step": "where(x > 0, 1, 0)",
           "select": "where", "if": "where", "ifelse": "where", "signum": "sign", "sgn": "sign"}

RESERVED = frozenset(KEYWORDS + CALLABLE + tuple(CONSTANTS))

# The rule for undeclared names when a file declares neither `param` nor `data` and no data
# names are given (`--data`, or a CSV header): a name is data when it starts with an
# uppercase letter (Y, X1, Weight) or is x or t, alone or followed by digits or `_...`
# (x, x2, x_height, t, t0). Every other undeclared name is a parameter.
_DATA_CONVENTION = re.compile(r"[A-Z].*|[xt]([0-9]+|_\w*)?")


def looks_like_data(name: str) -> bool:
    """Whether the naming rule takes an undeclared name as a data column."""
    return _DATA_CONVENTION.fullmatch(name) is not None
