"""sympy expressions to Python expressions that numba compiles well: the kernels' printer.

Every name in the output is either fixed by gdc (`math`, the `_helpers` below, locals such as
`inv_n`) or a mangled user name (`p_m`, `d_x`, ...); the printer is given that mapping and
never prints a symbol it was not told about. Kinks follow DESIGN.md: sign(0) = 0, and
Heaviside(0) is its second argument (sympy's default 1/2).
"""

from __future__ import annotations

import re
from typing import Mapping

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from gdc.calculus.catalog import BY_CLASS
from gdc.errors import InternalError

# Prefixes of names derived from user names; fixed names never take the form `<prefix>_...`.
PARAM, DATA_ARRAY, DATA_VALUE = "p_", "d_", "di_"

# Module-level helpers of every generated module; NaN goes in, NaN comes out, everywhere.
# exp and log are gdc's own, branch-free, so that loops calling them vectorize (libm's do
# not): exp within 1 ulp of libm's, log and log1p within 2 ulp (tests/codegen/test_scalar.py).
# They are compiled without `reassoc`, which would undo their extra-precise range reduction.
HELPERS = '''
@numba.njit(**_JIT_EXACT)
def _exp(x):
    # e**x = 2**k * e**r, k = round(x / ln 2), r = x - k ln 2 in two parts (Cody-Waite)
    xc = x if x < 1418.0 else 1418.0
    xc = xc if xc > -1416.0 else -1416.0
    kb = xc * 1.4426950408889634 + 6755399441055744.0  # k in the low bits of kb
    k = kb - 6755399441055744.0
    r = xc - k * 0.6931471803691238
    r = r - k * 1.9082149292705877e-10
    p = 1.6059043836821613e-10  # Taylor series of e**r to r**13, |r| <= ln 2 / 2
    p = p * r + 2.08767569878681e-09
    p = p * r + 2.505210838544172e-08
    p = p * r + 2.755731922398589e-07
    p = p * r + 2.755731922398589e-06
    p = p * r + 2.48015873015873e-05
    p = p * r + 0.0001984126984126984
    p = p * r + 0.001388888888888889
    p = p * r + 0.008333333333333333
    p = p * r + 0.041666666666666664
    p = p * r + 0.16666666666666666
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    ki = np.float64(kb).view(np.int64) - 4843621399236968448
    half = ki >> 1  # 2**k in two factors, so that k beyond the exponent range still works
    y = p * np.int64((half + 1023) << 52).view(np.float64)
    y = y * np.int64((ki - half + 1023) << 52).view(np.float64)
    return y if x == x else x


@numba.njit(**_JIT_EXACT)
def _log_normal(a):
    # log a for a normal a > 0: a = 2**e * m, m in [0.707, 1.414), log m = 2 atanh(s)
    bits = np.float64(a).view(np.int64)
    # the exponent as a float without an int-to-float conversion (AVX2 has none for int64)
    ef = np.int64(((bits >> 52) & 2047) | 4841369599423283200).view(np.float64) - 4503599627371519.0
    m = np.int64((bits & 4503599627370495) | 4607182418800017408).view(np.float64)
    big = m > 1.4142135623730951
    m = m * 0.5 if big else m
    ef = ef + 1.0 if big else ef
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = 0.047619047619047616  # 1/21, ..., 1/3: atanh(s)/s - 1 = z/3 + z**2/5 + ...
    p = p * z + 0.05263157894736842
    p = p * z + 0.058823529411764705
    p = p * z + 0.06666666666666667
    p = p * z + 0.07692307692307693
    p = p * z + 0.09090909090909091
    p = p * z + 0.1111111111111111
    p = p * z + 0.14285714285714285
    p = p * z + 0.2
    p = p * z + 0.3333333333333333
    return ef * 0.6931471803691238 + (ef * 1.9082149292705877e-10 + 2.0 * s + 2.0 * s * z * p)


@numba.njit(**_JIT_EXACT)
def _log(x):
    tiny = x < 2.2250738585072014e-308  # subnormal: scale by 2**54 first
    y = _log_normal(x * 18014398509481984.0 if tiny else x)
    y = y - 37.42994775023705 if tiny else y
    y = y if x > 0.0 else (-math.inf if x == 0.0 else math.nan)
    return y if x < math.inf else x


@numba.njit(**_JIT_EXACT)
def _log1p(u):
    a = 1.0 + u
    y = _log_normal(a) + (u - (a - 1.0)) / a  # the second term corrects the rounding of 1 + u
    y = y if u > -1.0 else (-math.inf if u == -1.0 else math.nan)
    return y if u < math.inf else u


@numba.njit(**_JIT_EXACT)
def _sigmoid(z):
    e = _exp(-abs(z))
    s = 1.0 / (1.0 + e)
    return s if z >= 0.0 else e * s


@numba.njit(**_JIT_EXACT)
def _sign(z):
    if z > 0.0:
        return 1.0
    if z < 0.0:
        return -1.0
    return z * 0.0


@numba.njit(**_JIT_EXACT)
def _heaviside(z, at_zero):
    if z > 0.0:
        return 1.0
    if z < 0.0:
        return 0.0
    return at_zero + z * 0.0


@numba.njit(**_JIT_EXACT)
def _max(a, b):
    if a > b:
        return a
    if b >= a:
        return b
    return a + b


@numba.njit(**_JIT_EXACT)
def _min(a, b):
    if a < b:
        return a
    if b <= a:
        return b
    return a + b
'''
HELPER_NAMES = frozenset(re.findall(r"^def (\w+)", HELPERS, re.M))

