"""Student's t distribution, for confidence intervals (fitting/ never needs scipy): its CDF through
the regularized incomplete beta function, and its quantile by bisection on that CDF.

    P(T ≤ t) = 1 − ½·I_x(ν/2, ½),  x = ν/(ν + t²),  t ≥ 0  (and symmetric for t < 0)

I_x(a, b) is evaluated by its continued fraction (modified Lentz's method), which converges
quickly for x < (a + 1)/(a + b + 2), and through I_x(a, b) = 1 − I_{1−x}(b, a) elsewhere.
"""

from __future__ import annotations

import math

from gdc.errors import GdcError

_TINY = 1e-300
_FRACTION_TERMS = 10_000
_BISECTIONS = 200


def _continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of I_x(a, b) (Abramowitz & Stegun 26.5.8), by Lentz's method."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    value = d
    for m in range(1, _FRACTION_TERMS):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            value *= c * d
        if abs(c * d - 1.0) < 1e-16:
            break
    return value


def incomplete_beta(x: float, a: float, b: float, y: float | None = None) -> float:
    """The regularized incomplete beta function I_x(a, b), 0 ≤ x ≤ 1, a, b > 0; `y` is 1 − x
    when the caller knows it more accurately than 1 − x can be computed (x near 1)."""
    y = 1.0 - x if y is None else y
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log(y))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(y, b, a) / b


def t_tail(t: float, dof: float) -> float:
    """P(T > t) for t ≥ 0: ½·I_x(ν/2, ½), x = ν/(ν + t²), 1 − x = t²/(ν + t²) computed as such."""
    if math.isinf(t):
        return 0.0
    square = t * t
    return 0.5 * incomplete_beta(dof / (dof + square), 0.5 * dof, 0.5, square / (dof + square))


def t_cdf(t: float, dof: float) -> float:
    """P(T ≤ t) for Student's t with `dof` degrees of freedom."""
    tail = t_tail(abs(t), dof)
    return 1.0 - tail if t >= 0 else tail


def t_quantile(q: float, dof: float) -> float:
    """The t with P(T ≤ t) = q (0 < q < 1): bisection on log t, in which the tail P(T > t) is
    decreasing; halving [−700, 700] until the ends meet leaves no float to choose."""
    if not 0.0 < q < 1.0 or not dof > 0:
        raise GdcError(f"a quantile needs 0 < q < 1 and dof > 0, not q = {q!r}, dof = {dof!r}",
                       where="confidence interval")
    if q == 0.5:
        return 0.0
    tail = min(q, 1.0 - q)
    low, high = -700.0, 700.0
    for _ in range(_BISECTIONS):
        middle = 0.5 * (low + high)
        if t_tail(math.exp(middle), dof) > tail:
            low = middle
        else:
            high = middle
        if high - low <= 1e-16 * max(abs(middle), 1.0):
            break
    t = math.exp(0.5 * (low + high))
    return t if q > 0.5 else -t
