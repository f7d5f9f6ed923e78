"""Sums and products laid out as in a textbook, shared by the text and LaTeX expression printers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy
from sympy import Mul, Pow

from gdc.calculus.functions import PerSample, SampleReduction, SampleSum, mean

if TYPE_CHECKING:
    from .outline import Math


def _degree(expr) -> int:
    if expr.is_Number:
        return 0
    if expr.is_Symbol or expr.is_Function:
        return 1
    if expr.is_Pow:
        return _degree(expr.base) * int(expr.exp) if expr.exp.is_Integer else 1
    if expr.is_Mul:
        return sum(_degree(f) for f in expr.args)
    if expr.is_Add:
        return max(_degree(t) for t in expr.args)
    return 1


def ordered_terms(expr) -> list:
    """Terms as a textbook orders them: added before subtracted, higher degree first."""
    return sorted(expr.args, key=lambda t: (t.as_coeff_Mul()[0].is_negative, -_degree(t),
                                            sympy.default_sort_key(t)))


def _factor_key(f, inside):
    if f in inside:  # p before (1 − p), σ(u) before (1 − σ(u))
        rank = 0
    elif (f.base if f.is_Pow else f).is_Symbol:
        rank = 2 if isinstance(f.base if f.is_Pow else f, PerSample) else 0
    elif f.is_Add:
        rank = 1
    else:
        rank = 3
    # ∂ℓ/∂y before ∂y/∂m: a chain is read from the loss towards the parameter.
    chain = 0 if not isinstance(f, sympy.Derivative) or isinstance(f.variables[0], PerSample) else 1
    return (rank, chain, sympy.default_sort_key(f))


def ordered_factors(factors) -> list:
    """As a textbook writes a product: a·(y − Y)·x, −Y·log(p), p(1 − p)·x."""
    inside = {t for f in factors if f.is_Add for t in f.args} | \
             {-t for f in factors if f.is_Add for t in f.args}
    return sorted(factors, key=lambda f: _factor_key(f, inside))


def flip_sign(c, rest):
    """−(Y − 1)·u reads better as (1 − Y)·u: move the sign into a lone two-term sum."""
    if not c.is_negative:
        return c, rest
    factors = Mul.make_args(rest)
    sums = [f for f in factors if f.is_Add]
    if len(sums) == 1 and len(sums[0].args) == 2:
        flipped = -sums[0]
        if any(t.is_Number and t.is_positive for t in flipped.args):
            return -c, Mul(*(flipped if f is sums[0] else f for f in factors))
    return c, rest


def is_reduction(expr) -> bool:
    return isinstance(expr, SampleReduction)


def decimal(r: sympy.Rational) -> str | None:
    """0.01 for 1/100: a fraction whose denominator has a factor 5 reads better as a decimal."""
    q = r.q
    if q == 1 or q % 5:
        return None
    for k in range(1, 16):
        if 10**k % q == 0:
            digits = str(abs(r.p) * (10**k // q)).rjust(k + 1, "0")
            return ("-" if r.p < 0 else "") + digits[:-k] + "." + digits[-k:]
    return None


class Layout:
    """Sums and products laid out as in a textbook; subclasses typeset the pieces.

    Mix into a sympy printer before it: the printer supplies `_print`; the subclass
    supplies `minus`, `times`, `paren`, `fraction`, `reduction_prefix`, `juxtapose`.
    """

    minus = "-"
    times = "*"

    def paren(self, text: str) -> str:
        return f"({text})"

    def fraction(self, num: str, den: str, num_compound: bool, den_compound: bool) -> str:
        raise NotImplementedError

    def reduction(self, kind, coeff: str, den: str, body: str) -> str:
        raise NotImplementedError

    def _print_Add(self, expr, **kwargs):
        out = []
        for k, term in enumerate(ordered_terms(expr)):
            c, rest = flip_sign(*term.as_coeff_Mul())
            negative = c.is_negative
            text = self.signed_product(-c if negative else c, rest)
            if k == 0:
                out.append(self.minus + text if negative else text)
            else:
                out.append(f" {self.minus} {text}" if negative else f" + {text}")
        return "".join(out)

    def _print_Mul(self, expr, **kwargs):
        c, rest = flip_sign(*expr.as_coeff_Mul())
        if c.is_negative:
            return self.minus + self.signed_product(-c, rest)
        return self.signed_product(c, rest)

    def relation(self, m: Math, equals: str, gets: str) -> str:
        """A Math chain: a = b = c, or for an update θ ← θ − s (θ + … when s is negative)."""
        if m.relation != "update":
            return equals.join(self._print(e) for e in m.chain)
        param, step = m.chain
        c, rest = step.as_coeff_Mul()
        sign, c = ("+", -c) if c.is_negative else (self.minus, c)
        name = self._print(param)
        return f"{name}{gets}{name} {sign} {self.signed_product(c, rest)}"

    def signed_product(self, c, rest) -> str:
        """A non-negative coefficient c times the product `rest`."""
        if rest == 1:
            return self._print(c)
        return self.product(c, Mul.make_args(rest))

    def factor(self, f, last: bool = False) -> str:
        """A factor of a product, bracketed where needed; a sum over elements reaches to the end."""
        text = self._print(f)
        if f.is_Add or (f.is_Mul and f.as_coeff_Mul()[0].is_negative) or is_reduction(f) \
                or (isinstance(f, sympy.Sum) and not last):
            return self.paren(text)
        return text

    def juxtapose(self, coeff: str, factors: list[str]) -> str:
        if not factors:
            return coeff
        body = self.times.join(factors)
        if not coeff:
            return body
        glue = self.times if body[:1].isdigit() or body.startswith(("Σ", r"\sum")) else ""
        return coeff + glue + body

    def product(self, c, factors) -> str:
        derivatives = [f for f in factors if isinstance(f, sympy.Derivative)]
        if derivatives and len(derivatives) < len(factors):  # f′(u)·du/dθ: the rule's shape
            rest = [f for f in factors if not isinstance(f, sympy.Derivative)]
            return self.times.join([self.product(c, rest)] + [self.factor(f) for f in derivatives])
        num, den = [], []
        for f in factors:
            if f.is_Pow and f.exp.is_Number and f.exp.is_negative:
                den.append(f.base if f.exp == -1 else Pow(f.base, -f.exp))
            else:
                num.append(f)
        if any(f.has(SampleReduction) for f in den):  # a ratio of sums: (Σ …)/(Σ …), not merged into 1/N
            num_text = self.signed_product(c, Mul(*num))
            den_text = self.product(sympy.S.One, den)
            return self.fraction(num_text, den_text, True, True)
        p, q = (c.p, c.q) if c.is_Rational else (c, 1)
        p_text = "" if p == 1 else self._print(sympy.Integer(p) if c.is_Rational else c)
        if c.is_Rational and q != 1 and decimal(c) is not None:
            p_text, q = self._print(c), 1
        reductions = [f for f in num if is_reduction(f)]
        others = ordered_factors([f for f in num if not is_reduction(f)])
        num_text = self.juxtapose(p_text, [self.factor(f, k == len(others) - 1) for k, f in enumerate(others)])
        den_factors = ordered_factors(den)
        den_text = self.juxtapose("" if q == 1 else str(q), [self.factor(f) for f in den_factors])
        if reductions:
            first, more = reductions[0], reductions[1:]
            text = self.reduction(type(first), num_text, den_text, self.reduction_body(first.args[0]))
            return self.times.join([text] + [self.paren(self._print(r)) for r in more])
        if not den_text:
            return num_text or "1"
        # A lone sum is passed bare: the text printer brackets it, LaTeX's \frac needs nothing.
        compound_num = len(others) == 1 and others[0].is_Add and p_text == ""
        if compound_num:
            num_text = self._print(others[0])
        compound_den = len(den_factors) + (q != 1) > 1
        if len(den_factors) == 1 and q == 1 and den_factors[0].is_Add:
            compound_den, den_text = True, self._print(den_factors[0])
        return self.fraction(num_text or "1", den_text, compound_num, compound_den)

    def reduction_body(self, body) -> str:
        text = self._print(body)
        return self.paren(text) if body.is_Add or (body.is_Mul and body.could_extract_minus_sign()) else text

    def _print_mean(self, expr, **kwargs):
        return self.reduction(mean, "", "", self.reduction_body(expr.args[0]))

    def _print_SampleSum(self, expr, **kwargs):
        return self.reduction(SampleSum, "", "", self.reduction_body(expr.args[0]))

    def _print_Sum(self, expr, **kwargs):   # Σ over a vector's elements, several indices: the outermost first
        text = self.reduction_body(expr.function)
        for k, _, _ in expr.limits:
            text = self.element_sum(self._print(k), text)
        return text

    def element_sum(self, index: str, body: str) -> str:
        raise NotImplementedError

    def _print_LogSumExp(self, expr, **kwargs):   # issue 14: logsumexpₗ(zₗ), the stable form
        return self.log_sum_exp(self._print(expr.limits[0][0]), self._print(expr.function))

    def log_sum_exp(self, index: str, body: str) -> str:
        raise NotImplementedError

    def indices(self, expr) -> list[str]:
        """The subscripts of an element: i first for data (a sample's row), then its indices."""
        label = expr.base.label
        return (["i"] if isinstance(label, PerSample) else []) + [str(k) for k in expr.indices]
