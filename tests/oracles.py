"""Oracles that use nothing of gdc: a reference evaluator of sympy expressions, written from the
meaning of each node (loops over the samples and over the elements of a sum), the gradient of a
loss by the chain rule through its reductions, and central differences.

The evaluator knows gdc's reductions and functions by their class names only (`mean`, `SampleSum`,
`sigmoid`, `softplus`), so gdc's expressions and the tests' own sympy can be evaluated alike;
it imports nothing from gdc. Values are float64 (math), or mpmath numbers at the working
precision with `precise=True`. A value that is not a finite real number raises ValueError.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import sympy


class mean(sympy.Function):
    """The tests' own mean over the samples (distinct from gdc's)."""


class SampleSum(sympy.Function):
    """The tests' own sum over the samples (distinct from gdc's, and from sympy.Sum)."""


def _sign(x):
    return 0.0 if x == 0 else (1.0 if x > 0 else -1.0)


def _heaviside(x, at_zero=0.5):
    return at_zero if x == 0 else (1.0 if x > 0 else 0.0)


def _dirac(x):
    """sympy's derivative of a jump: 0 wherever it exists (the kink convention)."""
    if x == 0:
        raise ValueError("a delta at its jump")
    return 0 * x


# gdc's functions of issue 14 by their printed names, the same in float64 and in mpmath
# (`where` and sympy's Piecewise are evaluated lazily, in Evaluator._eval).
_SHARED = {
    "relu": lambda x: max(x, 0 * x), "clip": lambda x, lo, hi: min(max(x, lo), hi),
    "DiracDelta": _dirac,
}


_MATH = {
    "exp": math.exp, "log": math.log, "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "asin": math.asin, "acos": math.acos, "atan": math.atan, "sinh": math.sinh, "cosh": math.cosh,
    "tanh": math.tanh, "Abs": abs, "sign": _sign, "Heaviside": _heaviside, "Max": max, "Min": min,
    "sigmoid": lambda z: 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z)),
    "softplus": lambda z: max(z, 0.0) + math.log1p(math.exp(-abs(z))),
    "re": lambda x: x, "im": lambda x: 0.0, "conjugate": lambda x: x, "atan2": math.atan2,
    "arg": lambda x: math.atan2(0.0, x) if x != 0 else math.nan,
    "log10": math.log10, "log2": math.log2, "erf": math.erf, "hypot": math.hypot, **_SHARED,
}
_MPMATH = {
    "exp": mpmath.exp, "log": mpmath.log, "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan,
    "asin": mpmath.asin, "acos": mpmath.acos, "atan": mpmath.atan, "sinh": mpmath.sinh,
    "cosh": mpmath.cosh, "tanh": mpmath.tanh, "Abs": abs, "sign": mpmath.sign,
    "Heaviside": lambda x, at_zero=0.5: mpmath.mpf(at_zero) if x == 0 else mpmath.mpf(x > 0),
    "Max": max, "Min": min,
    "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)), "softplus": lambda z: mpmath.log(1 + mpmath.exp(z)),
    "re": lambda x: x, "im": lambda x: 0 * x, "conjugate": lambda x: x, "atan2": mpmath.atan2,
    "arg": lambda x: mpmath.atan2(0, x) if x != 0 else mpmath.nan,
    "log10": mpmath.log10, "log2": lambda x: mpmath.log(x, 2), "erf": mpmath.erf,
    "hypot": lambda a, b: mpmath.sqrt(a * a + b * b), **_SHARED,
}


def _is_sample_reduction(e) -> str | None:
    name = type(e).__name__
    if name in ("mean", "SampleSum"):
        return name
    return None


