"""The vocabulary of the gd language: keywords, functions, constants and the naming rule."""

from __future__ import annotations

import re

KEYWORDS = ("param", "data", "size", "let", "model", "loss")

# Functions of one argument unless listed in ARITY.
FUNCTIONS = ("exp", "log", "sqrt", "abs", "sin", "cos", "tan", "asin", "acos", "atan",
             "sinh", "cosh", "tanh", "sigmoid", "softplus", "min", "max")
ARITY = {name: 1 for name in FUNCTIONS} | {"min": 2, "max": 2}

# Reductions: over the samples when their argument is a scalar (then only in `loss`), over
# the elements when it is a vector or matrix (anywhere): mean((y - Y)^2), sum(w^2).
REDUCTIONS = ("mean", "sum")

# Functions of vectors and matrices (besides the elementwise FUNCTIONS and the operator @).
VECTOR_FUNCTIONS = ("dot",)
ARITY = ARITY | {"dot": 2}

# issue 14 (softmax): functions of one vector. softmax(v) is a vector of v's size (its
# elements exp(v_k)/Σ_l exp(v_l)), logsumexp(v) the scalar log Σ_l exp(v_l). To be moved into
# the function registry with the rest of this file's tables.
SOFTMAX_FUNCTIONS = {"softmax": "vector", "logsumexp": "scalar"}   # name -> shape of the result
VECTOR_FUNCTIONS = VECTOR_FUNCTIONS + tuple(SOFTMAX_FUNCTIONS)
ARITY = ARITY | {name: 1 for name in SOFTMAX_FUNCTIONS}

CONSTANTS = ("pi", "e")

# Names other tools use for gd's functions, for a hint when one is called.
ALIASES = {"ln": "log", "log1p": "log(1 + ...)", "arcsin": "asin", "arccos": "acos",
           "arctan": "atan", "logistic": "sigmoid", "expit": "sigmoid", "relu": "max(0, ...)",
           "pow": "a^b", "square": "(...)^2", "fabs": "abs", "minimum": "min", "maximum": "max",
           "inner": "dot", "matmul": "W @ x", "norm": "sum(w^2)", "sumsq": "sum(w^2)"}

RESERVED = frozenset(KEYWORDS + FUNCTIONS + VECTOR_FUNCTIONS + REDUCTIONS + CONSTANTS)

# The rule for undeclared names when a file declares neither `param` nor `data` and no data
# names are given (`--data`, or a CSV header): a name is data when it starts with an
# uppercase letter (Y, X1, Weight) or is x or t, alone or followed by digits or `_...`
# (x, x2, x_height, t, t0). Every other undeclared name is a parameter.
_DATA_CONVENTION = re.compile(r"[A-Z].*|[xt]([0-9]+|_\w*)?")


def looks_like_data(name: str) -> bool:
    """Whether the naming rule takes an undeclared name as a data column."""
    return _DATA_CONVENTION.fullmatch(name) is not None
