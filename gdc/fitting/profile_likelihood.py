"""Profile-likelihood intervals (lmfit's conf_interval), each end saying what it is.

θⱼ is held at trial values and the other parameters refitted, which gives χ²(θⱼ); an end is
where χ²(θⱼ) reaches the threshold χ²_best·(1 + t²/(N − p)) (gdc.fitting.intervals). It is
found by walking out in steps of a standard error until χ² passes the threshold, then closing
in on the crossing. Each end is one of:

- a number, where χ² crosses the threshold;
- ±inf, where χ² stays below it for PROFILE_STEPS standard errors (no end on that side);
- the parameter's own bound, where χ² stays below the threshold up to it: the interval is cut
  there, as lmfit's conf_interval stops at a parameter's limit, and the end's note says so
  (the bound is the end of what the box allows, not a crossing);
- unknown (NaN), with the reason in the end's note, where a refit whose χ² decides the end did
  not converge (PROFILE_REFIT iterations from the nearest profile point, then once more with
  PROFILE_RETRY from the fit's best parameters): an unconverged χ² above the threshold may be
  too high, and an end built on it would be too close and printed as if right. An unconverged
  refit whose χ² is already below the threshold is used: the profile is at most that.

The refits keep to the fit's box (bounds, fixed parameters; gdc.fitting.projected's projected
Levenberg–Marquardt, as the fit itself). A parameter the box holds (fixed, or at a bound,
where it has no standard error) gets no interval: NaN at both ends, the note saying why.
"""

from __future__ import annotations

import math

import numpy as np

from gdc.runtime.intervals import end_text
from .bounds import Box
from .least_squares import LeastSquaresKernels, levenberg_marquardt
from .projected import fit_in_box

PROFILE_STEPS = 100        # steps of one standard error outwards before an end is called infinite
PROFILE_RTOL = 1e-10       # the ends are found to this relative precision in θⱼ
PROFILE_REFIT = 200        # Levenberg–Marquardt iterations of each refit with θⱼ held
PROFILE_RETRY = 2000       # … of the one retry, from the best fit, of a refit that did not converge


class Unknown(Exception):
    """A profile point whose χ² cannot be told from above the threshold: the end is unknown."""


class _Held:
    """The least-squares kernels with parameter j held at a value: JᵀJ and Jᵀr of the others,
    the interface levenberg_marquardt and fit_in_box drive."""

    def __init__(self, ls: LeastSquaresKernels, j: int, full: np.ndarray):
        self.ls, self.j, self.values = ls, j, full.copy()
        self.keep = np.arange(len(full)) != j
        self.n, self.factor = ls.n, ls.factor
        size = len(full) - 1
        self.jtj, self.jtr = np.zeros((size, size)), np.zeros(size)

    def _at(self, reduced: np.ndarray) -> np.ndarray:
        self.values[self.keep] = reduced
        return self.values

    def full(self, reduced: np.ndarray) -> float:
        rss = self.ls.full(self._at(reduced))
        self.jtj[:] = self.ls.jtj[np.ix_(self.keep, self.keep)]
        self.jtr[:] = self.ls.jtr[self.keep]
        return rss

    def rss(self, reduced: np.ndarray) -> float:
        return self.ls.rss(self._at(reduced))


def _without(box: Box, j: int) -> Box:
    keep = np.arange(len(box.lower)) != j
    return Box(box.lower[keep], box.upper[keep], box.fixed[keep],
               tuple(interval for k, interval in enumerate(box.intervals) if k != j))


class Profile:
    """χ²(θⱼ = v) − threshold: the others refitted (inside the box) from the nearest profile
    point found so far; raises Unknown where that cannot be told from above the threshold."""

    def __init__(self, ls: LeastSquaresKernels, best: np.ndarray, j: int, name: str, threshold: float,
                 box: Box | None):
        self.ls, self.best, self.j, self.name, self.threshold = ls, best, j, name, threshold
        self.box = None if box is None else _without(box, j)
        self.points: list[tuple[float, np.ndarray]] = [(float(best[j]), best.copy())]

    def __call__(self, value: float) -> float:
        nearest = min(self.points, key=lambda point: abs(point[0] - value))[1]
        rss, converged, why = self._refit(nearest, value, PROFILE_REFIT)
        if not converged and not rss <= self.threshold:   # maybe too high: once more, from the best fit
            again, converged, why = self._refit(self.best, value, PROFILE_RETRY)
            if math.isnan(rss) or again < rss:   # (min(nan, again) would keep the NaN)
                rss = again
        if converged or rss <= self.threshold:
            return rss - self.threshold
        if not math.isfinite(rss):
            raise Unknown(f"χ² is not finite at {self.name} = {value:.10g}")
        raise Unknown(f"the profile refit did not converge at {self.name} = {value:.10g}, nor its retry "
                      f"from the best fit ({why})")

    def _refit(self, origin: np.ndarray, value: float, iterations: int) -> tuple[float, bool, str]:
        """χ² with θⱼ = value and the others refitted from origin's; whether the refit converged
        (and why not)."""
        start = origin.copy()
        start[self.j] = value
        if len(start) == 1:
            rss = self.ls.rss(start)
            return rss, math.isfinite(rss), "not finite"
        held = _Held(self.ls, self.j, start)
        reduced = start[held.keep].copy()
        with np.errstate(all="ignore"):
            if self.box is None:
                out = levenberg_marquardt(held, reduced, iterations)
            else:
                out = fit_in_box(held, self.box, reduced, True, iterations)
        start[held.keep] = reduced
        rss = out.loss / self.ls.factor
        converged = out.converged and math.isfinite(rss)
        if converged:
            self.points.append((value, start))
        return rss, converged, out.message().removeprefix("not converged: ")


def end(curve: Profile, value: float, error: float, direction: float, limit: float,
        stated: float) -> tuple[float, str]:
    """One end and its note ("" for a crossing or ±inf): walk out in steps of a standard error
    until χ² passes the threshold, then close in on the crossing; `limit` is the box's end on
    that side (±inf for none), `stated` that end as the user wrote it."""
    step = error if 0.0 < error < math.inf else max(0.2 * abs(value), 1e-3)
    try:
        inside, f_in = value, curve(value)
        for k in range(1, PROFILE_STEPS + 1):
            trial = value + direction * k * step
            reached = direction * (trial - limit) >= 0.0
            if reached:
                trial = limit
            f = curve(trial)
            if f > 0.0:
                return crossing(curve, inside, f_in, trial, f), ""
            if reached:
                side = "upper" if direction > 0 else "lower"
                return limit, f"the {side} bound {end_text(stated)} (χ² stays below the level up to it)"
            inside, f_in = trial, f
    except Unknown as unknown:
        return math.nan, f"unknown, {unknown}"
    return direction * math.inf, ""


def crossing(curve, a: float, fa: float, b: float, fb: float) -> float:
    """The root of curve between a (below) and b (above; Illinois false position)."""
    side = 0
    for _ in range(200):
        if abs(b - a) <= PROFILE_RTOL * max(abs(a), abs(b), 1e-300):
            break
        c = b - fb * (b - a) / (fb - fa)
        if not min(a, b) < c < max(a, b):
            c = 0.5 * (a + b)
        fc = curve(c)
        if fc > 0.0:
            b, fb = c, fc
            if side == 1:
                fa *= 0.5   # Illinois: halve the end that stayed, so false position does not stall
            side = 1
        else:
            a, fa = c, fc
            if side == -1:
                fb *= 0.5
            side = -1
    return 0.5 * (a + b)