class Evaluator:
    """Values of expressions at one point: `values` maps each name to a number (a parameter, a
    size, a free index) or an array (a vector or matrix parameter); `data` maps each data name
    to its column (N,) or rows (N, d). A data name outside a reduction takes `row`."""

    def __init__(self, values: dict, data: dict, precise: bool = False, row: int | None = None):
        self.values, self.data, self.precise, self.row = values, data, precise, row
        self.rows = len(next(iter(data.values()))) if data else 0
        self.lib = _MPMATH if precise else _MATH

    def number(self, x):
        return mpmath.mpf(x) if self.precise else float(x)

    def __call__(self, expr) -> float:
        found = self._eval(expr, self.row, {})
        if self.precise:
            if isinstance(found, mpmath.mpc) or not mpmath.isfinite(found):
                raise ValueError("not a finite real number")
        elif not math.isfinite(found):
            raise ValueError("not a finite real number")
        return found

    def _leaf(self, name: str, row, bound):
        if name in bound:
            return bound[name]
        if name in self.values:
            return self.number(self.values[name]) if np.ndim(self.values[name]) == 0 else self.values[name]
        if name in self.data:
            if row is None:
                raise KeyError(f"the data name {name} outside a reduction, with no row")
            column = self.data[name]
            return self.number(column[row]) if column.ndim == 1 else column[row]
        raise KeyError(f"no value for {name}")

    def _eval(self, e, row, bound):
        if e.is_Symbol:
            return self._leaf(e.name, row, bound)
        if e.is_Integer:
            return int(e)
        if e.is_Rational:
            return mpmath.mpf(e.p) / e.q if self.precise else e.p / e.q
        if e.is_Number or e.is_NumberSymbol:
            if not e.is_finite or not e.is_extended_real:
                raise ValueError("not a finite number")
            return mpmath.mpf(e.evalf(mpmath.mp.dps)) if self.precise else float(e)
        kind = _is_sample_reduction(e)
        if kind:
            total = sum(self._eval(e.args[0], i, bound) for i in range(self.rows))
            return total / self.rows if kind == "mean" else total
        if isinstance(e, sympy.Sum):
            return self._element_sum(e.function, list(e.limits), row, bound)
        if isinstance(e, sympy.Indexed):
            array = self._leaf(e.base.label.name, row, bound)
            return self.number(array[tuple(int(self._eval(i, row, bound)) for i in e.indices)])
        if isinstance(e, sympy.KroneckerDelta):
            return int(self._eval(e.args[0], row, bound) == self._eval(e.args[1], row, bound))
        if isinstance(e, sympy.Piecewise):   # lazily: only the piece taken is evaluated
            for value, condition in e.args:
                if self._eval(condition, row, bound):
                    return self._eval(value, row, bound)
            raise ValueError("no piece of the Piecewise holds")
        if isinstance(e, sympy.logic.boolalg.BooleanAtom):
            return bool(e)
        if isinstance(e, sympy.core.relational.Relational):
            return _RELATIONS[e.rel_op](self._eval(e.lhs, row, bound), self._eval(e.rhs, row, bound))
        if type(e).__name__ == "where":   # gdc's where(u, v, a, b, t): a if u < v, b if u > v, t at u = v
            u, v = self._eval(e.args[0], row, bound), self._eval(e.args[1], row, bound)
            return self._eval(e.args[2] if u < v else e.args[3] if u > v else e.args[4], row, bound)
        args = [self._eval(a, row, bound) for a in e.args]
        if e.is_Add:
            result = sum(args[1:], args[0])
        elif e.is_Mul:
            result = args[0]
            for a in args[1:]:
                result = result * a
        elif e.is_Pow:
            base, power = args
            if not self.precise and base < 0 and not float(power).is_integer():
                raise ValueError("a fractional power of a negative number")
            result = base ** power
        else:
            name = type(e).__name__
            if name not in self.lib:
                raise TypeError(f"the oracle cannot evaluate {name}")
            result = self.lib[name](*args)
        if isinstance(result, (complex, mpmath.mpc)):
            raise ValueError("not a real number")
        return result

    def _element_sum(self, body, limits, row, bound):
        (k, lo, hi), rest = limits[0], limits[1:]
        total = 0
        for v in range(int(self._eval(lo, row, bound)), int(self._eval(hi, row, bound)) + 1):
            inner = {**bound, k.name: v}
            total += self._element_sum(body, rest, row, inner) if rest else self._eval(body, row, inner)
        return total


def gradient(loss: sympy.Expr, param: sympy.Symbol) -> sympy.Expr:
    """∂J/∂θ by the chain rule through the reductions over the samples, which are linear:
    J = F(R₁(ℓ₁), …, θ) gives ∂F/∂θ + Σₖ ∂F/∂Rₖ · Rₖ(∂ℓₖ/∂θ); each piece is sympy.diff."""
    found = sorted({e for e in sympy.preorder_traversal(loss) if _is_sample_reduction(e)},
                   key=sympy.default_sort_key)
    stand_in = {r: sympy.Dummy(f"R{k}") for k, r in enumerate(found)}
    outer = loss.xreplace(stand_in)
    back = {d: r for r, d in stand_in.items()}
    total = sympy.diff(outer, param).xreplace(back)
    for r, d in stand_in.items():
        total += sympy.diff(outer, d).xreplace(back) * r.func(sympy.diff(r.args[0], param))
    return total


