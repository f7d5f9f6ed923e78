"""Levenberg–Marquardt over compiled JᵀJ and Jᵀr, with MINPACK's trust region and geodesic
acceleration as fallbacks (see second_order.py for the damped step they share)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from gdc.runtime.jit import cached_njit
from .options import MAX_STATISTICS
from .reasons import Stop
from .second_order import (FTOL, GTOL, MAX_ITERATIONS, TAU, XTOL, Damping, Outcome, drive, search,
                           solve_positive_definite)
from .statistics import least_squares_stats
from .trust_region import column_scales, trust_region_lm

if TYPE_CHECKING:   # problem.py's FitResult reaches this module through intervals.py
    from .problem import Problem

# Geodesic acceleration is tried again from the start when a plain fit ends poorly determined
# or unconverged, for data of at most this many N·p values (it writes J out).
GEODESIC_MAX_SIZE = 10_000_000
GEODESIC_ALPHA = 0.75   # refuse a step whose acceleration is this large beside its velocity
UNDETERMINED = 100.0


class LeastSquaresKernels:
    """Σr², JᵀJ and Jᵀr of a least-squares model on its data; loss = factor·Σr²."""

    def __init__(self, kernels, data: tuple[np.ndarray, ...], reads: bool = False):
        """`reads`: every pass reads the data (Problem.reads), so a trial's Σr² comes from the
        JᵀJ pass, which the partitioned kernels remember: a trial that is taken then needs no
        second read for its JᵀJ (in memory the loss pass alone is cheaper)."""
        self.kernels, self.data, self.reads = kernels, data, reads
        self.n = len(data[0])
        size = len(kernels.param_names)
        self.jtj = np.zeros((size, size))
        self.jtr = np.zeros(size)
        self.factor = kernels.lsq_scale / (self.n if kernels.lsq_mean else 1)
        self._rj = None

    def full(self, params: np.ndarray) -> float:
        """Σr² at params; fills self.jtj and self.jtr."""
        return self.kernels.jtj_jtr(params, *self.data, self.jtj, self.jtr)

    def rss(self, params: np.ndarray) -> float:
        if self.reads:
            return self.kernels.jtj_jtr(params, *self.data, np.zeros_like(self.jtj), np.zeros_like(self.jtr))
        return self.kernels.loss(params, *self.data) / self.factor

    def acceleration_term(self, params: np.ndarray, v: np.ndarray, h: float = 0.1) -> np.ndarray:
        """Jᵀ·r_vv, r_vv = the second directional derivative of r along v, by differences
        (Transtrum & Sethna 2012): 2/h·((r(θ + h·v) − r(θ))/h − J·v)."""
        size = len(params)
        if self._rj is None:
            self._rj = (np.empty(self.n), np.empty((self.n, size)), np.empty(self.n), np.empty((self.n, size)))
        r, j, r2, j2 = self._rj
        rj = self.kernels.residuals_jacobian
        rj(params, *self.data, r, j)
        rj(params + h * v, *self.data, r2, j2)
        rvv = (2.0 / h) * ((r2 - r) / h - j @ v)
        return j.T @ rvv


def least_squares_report(problem: Problem, params: np.ndarray, reason: str, known=None):
    """RSS, standard errors and condition after a least-squares fit (None for other losses, for
    a diverged fit, and past MAX_STATISTICS parameters); `problem` holds the flat kernels."""
    if len(params) > MAX_STATISTICS or problem.kernels.jtj_jtr is None or reason == Stop.DIVERGED \
            or not np.all(np.isfinite(params)):
        return None
    names = problem.kernels.param_names
    box = problem.box
    if box is not None:   # standard errors only where the box holds nothing (gdc.fitting.bounds)
        free = ~(box.fixed | box.at_bound(params))
        return least_squares_stats(LeastSquaresKernels(problem.kernels, problem.data), params, names,
                                   free, int(np.count_nonzero(~box.fixed)), problem.absolute_sigma)
    if known is not None and not known.warnings and not problem.absolute_sigma:   # computed by the fit
        return known
    return least_squares_stats(LeastSquaresKernels(problem.kernels, problem.data), params, names,
                               absolute_sigma=problem.absolute_sigma)


@cached_njit(nogil=True, error_model="numpy")
def _gradient_test(a, g, d, rss, update):  # pragma: no cover (compiled)
    """With update, d ← max(d, √diag(a)) first (Moré's scales never decrease); returns ‖g‖ and
    max |gᵢ|/(dᵢ·√rss), the largest cosine between a column of J and r (MINPACK's gtol test)."""
    root, gg, worst, bad = math.sqrt(rss), 0.0, 0.0, False
    for i in range(g.shape[0]):
        if update:
            d[i] = max(d[i], math.sqrt(a[i, i]))
        gg += g[i] * g[i]
        v = abs(g[i]) / (d[i] * root)
        bad = bad or v != v
        worst = max(worst, v)
    return math.sqrt(gg), (math.nan if bad else worst)


def fit_least_squares(ls: LeastSquaresKernels, params: np.ndarray, max_iter: int = MAX_ITERATIONS,
                      progress=None, record: bool = False) -> Outcome:
    """Levenberg–Marquardt; where it ends unconverged, once more from the start with MINPACK's
    trust region (gdc.fitting.trust_region; MGH10 from NIST start 1); where that fails too, or the
    fit has a parameter far from determined (a plateau such as BoxBOD's from NIST start 1), once
    more with geodesic acceleration, keeping the fit of lower RSS."""
    start = params.copy()
    plain = levenberg_marquardt(ls, params, max_iter, progress, record)
    if plain.reason in (Stop.DIVERGED, Stop.INTERRUPTED):
        return plain
    if plain.converged:
        plain.stats = least_squares_stats(ls, params, [""] * len(params))
        if _well_determined(plain.stats, params):
            return plain
    else:
        bounded = _trust_region_retry(ls, start, plain, max_iter, progress, record)
        if bounded is not None:
            params[:], outcome = bounded
            return outcome
        if plain.reason == Stop.INTERRUPTED:
            ls.full(params)
            return plain
    return _geodesic_retry(ls, start, params, plain, max_iter, progress, record)


def _trust_region_retry(ls, start, plain: Outcome, max_iter, progress, record):
    """MINPACK's trust region from the start, whose bounded steps keep out of valleys: its
    parameters and outcome when it converges to a lower, well-determined RSS, else None."""
    bounded = start.copy()
    tr = trust_region_lm(ls, bounded, Outcome(math.nan, 0, Stop.MAX_EPOCHS, math.nan), max_iter,
                         XTOL, FTOL, GTOL, progress, record)
    if tr.reason == Stop.INTERRUPTED:
        plain.reason = Stop.INTERRUPTED
        return None
    if tr.converged and (tr.loss <= plain.loss or not math.isfinite(plain.loss)):
        tr.stats = least_squares_stats(ls, bounded, [""] * len(start))
        if _well_determined(tr.stats, bounded):
            tr.iterations += plain.iterations
            return bounded, tr
    return None


def _geodesic_retry(ls, start, params, plain: Outcome, max_iter, progress, record) -> Outcome:
    """Once more from the start with geodesic acceleration; the better of the two fits."""
    if ls.kernels.residuals_jacobian is None or ls.n * len(params) > GEODESIC_MAX_SIZE:
        ls.full(params)
        return plain
    retry = start.copy()
    accelerated = levenberg_marquardt(ls, retry, max_iter, progress, record, geodesic=True)
    if accelerated.reason != Stop.DIVERGED and (accelerated.loss < plain.loss or not math.isfinite(plain.loss)):
        params[:] = retry
        accelerated.iterations += plain.iterations
        return accelerated
    ls.full(params)
    return plain


def _well_determined(stats, params: np.ndarray) -> bool:
    """No standard error is more than UNDETERMINED times its parameter (on a plateau, where a
    column of J has vanished, it is 1e40 times; MGH09's b2 is certified as 0.19 ± 0.20, and a
    large condition number alone, as on Lanczos, is no reason either)."""
    relative = [e / abs(p) if p != 0.0 else 0.0 for e, p in zip(stats.std_errors, params)]
    return all(r <= UNDETERMINED for r in relative)


def levenberg_marquardt(ls: LeastSquaresKernels, params: np.ndarray, max_iter: int = MAX_ITERATIONS,
                        progress=None, record: bool = False, geodesic: bool = False) -> Outcome:
    """Minimize Σr² from params (in place), by Levenberg–Marquardt with Moré's scaling; with
    geodesic acceleration (Transtrum & Sethna 2012) when asked."""
    rss = ls.full(params)
    out = Outcome.start(ls.factor * rss, params, record)
    if not math.isfinite(rss):
        out.reason = Stop.DIVERGED
        return out
    return drive(_Marquardt(ls, params, geodesic, rss), out, max_iter, progress)


class _Marquardt:
    """One Levenberg–Marquardt run's state: the parameters, JᵀJ, Jᵀr, the scales and λ."""

    def __init__(self, ls: LeastSquaresKernels, params: np.ndarray, geodesic: bool, rss: float):
        """`rss` is ls.full(params), just computed: JᵀJ and Jᵀr are those of `params`."""
        self.ls, self.params, self.geodesic = ls, params, geodesic
        self.rss = rss
        self.a, self.g = ls.jtj, ls.jtr
        self.d = column_scales(self.a)
        self.damping = Damping(TAU, floor=1e-300)
        self.trial, self.h = np.empty_like(params), np.empty_like(params)
        self.actual = self.predicted = math.nan

    @property
    def loss(self) -> float:
        return self.ls.factor * self.rss

    def stationary(self, k: int, out: Outcome) -> bool:
        """MINPACK's gtol test (every column of J nearly orthogonal to r); from the second
        iteration on, the scales d grow to the new JᵀJ's diagonal first."""
        gnorm, cosine = _gradient_test(self.a, self.g, self.d, self.rss, k > 1)
        out.grad_norm = 2.0 * self.ls.factor * gnorm
        return self.rss == 0.0 or cosine <= GTOL

    def gradient_norm(self) -> float:
        return 2.0 * self.ls.factor * float(np.linalg.norm(self.g))

    def settled(self) -> bool:
        return abs(self.actual) <= FTOL * self.rss and self.predicted <= FTOL * self.rss

    def step(self) -> Stop | None:
        """Take one step (raising λ until one lowers the RSS); a reason when none can be taken."""
        found = search(self.a, self.g, self.d, self.damping, self.params, self.h, self.trial,
                       self.ls.rss, self.rss, 2.0, self._accelerate if self.geodesic else None)
        if found.stop is not None:
            return found.stop
        self.actual, self.predicted = found.actual, found.predicted
        self.params[:] = self.trial
        self.rss = self.ls.full(self.params)   # d is updated from the new JᵀJ by _gradient_test
        self.damping.accept(found.rho)
        return None

    def _accelerate(self, dx: float) -> tuple[float, float] | None:
        """Add the geodesic acceleration to the step in self.trial; hᵀg and hᵀMh of the whole
        step, or None when the acceleration is too large beside the velocity (refuse the step)."""
        a, d, lam = self.a, self.d, self.damping.lam
        scaled = a / np.outer(d, d)
        accel = solve_positive_definite(scaled + lam * np.eye(len(d)),
                                        -self.ls.acceleration_term(self.params, self.h) / d)
        if accel is None or not 2.0 * float(np.linalg.norm(accel)) <= GEODESIC_ALPHA * dx:
            return None
        h_geo = self.h + 0.5 * accel / d
        np.add(self.params, h_geo, out=self.trial)
        return float(h_geo @ self.g), float(h_geo @ (a @ h_geo))
