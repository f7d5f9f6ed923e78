"""Fits that were reported converged although their answer was not a minimum to the stated
tolerance (the honest-fits audit of 2026-12): each case from a small problem with an oracle."""

from __future__ import annotations

import numpy as np
import pytest

import gdc

# --- a gap over columns of very different sizes ----------------------------------------------------

SCALED = "model y = a*x*1e-8 + b*z*1e8; loss mean((y - Y)^2)"


def scaled_data() -> dict:
    x = np.linspace(1.0, 2.0, 30)
    z = np.linspace(-1.0, 1.0, 30) ** 2
    return {"x": x, "z": z, "Y": x + 3.0 * z + 1e-3 * np.cos(9.0 * x)}


def scaled_optimum() -> float:
    data = scaled_data()
    design = np.column_stack([data["x"] * 1e-8, data["z"] * 1e8])
    coef, *_ = np.linalg.lstsq(design / np.linalg.norm(design, axis=0), data["Y"], rcond=None)
    return float(np.mean((design / np.linalg.norm(design, axis=0) @ coef - data["Y"]) ** 2))


@pytest.mark.parametrize("method", ["gd", "lbfgs"])
def test_a_parameter_whose_column_is_1e16_smaller_still_counts_in_the_gap(method):
    # gd and lbfgs stop at once (∂J/∂a ≈ 1e-8); the Gauss–Newton gap dropped a's direction as
    # numerically rank-deficient and certified loss 1.09, where the minimum is 4.1e-7
    result = gdc.fit(SCALED, scaled_data(), method=method, init={"a": 1, "b": 1})
    assert result.loss > 1.0 and not result.converged and result.reason == "stalled", result.message
    assert result.gap == pytest.approx(result.loss - scaled_optimum(), rel=1e-6)


def test_lm_reaches_the_minimum_of_the_badly_scaled_columns_and_certifies_it():
    result = gdc.fit(SCALED, scaled_data(), method="lm", init={"a": 1, "b": 1})
    assert result.converged and result.certified
    assert result.loss == pytest.approx(scaled_optimum(), rel=1e-9)
