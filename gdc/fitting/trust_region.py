"""Levenberg–Marquardt with an explicit trust region, as MINPACK's lmder does it (Moré 1978).

The fallback of gdc.fitting.least_squares.fit_least_squares when the λ-damped run ends unconverged: a
bound Δ on the scaled step ‖D·h‖ (D the largest column norms of J so far), first
FACTOR·‖D·x0‖, updated from the ratio of actual to predicted reduction; λ is whatever puts
the step on the boundary (Moré–Hebden iteration on an eigendecomposition of the scaled JᵀJ).
Where λ-damping lets the first steps run into a valley it crawls along (MGH10 from NIST
start 1), the bounded steps do not. Runtime only: numpy, no sympy, no lark.
"""

from __future__ import annotations

import math

import numpy as np

from .reasons import Stop

FACTOR = 100.0   # MINPACK's default initial step bound factor


def _step(vecs, vals, c, d, delta, lam):
    """The step h with ‖D·h‖ ≈ Δ (within 10 %), or the Gauss–Newton step when it is inside;
    returns (h, λ). vals, vecs: the eigendecomposition of D⁻¹JᵀJD⁻¹; c = vecsᵀ·D⁻¹g."""
    vals = np.maximum(vals, 0.0)
    c2 = c * c

    def norm(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return math.sqrt(float(np.sum(c2 / (vals + x) ** 2)))

    if vals[0] > 1e-14 * vals[-1] and norm(0.0) <= 1.1 * delta:
        lam = 0.0
    else:
        upper = math.sqrt(float(np.sum(c2))) / delta
        lower = 0.0
        lam = min(max(lam, 1e-300), upper)
        for _ in range(60):
            zn = norm(lam)
            if not math.isfinite(zn) or zn > 1.1 * delta:
                lower = max(lower, lam)
            elif zn < 0.9 * delta:
                upper = min(upper, lam)
            else:
                break
            q = float(np.sum(c2 / (vals + lam) ** 3)) if math.isfinite(zn) else 0.0
            new = lam + (zn - delta) / delta * zn * zn / q if q > 0.0 else math.nan
            if not (lower < new < upper):
                new = max(math.sqrt(lower * upper), 1e-3 * upper) if lower > 0.0 else 1e-3 * upper
            lam = new
    z = -(vecs @ (c / (vals + lam)))
    return z / d, lam


def column_scales(a: np.ndarray) -> np.ndarray:
    """Moré's scales D: the column norms of J, from the diagonal of JᵀJ (1 for a zero column)."""
    d = np.sqrt(np.diag(a)).copy()
    d[d == 0.0] = 1.0
    return d


def trust_region_lm(ls, params, out, max_iter, xtol, ftol, gtol, progress=None, record=False):
    """Minimize Σr² from params (in place); fills and returns out (a second_order.Outcome)."""
    rss = ls.full(params)
    out.loss, out.iterations, out.reason = ls.factor * rss, 0, Stop.MAX_EPOCHS
    out.history, out.path = [out.loss], ([params.copy()] if record else None)
    if not math.isfinite(rss):
        out.reason = Stop.DIVERGED
        return out
    region = _Region(ls, params, rss)
    try:
        for k in range(1, max_iter + 1):
            out.grad_norm = 2.0 * ls.factor * float(np.linalg.norm(region.g))
            if region.rss == 0.0 or np.max(np.abs(region.g) / (region.d * math.sqrt(region.rss))) <= gtol:
                out.reason = Stop.GTOL
                return out
            stop = region.iterate(k, out, xtol, ftol, progress)
            if stop is not None:
                out.reason = stop
                return out
    except KeyboardInterrupt:
        out.reason = Stop.INTERRUPTED
    out.grad_norm = 2.0 * ls.factor * float(np.linalg.norm(region.g))
    return out


class _Region:
    """One trust-region run's state: the parameters, JᵀJ, Jᵀr, the scales D, the bound Δ and λ."""

    def __init__(self, ls, params, rss):
        self.ls, self.params, self.rss = ls, params, rss
        self.a, self.g = ls.jtj, ls.jtr
        self.d = column_scales(self.a)
        self.delta = FACTOR * float(np.linalg.norm(self.d * params)) or FACTOR
        self.lam = 0.0

    def iterate(self, k, out, xtol, ftol, progress):
        """Trial steps until one is taken (lmder's inner loop); a reason when the run must stop."""
        vals, vecs = np.linalg.eigh(self.a / np.outer(self.d, self.d))
        c = vecs.T @ (self.g / self.d)
        while True:
            h, self.lam = _step(vecs, vals, c, self.d, self.delta, self.lam)
            pnorm = float(np.linalg.norm(self.d * h))
            if k == 1:
                self.delta = min(self.delta, pnorm)
            trial = self.params + h
            actual, predicted, ratio = self._judge(h, trial, pnorm)
            xnorm = float(np.linalg.norm(self.d * (trial if ratio >= 1e-4 else self.params)))
            if ratio >= 1e-4:
                self.params[:] = trial
                self.rss = self.ls.full(self.params)
                np.maximum(self.d, np.sqrt(np.diag(self.a)), out=self.d)
                out.step(k, self.ls.factor * self.rss, self.params, out.grad_norm, progress)
            if abs(actual) <= ftol and predicted <= ftol and 0.5 * ratio <= 1.0:
                return Stop.FTOL
            if self.delta <= xtol * xnorm:
                return Stop.XTOL
            if not self.delta > 0.0 or not math.isfinite(self.delta):
                return Stop.STALLED
            if ratio >= 1e-4:
                return None

    def _judge(self, h, trial, pnorm):
        """The relative actual and predicted reductions of a trial step and their ratio, with Δ
        and λ updated from them as lmder does."""
        rss, lam = self.rss, self.lam
        new = self.ls.rss(trial) if np.all(np.isfinite(trial)) else math.nan
        jh2 = float(h @ (self.a @ h))
        predicted = (jh2 + 2.0 * lam * pnorm * pnorm) / rss    # relative, as lmder
        dirder = -(jh2 + lam * pnorm * pnorm) / rss
        actual = 1.0 - new / rss if math.isfinite(new) and new < 100.0 * rss else -1.0
        ratio = actual / predicted if predicted > 0.0 else 0.0
        if ratio <= 0.25:
            temp = 0.5 if actual >= 0.0 else 0.5 * dirder / (dirder + 0.5 * actual)
            if not math.isfinite(new) or new >= 100.0 * rss or not temp >= 0.1:
                temp = 0.1
            self.delta = temp * min(self.delta, pnorm / 0.1)
            self.lam = lam / temp
        elif lam == 0.0 or ratio >= 0.75:
            self.delta, self.lam = pnorm / 0.5, 0.5 * lam
        return actual, predicted, ratio
