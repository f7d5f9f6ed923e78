"""The sympy classes gdc adds: sigmoid, softplus, per-sample symbols and the reductions over the samples."""

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


# issue 14 (softmax): the stable log-sum-exp of a vector, for the registry at merge.
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
