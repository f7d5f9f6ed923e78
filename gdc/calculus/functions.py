"""The sympy classes gdc adds: sigmoid, softplus, per-sample symbols and the reductions over the samples
(`mean` and `SampleSum`, named apart from sympy.Sum, the sum over a vector's elements)."""

from __future__ import annotations

import sympy
from sympy.concrete.expr_with_intlimits import ExprWithIntLimits


class sigmoid(sympy.Function):
    """The logistic function σ(z) = 1 / (1 + e^(−z)); σ'(z) = σ(z)(1 − σ(z))."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sympy.exp(-z))

    def _eval_is_real(self):
        return self.args[0].is_real


class softplus(sympy.Function):
    """softplus(z) = log(1 + e^z), a smooth relu; its derivative is σ(z)."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return sympy.log(1 + sympy.exp(z))

    def _eval_is_real(self):
        return self.args[0].is_real


class PerSample(sympy.Symbol):
    """A symbol with a value per sample: a data column, or a definition that depends on one."""


class SampleReduction(sympy.Function):
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


class mean(SampleReduction):
    """(1/N) Σᵢ of its argument."""


class SampleSum(SampleReduction):
    """Σᵢ of its argument (printed `sum`, so the JSON partials read like the gd language)."""

    def _sympystr(self, printer):
        return f"sum({printer._print(self.args[0])})"


# ---------------------------------------------------------------- the functions added with issue 14

def _number_log(u, base: int):
    """log_base(u) when it is rational (log10(100) = 2), else None: sympy keeps the call."""
    if u.is_number and u.is_positive:
        value = sympy.log(u, base)
        return value if value.is_Rational else None
    return None


class _BaseLog(sympy.Function):
    """log_b u for a fixed base b (a subclass's BASE); d/du log_b u = 1/(u·ln b)."""

    nargs = 1
    BASE = 10

    @classmethod
    def eval(cls, u):
        return _number_log(u, cls.BASE)

    def fdiff(self, argindex=1):
        return 1 / (self.args[0] * sympy.log(self.BASE))

    def _eval_rewrite_as_log(self, u, **kwargs):
        return sympy.log(u) / sympy.log(self.BASE)

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_is_real(self):
        return self.args[0].is_positive or None


class log10(_BaseLog):
    """The common logarithm; d/du log₁₀ u = 1/(u·ln 10)."""

    BASE = 10


class log2(_BaseLog):
    """The binary logarithm; d/du log₂ u = 1/(u·ln 2)."""

    BASE = 2


class relu(sympy.Function):
    """relu(u) = max(u, 0); its derivative is H(u), with H(0) = 1/2 as for max."""

    nargs = 1

    @classmethod
    def eval(cls, u):
        return sympy.Max(u, 0) if u.is_number else None

    def fdiff(self, argindex=1):
        return sympy.Heaviside(self.args[0])

    def _eval_rewrite_as_Max(self, u, **kwargs):
        return sympy.Max(u, 0)

    def _eval_is_real(self):
        return self.args[0].is_real


def clip_partials(x, lo, hi) -> tuple:
    """∂clip/∂x, ∂clip/∂lo, ∂clip/∂hi: each 1 on its own piece, 1/2 at an end (H(0) = 1/2).

    Those of min(max(x, lo), hi), written without the max where lo ≤ hi is known (constant
    ends): H(x − lo)·H(hi − x), H(lo − x), H(x − hi). Ends that may cross (clip(x, −1, b) for
    b < −1 is b) keep the max."""
    H = sympy.Heaviside
    if (hi - lo).is_nonnegative:
        return H(x - lo) * H(hi - x), H(lo - x), H(x - hi)
    low = sympy.Max(x, lo)
    return H(hi - low) * H(x - lo), H(hi - low) * H(lo - x), H(low - hi)


class clip(sympy.Function):
    """clip(x, lo, hi) = min(max(x, lo), hi): x held to [lo, hi]."""

    nargs = 3

    @classmethod
    def eval(cls, x, lo, hi):
        if x.is_number and lo.is_number and hi.is_number:
            return sympy.Min(sympy.Max(x, lo), hi)
        return None

    def fdiff(self, argindex=1):
        return clip_partials(*self.args)[argindex - 1]

    def _eval_rewrite_as_Max(self, x, lo, hi, **kwargs):
        return sympy.Min(sympy.Max(x, lo), hi)

    def _eval_is_real(self):
        return all(a.is_real for a in self.args) or None