def complex_step(loss, values: dict, name: str, where: tuple) -> float:
    """∂J/∂θ at one element by the complex step, Im J(θ + ih·e)/h, exact to rounding: `loss`
    maps the parameter arrays by name (complex) to J; `where` is the element's index (() for a
    scalar)."""
    h = 1e-30
    P = {k: np.array(v, dtype=complex) for k, v in values.items()}
    if where:
        P[name][where] += 1j * h
    else:
        P[name] = P[name] + 1j * h
    return float(np.imag(loss(P)) / h)


def central_differences(f, theta: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """(f(θ + hₖ) − f(θ − hₖ)) / 2hₖ for each component, h scaled by the component."""
    out = np.empty(len(theta))
    for k in range(len(theta)):
        h = step * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        out[k] = (f(up) - f(down)) / (up[k] - down[k])
    return out


_RELATIONS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
              ">=": lambda a, b: a >= b}


# ---------------------------------------------------------------- scalar model text, read by sympy

_FUNCTIONS = {
    "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs, "sin": sympy.sin,
    "cos": sympy.cos, "tan": sympy.tan, "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh, "min": sympy.Min, "max": sympy.Max,
    "mean": mean, "sum": SampleSum, "pi": sympy.pi, "e": sympy.E,
}
_z = sympy.Symbol("z", real=True)
_FUNCTIONS["sigmoid"] = sympy.Lambda(_z, 1 / (1 + sympy.exp(-_z)))
_FUNCTIONS["softplus"] = sympy.Lambda(_z, sympy.log(1 + sympy.exp(_z)))
# The functions of issue 14 from their definitions, in sympy's own classes (where: a Piecewise).
_FUNCTIONS |= {
    "log10": lambda u: sympy.log(u) / sympy.log(10), "log2": lambda u: sympy.log(u) / sympy.log(2),
    "erf": sympy.erf, "sign": sympy.sign, "relu": lambda u: sympy.Max(u, 0),
    "clip": lambda u, lo, hi: sympy.Min(sympy.Max(u, lo), hi), "pow": lambda a, b: a**b,
    "hypot": lambda a, b: sympy.sqrt(a**2 + b**2),
    "where": lambda condition, a, b: sympy.Piecewise((a, condition), (b, True)),
}


class ScalarModel:
    """A scalar gd model read by sympy's own parser (test code reading a test's fixed text), so
    that an oracle built on it shares nothing with gdc's front end: `params` and `data` (symbols
    in the given order), `prediction` and `loss` with every `let` written out."""

    def __init__(self, text: str, param_names, data_names):
        from sympy.parsing.sympy_parser import parse_expr, standard_transformations

        names = {n: sympy.Symbol(n, real=True) for n in (*param_names, *data_names)}
        self.params = tuple(names[n] for n in param_names)
        self.data = tuple(names[n] for n in data_names)
        known = {**_FUNCTIONS, **names}
        self.prediction = self.loss = None
        for line in (part.split("#")[0].strip() for row in text.splitlines() for part in row.split(";")):
            keyword, _, rest = line.partition(" ")
            if keyword in ("let", "model"):
                name, _, body = rest.partition("=")
                value = parse_expr(body.replace("^", "**"), local_dict=known,
                                   transformations=standard_transformations)
                known[name.strip()] = value
                if keyword == "model":
                    self.prediction = value
            elif keyword == "loss":
                self.loss = parse_expr(rest.replace("^", "**"), local_dict=known,
                                       transformations=standard_transformations)
        assert self.prediction is not None and self.loss is not None, text

    @classmethod
    def of(cls, params, data, prediction, loss) -> "ScalarModel":
        """A model built as sympy by the test itself (random_models.py)."""
        model = cls.__new__(cls)
        model.params, model.data, model.prediction, model.loss = tuple(params), tuple(data), prediction, loss
        return model

    def gradient(self) -> tuple[sympy.Expr, ...]:
        return tuple(gradient(self.loss, p) for p in self.params)

    def per_sample_loss(self) -> sympy.Expr:
        """The loss on a data set of one sample: each reduction replaced by its term."""
        return self.loss.replace(lambda e: isinstance(e, (mean, SampleSum)), lambda e: e.args[0])


def parameter_values(params, sizes: dict, rng, half_width: float) -> dict:
    """Uniform random values in ±half_width for each parameter (an array of its shape, the
    sizes given by name), drawn in the model's order so a seed fixes them."""
    values = {}
    for base in params:
        if isinstance(base, sympy.IndexedBase):
            shape = tuple(int(n.xreplace({s: sizes[s.name] for s in n.free_symbols})) for n in base.shape)
            values[base.label.name] = rng.uniform(-half_width, half_width, shape)
        else:
            values[base.name] = rng.uniform(-half_width, half_width)
    return values
