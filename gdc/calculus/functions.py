"""The sympy classes gdc adds: sigmoid, softplus, per-sample symbols and the reductions over the samples
(`mean` and `SampleSum`, named apart from sympy.Sum, the sum over a vector's elements)."""

from __future__ import annotations

import sympy


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