def hypot_partials(a, b) -> tuple:
    """∂hypot/∂a = a/hypot(a, b), ∂hypot/∂b = b/hypot(a, b)."""
    return a / hypot(a, b), b / hypot(a, b)


class hypot(sympy.Function):
    """hypot(a, b) = √(a² + b²), computed without overflow."""

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a.is_number and b.is_number:
            return sympy.sqrt(a**2 + b**2)
        return None

    def fdiff(self, argindex=1):
        return hypot_partials(*self.args)[argindex - 1]

    def _eval_rewrite_as_sqrt(self, a, b, **kwargs):
        return sympy.sqrt(a**2 + b**2)

    _eval_rewrite_as_exp = _eval_rewrite_as_sqrt

    def _eval_is_real(self):
        return (self.args[0].is_real and self.args[1].is_real) or None


class where(sympy.Function):
    """where(u, v, a, b, t): a where u < v, b where u > v, t where u = v.

    The language's where(u < v, a, b) is where(u, v, a, b, b) and where(u <= v, a, b) is
    where(u, v, a, b, a); > and >= swap u and v. Its derivative is the where of the
    derivatives, with the average (a′ + b′)/2 on the boundary u = v (the kink convention of
    max, H(0) = 1/2); the condition's own jump is not differentiated (as sign′ = 0).
    """

    nargs = 5

    @classmethod
    def eval(cls, u, v, a, b, t):
        if a == b == t:
            return a
        gap = v - u
        if gap.is_extended_positive:
            return a
        if gap.is_extended_negative:
            return b
        if gap.is_zero:
            return t
        return None

    def _eval_derivative(self, s):
        u, v, a, b, _ = self.args
        da, db = a.diff(s), b.diff(s)
        return where(u, v, da, db, (da + db) / 2)

    def _eval_is_real(self):
        return all(arg.is_real for arg in self.args[2:]) or None

    @property
    def shown(self) -> tuple:
        """(left, relation, right, a, b) as the language writes it: `x > 0` rather than `0 < x`;
        `<=` when the boundary takes a, `<` otherwise (a derivative's average included)."""
        u, v, a, b, t = self.args
        strict = t != a or t == b
        if u.is_number and not v.is_number:
            return v, ">" if strict else ">=", u, a, b
        return u, "<" if strict else "<=", v, a, b

    def _sympystr(self, printer):
        left, relation, right, a, b = (printer._print(x) if not isinstance(x, str) else x for x in self.shown)
        return f"where({left} {relation} {right}, {a}, {b})"


# ---------------------------------------------------------------- the stable log-sum-exp of a vector

class LogSumExp(ExprWithIntLimits):
    """logsumexpₗ(zₗ) = M + log Σₗ exp(zₗ − M) with M = maxₗ zₗ: log Σₗ exp(zₗ), computed
    without overflow. The stable form of `log(Σₗ exp(zₗ))` (calculus.stable); the kernels
    compute it with the max shift, the verifier writes it out with the shift at fixed sizes."""

    is_real = True

    def __new__(cls, function, *limits, **assumptions):
        return ExprWithIntLimits.__new__(cls, function, *limits, **assumptions)

    def _eval_derivative(self, s):
        """∂/∂θ logsumexpₗ(zₗ) = Σₗ exp(zₗ − logsumexp)·∂zₗ/∂θ: softmax weights."""
        return sympy.Sum(sympy.exp(self.function - self) * sympy.diff(self.function, s), *self.limits)

    def written_out(self) -> sympy.Expr:
        """At a fixed size: M + log Σ exp(zₗ − M), M the Max of the elements (the shift shown)."""
        (k, lo, hi), = self.limits
        values = [self.function.xreplace({k: sympy.Integer(v)}) for v in range(int(lo), int(hi) + 1)]
        shift = sympy.Max(*values)
        return shift + sympy.log(sympy.Add(*(sympy.exp(v - shift) for v in values)))

    def naive(self) -> sympy.Expr:
        """log Σₗ exp(zₗ): the same value, as sympy's own functions."""
        return sympy.log(sympy.Sum(sympy.exp(self.function), *self.limits))
