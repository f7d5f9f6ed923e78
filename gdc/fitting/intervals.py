"""Confidence intervals of a least-squares fit: asymptotic (from the covariance) and profile likelihood.

Asymptotic: θⱼ ± t·σⱼ, t Student's quantile at (1 + level)/2 with N − p degrees of freedom,
σⱼ the standard error (curve_fit's and lmfit's convention; `distributions.t_quantile`).

Profile likelihood (lmfit's conf_interval): θⱼ is held at trial values and the other
parameters refitted, which gives χ²(θⱼ); the interval's ends are where the F-test with one
fixed parameter reaches the level,

    F_cdf((χ²(θⱼ)/χ²_best − 1)·(N − p), 1, N − p) = level,

that is χ²(θⱼ) = χ²_best·(1 + t²/(N − p)) with the same t, since F(1, ν) = t(ν)². Unlike the
asymptotic interval it follows the model's curvature, so it need not be symmetric.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from gdc.errors import GdcError
from .distributions import t_quantile
from .least_squares import LeastSquaresKernels, levenberg_marquardt

LEVEL = 0.95               # --ci profile without a level
PROFILE_STEPS = 100        # steps of one standard error outwards before an end is called infinite
PROFILE_RTOL = 1e-10       # the ends are found to this relative precision in θⱼ
PROFILE_REFIT = 200        # Levenberg–Marquardt iterations of each refit with θⱼ held


@dataclass(frozen=True)
class Intervals:
    """Confidence intervals, one (low, high) per flat parameter element; inf where a profile
    never reaches the level on that side."""

    level: float
    how: str                         # "asymptotic" or "profile"
    low: tuple[float, ...]
    high: tuple[float, ...]
    dof: int

    def describe(self) -> str:
        what = "value ± t·standard error" if self.how == "asymptotic" else "profile likelihood, lmfit's F-test"
        return f"{100 * self.level:.4g} % confidence intervals ({what}; t with {self.dof} degrees of freedom)"


def parse_ci(value: float | str) -> tuple[float, str]:
    """`--ci 0.95` (asymptotic), `--ci profile` or `--ci profile:0.9`: (level, how)."""
    text = str(value).strip()
    how, _, level_text = text.partition(":") if text.startswith("profile") else ("asymptotic", "", text)
    if how != "asymptotic" and how != "profile":
        raise GdcError(f"{text!r} is not a level or 'profile'", where="--ci",
                       hint="e.g. --ci 0.95, --ci profile or --ci profile:0.9")
    try:
        level = float(level_text) if level_text else LEVEL
    except ValueError:
        raise GdcError(f"{text!r} is not a level between 0 and 1", where="--ci",
                       hint="e.g. --ci 0.95, --ci profile or --ci profile:0.9") from None
    if not 0.0 < level < 1.0:
        raise GdcError(f"the level must be between 0 and 1, not {level!r}", where="--ci",
                       hint="e.g. --ci 0.95 for 95 % intervals")
    return level, how


def _stats(result):
    if result.stats is None or result.stats.covariance is None:
        raise GdcError("confidence intervals need a least-squares loss with determined standard errors",
                       where="--ci", hint="the loss must be c·sum(r^2) or c·mean(r^2), with more rows "
                                          "than parameters and a well-conditioned JᵀJ")
    if result.stats.dof <= 0:
        raise GdcError(f"{result.n_rows} rows for {len(result.stats.std_errors)} parameters leave no "
                       "degrees of freedom for an interval", where="--ci")
    return result.stats


def flat_values(result) -> np.ndarray:
    if result.layout is not None:
        return result.layout.flatten(result.params, "FitResult.params")
    return np.array([float(v) for v in result.params.values()])


def asymptotic(result, level: float) -> Intervals:
    stats = _stats(result)
    t = t_quantile(0.5 * (1.0 + level), stats.dof)
    values, errors = flat_values(result), np.array(stats.std_errors)
    return Intervals(level, "asymptotic", tuple((values - t * errors).tolist()),
                     tuple((values + t * errors).tolist()), stats.dof)


def with_intervals(result, level: float, how: str):
    """The result with its intervals computed (shown by the report and in --json)."""
    found = profile(result, level) if how == "profile" else asymptotic(result, level)
    return dataclasses.replace(result, intervals=found)


# --- profile likelihood ------------------------------------------------------------------------

class _Held:
    """The least-squares kernels with parameter j held at a value: JᵀJ and Jᵀr of the others,
    the interface levenberg_marquardt drives."""

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


class _Profile:
    """χ²(θⱼ = v): the others refitted from the nearest profile point found so far."""

    def __init__(self, ls: LeastSquaresKernels, best: np.ndarray, j: int):
        self.ls, self.best, self.j = ls, best, j
        self.points: list[tuple[float, np.ndarray]] = [(float(best[j]), best.copy())]

    def __call__(self, value: float) -> float:
        start = min(self.points, key=lambda point: abs(point[0] - value))[1].copy()
        start[self.j] = value
        if len(start) == 1:
            return self.ls.rss(start)
        held = _Held(self.ls, self.j, start)
        reduced = start[held.keep].copy()
        with np.errstate(all="ignore"):
            out = levenberg_marquardt(held, reduced, PROFILE_REFIT)
        start[held.keep] = reduced
        rss = out.loss / self.ls.factor
        if math.isfinite(rss):
            self.points.append((value, start))
        return rss


def profile(result, level: float) -> Intervals:
    """Both ends of each parameter's profile-likelihood interval (see the module's docstring)."""
    from .weights import fit_kernels
    stats = _stats(result)
    if result.problem is None or not len(result.problem.data):
        raise GdcError("profile intervals refit the model, so they need its data", where="--ci",
                       hint="use gdc.fit's result, or --ci LEVEL for asymptotic intervals")
    problem = result.problem
    ls = LeastSquaresKernels(fit_kernels(problem), problem.data)
    best = flat_values(result)
    chi2 = ls.full(best.copy())
    t = t_quantile(0.5 * (1.0 + level), stats.dof)
    threshold = chi2 * (1.0 + t * t / stats.dof)
    lows, highs = [], []
    for j, error in enumerate(stats.std_errors):
        curve = _Profile(ls, best, j)
        lows.append(_end(curve, best[j], error, -1.0, threshold))
        highs.append(_end(curve, best[j], error, 1.0, threshold))
    return Intervals(level, "profile", tuple(lows), tuple(highs), stats.dof)


def _end(curve: _Profile, value: float, error: float, direction: float, threshold: float) -> float:
    """Where χ² crosses the threshold on one side: walk out in steps of a standard error until it
    is crossed, then close in on the crossing (Illinois false position); ±inf when never crossed."""
    step = error if 0.0 < error < math.inf else max(0.2 * abs(value), 1e-3)
    inside, outside, f_in, f_out = value, None, curve(value) - threshold, math.nan
    for k in range(1, PROFILE_STEPS + 1):
        trial = value + direction * k * step
        f = curve(trial) - threshold
        if f > 0.0 or math.isnan(f):
            outside, f_out = trial, f
            break
        inside, f_in = trial, f
    if outside is None:
        return direction * math.inf
    return _crossing(curve, threshold, inside, f_in, outside, f_out)


def _crossing(curve, threshold, a: float, fa: float, b: float, fb: float) -> float:
    """The root of curve − threshold between a (below) and b (above, or NaN: too far)."""
    side = 0
    for _ in range(200):
        if abs(b - a) <= PROFILE_RTOL * max(abs(a), abs(b), 1e-300):
            break
        if math.isfinite(fb):
            c = b - fb * (b - a) / (fb - fa)
            if not min(a, b) < c < max(a, b):
                c = 0.5 * (a + b)
        else:
            c = 0.5 * (a + b)
        fc = curve(c) - threshold
        if fc > 0.0 or math.isnan(fc):
            b, fb = c, fc
            if side == 1:
                fa *= 0.5   # Illinois: halve the end that stayed, so false position does not stall
            side = 1
        else:
            a, fa = c, fc
            if side == -1 and math.isfinite(fb):
                fb *= 0.5
            side = -1
    return 0.5 * (a + b)
