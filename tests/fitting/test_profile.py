"""Profile-likelihood intervals that say what each end is: a refit that does not converge gives an
unknown end (NaN and why), never a number; refits keep to the fit's box and a walk that reaches
a bound ends there; a parameter the box holds gets no interval. Against independent profiles
(scipy's bounded scalar minimum and brentq) of a two-parameter model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gdc
import gdc.fitting.profile_likelihood as pl
from gdc.cli import main

optimize = pytest.importorskip("scipy.optimize")
stats = pytest.importorskip("scipy.stats")

MODEL = "model y = a*exp(-k*x)\nloss sum((y - Y)^2)"
X = np.linspace(0.0, 3.0, 12)
Y = 2.0 * np.exp(-0.7 * X) + 0.05 * np.sin(7.0 * X)
DATA = {"x": X, "Y": Y}


def rss(a: float, k: float) -> float:
    return float(np.sum((a * np.exp(-k * X) - Y) ** 2))


def threshold(result, level: float = 0.95) -> float:
    t = stats.t.ppf(0.5 * (1 + level), result.dof)
    return result.rss * (1 + t * t / result.dof)


def test_a_refit_that_does_not_converge_gives_an_unknown_end_and_says_why(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(pl, "PROFILE_REFIT", 1)    # no refit can converge in one iteration
    monkeypatch.setattr(pl, "PROFILE_RETRY", 1)
    result = gdc.fit(MODEL, DATA, ci="profile")
    assert result.converged
    for k, name in enumerate(("a", "k")):
        assert math.isnan(result.intervals.low[k]) and math.isnan(result.intervals.high[k])
        low_why, high_why = result.intervals.notes(k)
        assert low_why.startswith(f"unknown, the profile refit did not converge at {name} = ")
        assert "nor its retry from the best fit (stopped at the iteration limit (1))" in high_why
    assert all(math.isnan(v) for pair in result.conf_int(profile=True).values() for v in pair)
    text = str(result)
    assert "  a  [unknown, unknown]" in text
    assert "low end: unknown, the profile refit did not converge at a = 1.92" in text
    doc = result.to_dict()["intervals"]
    assert doc["low"] == {"a": None, "k": None} and doc["high"] == {"a": None, "k": None}
    assert doc["notes"]["k"]["high"].startswith("unknown, the profile refit did not converge at k = 0.75")
    result.save(tmp_path / "fit.json")   # read back: unknown, not infinite
    back = gdc.load_result(tmp_path / "fit.json").intervals
    assert math.isnan(back.low[0]) and back.notes(0) == result.intervals.notes(0)
    # the command line prints the same words
    (tmp_path / "m.gd").write_text(MODEL + "\n")
    (tmp_path / "d.csv").write_text("x,Y\n" + "\n".join(f"{a:.17g},{b:.17g}" for a, b in zip(X, Y)) + "\n")
    assert main(["fit", str(tmp_path / "m.gd"), str(tmp_path / "d.csv"), "--ci", "profile", "-q", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["intervals"]["notes"] == doc["notes"]


def test_a_refit_that_converges_on_its_retry_gives_the_profile(monkeypatch):
    plain = gdc.fit(MODEL, DATA, ci="profile").intervals
    monkeypatch.setattr(pl, "PROFILE_REFIT", 1)    # the first refits stop early; the retries converge
    retried = gdc.fit(MODEL, DATA, ci="profile").intervals
    assert retried.low_why == () and retried.high_why == ()
    np.testing.assert_allclose(retried.low, plain.low, rtol=1e-9)
    np.testing.assert_allclose(retried.high, plain.high, rtol=1e-9)


def _profile_of_a(a: float, k_box: tuple[float, float]) -> float:
    return optimize.minimize_scalar(lambda k: rss(a, k), bounds=k_box, method="bounded",
                                    options={"xatol": 1e-12}).fun


def test_a_bounded_profile_keeps_its_refits_in_the_box_and_ends_at_the_bound():
    result = gdc.fit(MODEL, DATA, ci="profile", bounds={"k": (0.69, 2.0)}, init={"k": 1.0})
    assert result.converged and result.held == ("", "") and result.params["k"] > 0.69
    level = threshold(result)
    # k: χ² stays below the level down to the bound, so the low end is the bound, and says so
    assert rss(result.params["a"], 0.69) < level   # (the unbounded profile crosses at k ≈ 0.663)
    assert result.intervals.low[1] == 0.69
    assert result.intervals.notes(1) == ("the lower bound 0.69 (χ² stays below the level up to it)", "")
    high = optimize.brentq(lambda k: optimize.minimize_scalar(
        lambda a: rss(a, k), bracket=(1.5, 2.5)).fun - level, result.params["k"], 1.0, xtol=1e-14)
    assert result.intervals.high[1] == pytest.approx(high, rel=1e-7)
    # a: each refit keeps k ≥ 0.69, which narrows a's low end (1.9433 with k free)
    low = optimize.brentq(lambda a: _profile_of_a(a, (0.69, 2.0)) - level, 1.8, result.params["a"], xtol=1e-14)
    assert result.intervals.low[0] == pytest.approx(low, rel=1e-7) and low > 1.948
    assert "       low end: the lower bound 0.69 (χ² stays below the level up to it)" in str(result)


def test_a_fixed_parameter_and_one_at_a_bound_get_no_profile_interval():
    fixed = gdc.fit(MODEL, DATA, ci="profile", fixed={"a": 2.0})
    assert fixed.held == ("fixed", "") and fixed.dof == 11
    assert math.isnan(fixed.intervals.low[0]) and fixed.intervals.notes(0) == ("none: fixed", "none: fixed")
    level = threshold(fixed)
    for end, bracket in ((fixed.intervals.low[1], (0.5, fixed.params["k"])),
                         (fixed.intervals.high[1], (fixed.params["k"], 0.9))):   # a stays at 2: χ²(k) alone
        assert end == pytest.approx(optimize.brentq(lambda k: rss(2.0, k) - level, *bracket, xtol=1e-14), rel=1e-7)
    text = str(fixed)
    assert "  a  none: fixed" in text
    assert fixed.to_dict()["intervals"]["notes"] == {"a": {"low": "none: fixed", "high": "none: fixed"}}
    at_bound = gdc.fit(MODEL, DATA, ci="profile", bounds={"k": (0.1, 0.65)}, init={"k": 0.3})
    assert at_bound.held == ("", "at upper bound 0.65")
    assert at_bound.intervals.notes(1) == ("none: at upper bound 0.65",) * 2
    assert "  k  none: at upper bound 0.65" in str(at_bound)
    # the asymptotic intervals say the same, and a saved report reads their ends back as none, not ±inf
    asymptotic = gdc.fit(MODEL, DATA, ci=0.95, fixed={"a": 2.0})
    assert math.isnan(asymptotic.intervals.low[0]) and "  a  none: fixed" in str(asymptotic)


def _curve_with_refits(monkeypatch, *refits):
    """A Profile whose refits give `refits` in turn: (χ², converged, why)."""
    given = iter(refits)
    monkeypatch.setattr(pl.Profile, "_refit", lambda self, origin, value, iterations: next(given))
    return pl.Profile(None, np.array([1.0, 2.0]), 0, "a", 10.0, None)


def test_a_refit_whose_chi2_is_not_finite_takes_its_converged_retry(monkeypatch):
    """A first refit that ends on a NaN χ² and a retry that converges: the retry's χ² decides
    (a NaN kept instead would read as below the threshold, and the walk would go on past it)."""
    assert _curve_with_refits(monkeypatch, (math.nan, False, "not finite"), (12.5, True, ""))(1.5) == 2.5
    curve = _curve_with_refits(monkeypatch, (math.nan, False, "not finite"), (math.nan, False, "not finite"))
    with pytest.raises(pl.Unknown, match="χ² is not finite at a = 1.5"):
        curve(1.5)
    # the walk's end says so: the best point, then a step of one standard error (0.1) up
    walked = _curve_with_refits(monkeypatch, (0.0, True, ""), (math.nan, False, "x"), (math.nan, False, "x"))
    low, why = pl.end(walked, 1.0, 0.1, 1.0, math.inf, math.inf)
    assert math.isnan(low) and why == "unknown, χ² is not finite at a = 1.1"