# Kernel forms of the functions codegen itself writes (a stable softplus); the language's are in
# the catalog.
_CODEGEN_FUNCTIONS = {"log1p": "_log1p"}


class KernelPrinter(StrPrinter):
    """Prints one expression as Python source over the names it was given."""

    printmethod = "_gdc_kernel"   # not str()'s `_sympystr`: where's gd form is no Python

    def __init__(self, names: Mapping[sympy.Symbol, str]):
        super().__init__({"order": None})
        self.names = names

    # ---------------------------------------------------------------- atoms

    def _print_Symbol(self, expr):
        try:
            return self.names[expr]
        except KeyError:
            raise InternalError(f"codegen: no name for symbol {expr!r}") from None

    _print_Dummy = _print_Symbol

    def _print_Integer(self, expr):
        return repr(float(expr.p))

    def _print_Rational(self, expr):
        return repr(float(expr.p) / float(expr.q)) if expr.q != 1 else repr(float(expr.p))

    def _print_Float(self, expr):
        return repr(float(expr))

    _print_Zero = _print_One = _print_NegativeOne = _print_Integer
    _print_Half = _print_Rational

    def _print_Exp1(self, expr):
        return "math.e"

    def _print_Pi(self, expr):
        return "math.pi"

    def _print_NaN(self, expr):
        return "math.nan"

    _print_ComplexInfinity = _print_NaN

    def _print_Infinity(self, expr):
        return "math.inf"

    def _print_NegativeInfinity(self, expr):
        return "(-math.inf)"

    # ---------------------------------------------------------------- operators

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.args
        if exponent == sympy.S.Half:
            return f"math.sqrt({self._print(base)})"
        if exponent == -sympy.S.Half:
            return f"(1.0/math.sqrt({self._print(base)}))"
        if exponent.is_Integer:
            return self._integer_power(base, int(exponent))
        b = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        if exponent.is_Number and exponent >= 0:
            return f"{b}**{self._print(exponent)}"
        return f"{b}**({self._print(exponent)})"

    def _integer_power(self, base, n: int) -> str:
        if n < 0:
            return f"(1.0/{self._integer_power(base, -n)})"
        if n == 0:
            return "1.0"
        if n == 1:
            return self.parenthesize(base, PRECEDENCE["Mul"], strict=False)
        if base.is_Atom and n <= 4:  # a few multiplications beat a call to pow
            b = self._print(base)
            return "(" + "*".join([b] * n) + ")"
        return f"{self.parenthesize(base, PRECEDENCE['Pow'], strict=True)}**{n}"

    def _print_Relational(self, expr):
        ops = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
        return f"({self._print(expr.lhs)} {ops[expr.rel_op]} {self._print(expr.rhs)})"

    def _print_And(self, expr):
        return "(" + " and ".join(self._print(a) for a in expr.args) + ")"

    def _print_Or(self, expr):
        return "(" + " or ".join(self._print(a) for a in expr.args) + ")"

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"

    def _print_Piecewise(self, expr):
        text = "math.nan"
        for value, cond in reversed(expr.args):
            text = f"({self._print(value)} if {self._print(cond)} else {text})"
        return text

    # ---------------------------------------------------------------- functions

    def _print_Function(self, expr):
        entry = BY_CLASS.get(type(expr))
        kernel = entry.kernel if entry is not None else _CODEGEN_FUNCTIONS.get(type(expr).__name__)
        if not kernel:
            raise InternalError(f"codegen: cannot print the function {type(expr).__name__}")
        return f"{kernel}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        at_zero = expr.args[1] if len(expr.args) > 1 else sympy.S.Half
        return f"_heaviside({self._print(expr.args[0])}, {self._print(at_zero)})"

    def _print_softplus(self, expr):
        # written out, not a call to _softplus: LLVM then inlines _exp and _log1p one by one
        # (a helper holding both is too big to inline, and a call stops the loop vectorizing)
        z = self._print(expr.args[0])
        return f"(max({z}, 0.0) + _log1p(_exp(-abs({z}))))"

    def _print_Max(self, expr):
        return self._fold(BY_CLASS[type(expr)].kernel, expr.args)

    # The functions of issue 14 written out from the helpers every module has (none of their own).
    def _print_relu(self, expr):
        return f"_max({self._print(expr.args[0])}, 0.0)"

    def _print_clip(self, expr):
        x, lo, hi = (self._print(a) for a in expr.args)
        return f"_min(_max({x}, {lo}), {hi})"

    def _print_where(self, expr):
        # Python's conditional: only the piece taken is computed, so log(x) in a piece taken
        # for x > 0 alone is never NaN·0 elsewhere. An unordered (NaN) comparison gives NaN.
        u, v, a, b, t = (self._print(arg) for arg in expr.args)
        return f"({a} if {u} < {v} else ({b} if {u} > {v} else ({t} if {u} == {v} else math.nan)))"

    _print_Min = _print_Max

    def _fold(self, helper: str, args) -> str:
        text = self._print(args[0])
        for arg in args[1:]:
            text = f"{helper}({text}, {self._print(arg)})"
        return text

    def _print_mean(self, expr):  # the reductions (mean, SampleSum, sympy.Sum) are accumulated, never printed
        raise InternalError("codegen: a reduction reached the printer")

    _print_SampleSum = _print_Sum = _print_mean

    def _print_Basic(self, expr):
        raise InternalError(f"codegen: cannot print {type(expr).__name__}")

    def emptyPrinter(self, expr):
        raise InternalError(f"codegen: cannot print {expr!r}")
