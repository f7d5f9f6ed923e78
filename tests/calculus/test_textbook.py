"""The forms a textbook prints, each shown as a verified step: the sign pulled in front of a sum
kept the way round it is written, −2(xᵢ − μ), and Huber's gradient as a clip of the residual."""

from __future__ import annotations

import sympy

from gdc.calculus.derive import derive
from gdc.calculus.functions import clip, where
from gdc.calculus.symbolic import symbolic
from gdc.explain.text import render
from gdc.language.frontend import check_text


def derivation(text):
    d = derive(symbolic(check_text(text)))
    assert d.verified and all(step.verified for root in d.steps for step in root.walk())
    return d


def test_the_sign_is_pulled_in_front_of_the_sum_as_written():
    text = render(derivation("param mu\ndata X\nmodel y = mu\nloss mean((X - y)^2)\n"), width=None)
    assert "∂J/∂μ = −2/N Σᵢ (Xᵢ − μ)" in text and "μ − Xᵢ" not in text.split("Update rules")[0]
    assert "μ ← μ + 2α/N Σᵢ (Xᵢ − μ)" in text


def test_the_written_orientation_of_the_usual_residual_is_kept():
    text = render(derivation("model y = m*x + b\nloss mean((y - Y)^2)\n"), width=None)
    assert "= 2(yᵢ − Yᵢ)" in text and "−2(Yᵢ − yᵢ)" not in text


HUBER = "model y = m*x + b\nloss mean(where(abs(y - Y) <= 1.35, (y - Y)^2/2, 1.35*(abs(y - Y) - 0.675)))\n"


def test_hubers_gradient_is_a_clip_of_the_residual():
    d = derivation(HUBER)
    for partial in d.partials.values():
        assert partial.has(clip) and not partial.has(where)
    text = render(d, width=None)
    assert "the pieces are a clip of yᵢ − Yᵢ: ∂ℓᵢ/∂yᵢ = clip(yᵢ − Yᵢ, −1.35, 1.35) ✓" in text
    assert "∂J/∂b = 1/N Σᵢ clip(m·xᵢ + b − Yᵢ, −1.35, 1.35)" in text


def test_no_clip_where_the_threshold_may_be_negative():
    """With the threshold a parameter, where(|r| < d, r, d·sign(r)) is not clip(r, −d, d) for
    d < 0: the verifier refuses the candidate and the where form stays."""
    d = derivation("model y = m*x + b\nloss mean(where(abs(y - Y) <= d, (y - Y)^2/2, d*(abs(y - Y) - d/2)))\n")
    m = sympy.Symbol("m", real=True)
    assert d.partials[m].has(where) and not d.partials[m].has(clip)
