"""The statistics reported after any least-squares fit: RSS, standard errors, condition."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .trust_region import column_scales

COND_WARNING = 1e12


@dataclass(frozen=True)
class LeastSquaresStats:
    """At the fitted parameters: RSS, s² = RSS/(N − p), the covariance s²(JᵀJ)⁻¹ and standard
    errors √diag of it, the condition number of the scaled JᵀJ, and warnings when the fit is
    poorly determined. With measurement errors σ (`--sigma`) r is (y − Y)/σ, RSS is χ², and
    `absolute_sigma` takes the covariance as (JᵀJ)⁻¹, without s² (scipy's curve_fit)."""

    rss: float
    dof: int
    sigma: float
    std_errors: tuple[float, ...]
    condition: float
    warnings: tuple[str, ...]
    covariance: np.ndarray | None = field(default=None, repr=False)   # p×p, the flat parameter order
    absolute_sigma: bool = False

    @property
    def correlation(self) -> np.ndarray | None:
        """covariance[j, k] / (σⱼσₖ)."""
        if self.covariance is None:
            return None
        scale = np.sqrt(np.diag(self.covariance))
        with np.errstate(all="ignore"):
            return self.covariance / np.outer(scale, scale)


def least_squares_stats(ls, params: np.ndarray, names, free: np.ndarray | None = None,
                        varied: int | None = None, absolute_sigma: bool = False) -> LeastSquaresStats:
    """The statistics at params; `ls` is a least_squares.LeastSquaresKernels. With a box
    (gdc.fitting.bounds): standard errors and covariance for the `free` elements only, from
    their part of JᵀJ (NaN for those fixed or at a bound, as lmfit gives none), and `varied`
    (the elements not fixed) in the degrees of freedom. `absolute_sigma`: the covariance is
    (JᵀJ)⁻¹, not s²(JᵀJ)⁻¹ (curve_fit's meaning)."""
    rss = ls.full(params)
    a = ls.jtj.copy()
    n, size = ls.n, len(params)
    dof = n - (size if varied is None else varied)
    s2 = rss / dof if dof > 0 else math.nan
    if free is not None:
        names, a = [name for name, f in zip(names, free) if f], a[np.ix_(free, free)]
    d = column_scales(a)
    eig, vecs, cond = _scaled_spectrum(a, d) if len(d) else (None, None, 1.0)
    factor = 1.0 if absolute_sigma else s2
    if len(d) and math.isfinite(cond) and cond < 1.0 / np.finfo(float).eps:
        inverse = (vecs / eig) @ vecs.T   # the scaled (JᵀJ)⁻¹
        covariance = factor * inverse / np.outer(d, d)
        errors = tuple(float(math.sqrt(v)) if v >= 0.0 else math.nan for v in np.diag(covariance))
    else:
        covariance, errors = None, (math.nan,) * len(d)
    if free is not None:   # back in the flat order, NaN where the box holds the element
        spread = iter(errors)
        errors = tuple(next(spread) if f else math.nan for f in free)
        if covariance is not None:
            full = np.full((size, size), math.nan)
            full[np.ix_(free, free)] = covariance
            covariance = full
    notes = []
    if dof <= 0:
        notes.append(f"{n} rows for {size} parameters: the parameters are not determined "
                     "(no standard errors)")
    if not cond <= COND_WARNING:
        order = np.argsort(-np.abs(vecs[:, 0])) if vecs is not None else range(size)
        weak = [names[j] for j in order[:2]]
        notes.append(f"the problem is poorly determined: the condition number of the scaled JᵀJ "
                     f"is {cond:.3g} (> {COND_WARNING:g}); look at {', '.join(weak)}")
    return LeastSquaresStats(float(rss), dof, math.sqrt(s2) if s2 >= 0 else math.nan,
                             errors, cond, tuple(notes), covariance, absolute_sigma)


def _scaled_spectrum(a: np.ndarray, d: np.ndarray):
    """Eigenvalues, eigenvectors and condition number of D⁻¹JᵀJD⁻¹ (None, None, inf when the
    decomposition fails: a JᵀJ holding inf or NaN)."""
    if not np.all(np.isfinite(a)):
        return None, None, math.inf
    try:
        eig, vecs = np.linalg.eigh(a / np.outer(d, d))
    except np.linalg.LinAlgError:
        return None, None, math.inf
    return eig, vecs, float(eig[-1] / eig[0]) if eig[0] > 0.0 else math.inf
