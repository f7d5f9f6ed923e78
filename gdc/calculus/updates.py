"""The update rules of a derivation: batch and per-sample gradient descent, and the classic form
that names the residual Error and folds a constant factor into the learning rate."""

from __future__ import annotations

from typing import Callable, Mapping

import sympy
from sympy import Add, Mul, S

from .derivation import ERROR, Update
from .simplify import per_sample
from .symbolic import SymbolicModel
from .verify import derivative


def update_rules(param, gradient, compact, model: SymbolicModel, bodies: Mapping, full: Callable,
                 shown: Callable) -> tuple[Update, sympy.Expr]:
    """The update rules of one parameter, and its per-sample gradient over parameters and data;
    `full` writes the definitions out, `shown` checks two forms equal (derive._shown)."""
    sample = per_sample(compact)
    expected = derivative(per_sample(model.loss), param)
    whole = per_sample(gradient)
    failure = lambda: f"the per-sample gradient for {param} does not match sympy.diff"  # noqa: E731
    ok = shown(whole, expected, failure) & shown(full(sample), expected, failure)
    if sample == 0:   # the loss does not depend on it: there is nothing to fold or name
        return Update(param, gradient, sample, verified=ok), whole
    coeff, rest = sample.as_coeff_Mul()
    factor = abs(coeff) if coeff.is_Rational and abs(coeff) != 1 else S.One
    sign = -1 if coeff.is_negative else 1
    error, named = residual(rest, set(model.data), bodies)
    if factor == 1 and error is None:
        return Update(param, gradient, sample, verified=ok), whole
    folded = sign * (rest if named is None else rest.xreplace(named))
    return Update(param, gradient, sample, factor, error, folded, ok), whole


def residual(product, data: set, bodies: Mapping):
    """A factor prediction − target (or a `let` for it), which classic SGD calls Error."""
    for factor in Mul.make_args(product):
        value = bodies.get(factor, factor)
        if not (value.is_Add and len(value.args) == 2):
            continue
        for sign in (1, -1):
            terms = Add.make_args(sign * value)
            plus = [t for t in terms if not t.could_extract_minus_sign()]
            minus = [-t for t in terms if t.could_extract_minus_sign()]
            if len(plus) == 1 and len(minus) == 1 and minus[0] in data and plus[0] in bodies:
                return plus[0] - minus[0], {factor: sign * ERROR}
    return None, None
