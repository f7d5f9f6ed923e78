"""Confidence intervals of a least-squares fit: asymptotic (from the covariance) and profile likelihood.

Asymptotic: θⱼ ± t·σⱼ, t Student's quantile at (1 + level)/2 with N − p degrees of freedom,
σⱼ the standard error (curve_fit's and lmfit's convention; `distributions.t_quantile`).

Profile likelihood (lmfit's conf_interval): θⱼ is held at trial values and the other
parameters refitted, which gives χ²(θⱼ); the interval's ends are where the F-test with one
fixed parameter reaches the level,

    F_cdf((χ²(θⱼ)/χ²_best − 1)·(N − p), 1, N − p) = level,

that is χ²(θⱼ) = χ²_best·(1 + t²/(N − p)) with the same t, since F(1, ν) = t(ν)². Unlike the
asymptotic interval it follows the model's curvature, so it need not be symmetric. The walk,
its refits inside the fit's box, and what an end that is a bound or unknown says, are
gdc.fitting.profile_likelihood's.

A parameter the fit's box holds (fixed, or at a bound: no standard error) gets no interval of
either kind: NaN at both ends, and the note says why.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from gdc.errors import GdcError
from .distributions import t_quantile
from .least_squares import LeastSquaresKernels
from .profile_likelihood import Profile, end

LEVEL = 0.95               # --ci profile without a level


@dataclass(frozen=True)
class Intervals:
    """Confidence intervals, one (low, high) per flat parameter element; inf where a profile
    never reaches the level on that side, NaN where there is no end to give (a parameter the
    box holds, a profile end that could not be found). `low_why`/`high_why` (per element, ""
    for a plain end; empty tuples for none at all) say what an end is when it is not a plain
    crossing: the bound, unknown and why, or why there is no interval."""

    level: float
    how: str                         # "asymptotic" or "profile"
    low: tuple[float, ...]
    high: tuple[float, ...]
    dof: int
    low_why: tuple[str, ...] = ()
    high_why: tuple[str, ...] = ()

    def notes(self, k: int) -> tuple[str, str]:
        """What element k's low and high ends are, when not plain numbers ("" otherwise)."""
        return (self.low_why[k] if self.low_why else "", self.high_why[k] if self.high_why else "")

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


def _held(result, size: int) -> tuple[str, ...]:
    """Per element, why the box gives it no interval ("fixed", "at lower bound 0") or ""."""
    return tuple(f"none: {why}" if why else "" for why in (result.held or ("",) * size))


def asymptotic(result, level: float) -> Intervals:
    stats = _stats(result)
    t = t_quantile(0.5 * (1.0 + level), stats.dof)
    values, errors = flat_values(result), np.array(stats.std_errors)
    held = _held(result, len(values))
    low, high = values - t * errors, values + t * errors
    for k, why in enumerate(held):
        if why:
            low[k] = high[k] = math.nan
    notes = held if any(held) else ()
    return Intervals(level, "asymptotic", tuple(low.tolist()), tuple(high.tolist()), stats.dof, notes, notes)


def with_intervals(result, level: float, how: str):
    """The result with its intervals computed (shown by the report and in --json)."""
    found = profile(result, level) if how == "profile" else asymptotic(result, level)
    return dataclasses.replace(result, intervals=found)


# --- profile likelihood (the walk and its refits: gdc.fitting.profile_likelihood) --------------

def profile(result, level: float) -> Intervals:
    """Both ends of each parameter's profile-likelihood interval, inside the fit's box (see
    gdc.fitting.profile_likelihood for what each end may be)."""
    from .weights import fit_kernels
    stats = _stats(result)
    if result.problem is None or not len(result.problem.data):
        raise GdcError("profile intervals refit the model, so they need its data", where="--ci",
                       hint="use gdc.fit's result, or --ci LEVEL for asymptotic intervals")
    problem, box = result.problem, result.box
    ls = LeastSquaresKernels(fit_kernels(problem), problem.data, problem.reads)
    best = flat_values(result)
    names = result.layout.element_names if result.layout is not None else tuple(result.params)
    chi2 = ls.full(best.copy())
    t = t_quantile(0.5 * (1.0 + level), stats.dof)
    threshold = chi2 * (1.0 + t * t / stats.dof)
    held = _held(result, len(best))
    ends = []
    for j, (error, why) in enumerate(zip(stats.std_errors, held)):
        if why:   # fixed, or at a bound: no interval
            ends.append((math.nan, math.nan, why, why))
        else:
            ends.append(_ends(Profile(ls, best, j, names[j], threshold, box), best[j], error, box, j))
    low, high, low_why, high_why = (tuple(column) for column in zip(*ends))
    notes = any(low_why) or any(high_why)
    return Intervals(level, "profile", low, high, stats.dof, low_why if notes else (), high_why if notes else ())


def _ends(curve: Profile, value: float, error: float, box, j: int) -> tuple[float, float, str, str]:
    """Element j's (low, high, what the low end is, what the high end is), walking inside the box."""
    limits = (-math.inf, math.inf) if box is None else (box.lower[j], box.upper[j])
    stated = None if box is None else box.intervals[j]
    said = (-math.inf, math.inf) if stated is None else (stated.lower, stated.upper)
    low, why_low = end(curve, value, error, -1.0, limits[0], said[0])
    high, why_high = end(curve, value, error, 1.0, limits[1], said[1])
    return low, high, why_low, why_high
