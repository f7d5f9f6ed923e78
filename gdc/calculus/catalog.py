"""The functions gdc knows, one entry each: sympy class, derivative, precise value, kernel form, names.

A function of the language is its `Signature` in gdc/language/vocabulary.py (arity and float
value: the language sits below sympy) and its `Entry` here, under the same name; every other
stage reads these two. The derivative rule (rules/functions.FunctionRule), the verifier's
points (verify.py), the sympy form of a call (symbolic.py), the kernel printer
(codegen/printer.py) and the text and LaTeX printers (explain/) have no table of their own.
Adding `erf` is one Signature, one Entry and its tests.

A few entries have no language name: functions that sympy's derivatives bring in (sign,
Heaviside, and re, im, arg, atan2 where sympy cannot tell that an argument is real), which
the verifier must evaluate and the printers must show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import mpmath
import sympy

from gdc.errors import InternalError
from gdc.language.vocabulary import FUNCTIONS
from .functions import clip, clip_partials, hypot, hypot_partials, log2, log10, relu, sigmoid, softplus, where


@dataclass(frozen=True)
class Entry:
    """One function: how sympy builds it and how every stage after the language treats it."""

    name: str                     # as the language writes it; "" for one only derivatives bring in
    make: Callable                # builds f(args) in sympy (a class, or sympy.sqrt which builds a power)
    precise: Callable             # its value in mpmath, for the verifier's many-digit points
    derivative: Callable | None = None   # f′(u) of a smooth function of one argument: its FunctionRule
    statement: str = ""           # that rule as mathematics, "d/du eᵘ = eᵘ"
    note: str = ""                # the convention at a kink, shown beside the step
    analytic: bool = True         # complex points may compare it (kinks and re/im may not)
    kernel: str = ""              # the callable the kernels print, "math.sin" or a helper "_exp"; "" if printed
    #                               by a method of codegen's printer (abs, max, softplus written out …)
    text: str = ""                # its name in text when that is not `name` ("σ")
    latex: str = ""               # its LaTeX name when sympy's is not right ("\sigma")
    power_name: bool = False      # a power prints on the name, sin²(x), as textbooks write it
    real: Callable | None = field(default=None)   # its float value; by default the language's
    partials: Callable | None = None   # ∂f/∂a, ∂f/∂b, … of a function of several arguments: its ArgumentsRule

    @property
    def cls(self) -> type | None:
        """The sympy class of f(u), when it is one (sqrt builds a power, so it has none)."""
        return self.make if isinstance(self.make, type) else None

    def value(self, *args: float) -> float:
        """Its float value (ValueError, ArithmeticError outside its domain)."""
        return (self.real or FUNCTIONS[self.name].value)(*args)


def _where_value(u, v, a, b, t):
    return a if u < v else b if u > v else t


def _arg(x, pi):
    if x == 0:
        raise ValueError("arg(0) is not defined")
    return 0 * pi if x > 0 else pi


ENTRIES: tuple[Entry, ...] = (
    Entry("exp", sympy.exp, mpmath.exp, lambda u: sympy.exp(u), "d/du eᵘ = eᵘ", kernel="_exp"),
    Entry("log", sympy.log, mpmath.log, lambda u: 1 / u, "d/du ln u = 1/u", kernel="_log"),
    Entry("sqrt", sympy.sqrt, mpmath.sqrt),   # a power u^(1/2): the sqrt rule is a power rule
    Entry("sin", sympy.sin, mpmath.sin, lambda u: sympy.cos(u), "d/du sin u = cos u",
          kernel="math.sin", power_name=True),
    Entry("cos", sympy.cos, mpmath.cos, lambda u: -sympy.sin(u), "d/du cos u = −sin u",
          kernel="math.cos", power_name=True),
    Entry("tan", sympy.tan, mpmath.tan, lambda u: 1 + sympy.tan(u) ** 2, "d/du tan u = 1 + tan²u",
          kernel="math.tan", power_name=True),
    Entry("asin", sympy.asin, mpmath.asin, lambda u: 1 / sympy.sqrt(1 - u**2), "d/du asin u = 1/√(1 − u²)",
          kernel="math.asin"),
    Entry("acos", sympy.acos, mpmath.acos, lambda u: -1 / sympy.sqrt(1 - u**2), "d/du acos u = −1/√(1 − u²)",
          kernel="math.acos"),
    Entry("atan", sympy.atan, mpmath.atan, lambda u: 1 / (1 + u**2), "d/du atan u = 1/(1 + u²)",
          kernel="math.atan"),
    Entry("sinh", sympy.sinh, mpmath.sinh, lambda u: sympy.cosh(u), "d/du sinh u = cosh u",
          kernel="math.sinh", power_name=True),
    Entry("cosh", sympy.cosh, mpmath.cosh, lambda u: sympy.sinh(u), "d/du cosh u = sinh u",
          kernel="math.cosh", power_name=True),
    Entry("tanh", sympy.tanh, mpmath.tanh, lambda u: 1 - sympy.tanh(u) ** 2, "d/du tanh u = 1 − tanh²u",
          kernel="math.tanh", power_name=True),
    Entry("sigmoid", sigmoid, lambda z: 1 / (1 + mpmath.exp(-z)), lambda u: sigmoid(u) * (1 - sigmoid(u)),
          "d/du σ(u) = σ(u)·(1 − σ(u))", kernel="_sigmoid", text="σ", latex=r"\sigma", power_name=True),
    Entry("softplus", softplus, lambda z: mpmath.log(1 + mpmath.exp(z)), lambda u: sigmoid(u),
          "d/du softplus(u) = σ(u)", latex=r"\operatorname{softplus}"),
    Entry("log10", log10, mpmath.log10, lambda u: 1 / (u * sympy.log(10)), "d/du log₁₀ u = 1/(u·ln 10)",
          kernel="math.log10", latex=r"\log_{10}"),
    Entry("log2", log2, lambda x: mpmath.log(x, 2), lambda u: 1 / (u * sympy.log(2)), "d/du log₂ u = 1/(u·ln 2)",
          kernel="math.log2", latex=r"\log_{2}"),
    Entry("erf", sympy.erf, mpmath.erf, lambda u: 2 * sympy.exp(-u**2) / sympy.sqrt(sympy.pi),
          "d/du erf u = 2/√π·e^(−u²)", kernel="math.erf"),
    Entry("pow", lambda a, b: a**b, lambda a, b: a**b),   # a power a^b: the power rules take it
    Entry("hypot", hypot, lambda a, b: mpmath.sqrt(a**2 + b**2), kernel="math.hypot", latex=r"\operatorname{hypot}",
          partials=hypot_partials, statement="∂/∂a hypot(a, b) = a/hypot(a, b), ∂/∂b hypot(a, b) = b/hypot(a, b)"),
    # The kinks: real points only, and the convention of DESIGN.md at the kink.
    Entry("abs", sympy.Abs, abs, lambda u: sympy.sign(u), "d/du |u| = sign(u), with sign(0) = 0",
          note="sign(0) = 0: at the kink, the average of the one-sided slopes −1 and 1", analytic=False),
    Entry("max", sympy.Max, max, analytic=False, kernel="_max"),
    Entry("min", sympy.Min, min, analytic=False, kernel="_min"),
    Entry("sign", sympy.sign, mpmath.sign, lambda u: sympy.S.Zero, "d/du sign(u) = 0",
          note="0 at u = 0 too: the jump is not differentiated (the average of the one-sided slopes 0 and 0)",
          analytic=False, kernel="_sign", latex=r"\operatorname{sign}"),
    Entry("relu", relu, lambda x: max(x, 0 * x), lambda u: sympy.Heaviside(u), "d/du relu(u) = H(u)",
          note="H(0) = 1/2: at the kink, the average of the one-sided slopes 0 and 1", analytic=False,
          latex=r"\operatorname{relu}"),
    Entry("clip", clip, lambda x, lo, hi: min(max(x, lo), hi), analytic=False, partials=clip_partials,
          latex=r"\operatorname{clip}",
          statement="d/dθ clip(x, lo, hi) = x′·H(x − lo)·H(hi − x) + lo′·H(lo − x) + hi′·H(x − hi) for lo ≤ hi",
          note="H(0) = 1/2: at an end, the average of the one-sided derivatives"),
    Entry("where", where, _where_value, analytic=False, real=_where_value,
          statement="d/dθ where(u < v, a, b) = where(u < v, a′, b′)",
          note="on the boundary, the average of the two pieces' derivatives (as for max at a tie); "
               "the jump of the condition itself is not differentiated"),
    Entry("", sympy.Heaviside, lambda x, h=0.5: mpmath.mpf(h) if x == 0 else mpmath.mpf(x > 0), analytic=False,
          text="H", latex="H", real=lambda x, h=0.5: h if x == 0 else float(x > 0)),
    # What sympy.diff leaves of |u| where it cannot tell that u is real (|acos(m) + b|): never in a kernel.
    Entry("", sympy.re, lambda x: x, analytic=False, real=lambda x: x),
    Entry("", sympy.im, lambda x: mpmath.mpf(0), analytic=False, real=lambda x: 0.0),
    Entry("", sympy.conjugate, lambda x: x, analytic=False, real=lambda x: x),
    Entry("", sympy.atan2, mpmath.atan2, analytic=False, kernel="math.atan2", real=math.atan2),
    Entry("", sympy.arg, lambda x: _arg(x, mpmath.pi), analytic=False, real=lambda x: _arg(x, math.pi)),
)

BY_NAME: dict[str, Entry] = {e.name: e for e in ENTRIES if e.name}
BY_CLASS: dict[type, Entry] = {e.cls: e for e in ENTRIES if e.cls is not None}

if set(BY_NAME) != set(FUNCTIONS):   # a function must be both a Signature and an Entry
    raise InternalError(f"the catalog and the vocabulary disagree: {sorted(set(BY_NAME) ^ set(FUNCTIONS))}")
