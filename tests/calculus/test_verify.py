"""gdc.calculus.verify: the oracle every derivation step passes. Unequal pairs it must reject,
equal pairs it must accept, what it cannot decide reported as undecided, never as equal."""

from __future__ import annotations

import dataclasses

import pytest
import sympy
from sympy import Abs, Heaviside, KroneckerDelta, Max, Min, Rational, asin, exp, log, sign, sqrt

from gdc.calculus import derive as derive_module
from gdc.calculus import hessian as hessian_module
from gdc.calculus.derivation import UNDECIDED
from gdc.explain.hessian import hessian_json, hessian_text
from gdc.calculus.derivation import UNDECIDED
from gdc.calculus.derive import derive
from gdc.calculus.rules import FUNCTION_RULES, KINK_RULES
from gdc.calculus.indexed import index_symbol, shaped, size_symbol
from gdc.calculus.functions import PerSample, SampleSum, clip, hypot, log10, mean, relu, sigmoid, softplus
from gdc.calculus.symbolic import symbolic
from gdc.calculus.verify import Verdict, compare, equal
from gdc.errors import InternalError
from gdc.explain import render
from gdc.language.frontend import check_text

x, y, z, m = sympy.symbols("x y z m", real=True)
X = PerSample("X", real=True)
Y = PerSample("Y", real=True)
d = size_symbol("d")
j, k = index_symbol("j"), index_symbol("k")
w = shaped("w", (d,))
v = shaped("v", (d,), per_sample=True)


def element_sum(body):
    return sympy.Sum(body, (k, 0, d - 1))


# (a, b, why): each pair differs somewhere on the real domain, or as a function at all.
UNEQUAL = [
    (log(-x**2 - 1), 2 * log(-x**2 - 1), "defined for no real x: complex points tell them apart"),
    (asin(x + 3), asin(x + 3) + Rational(1, 1000), "defined on [−4, −2] only, outside the usual box"),
    (log(x - 5), log(x - 5) + Rational(1, 10**6), "defined for x > 5 only"),
    (log(x**2) / 2, log(x), "equal where both are defined; the left one is also defined for x < 0"),
    (sqrt(x) * sqrt(y), sqrt(x * y), "equal for x, y > 0; only the right one is defined for x, y < 0"),
    (log(x - 5) + log(5 - x), sympy.S.Zero, "the left one is defined nowhere"),
    (Abs(x), x, "agree where x > 0"),
    (Max(x, 0), x, "agree where x > 0"),
    (Max(x, y), x, "agree where x > y"),
    (Min(x, 0), sympy.S.Zero, "agree where x > 0"),
    (Heaviside(x), sympy.S.One, "agree where x > 0"),
    (sign(x), sympy.S.One, "agree where x > 0"),
    (Max(x, 0) * Max(y, 0), Max(x, 0) * y, "agree except where x > 0 > y: a quarter of the signed points"),
    (Abs(x) * Abs(y), x * y, "agree where x and y have one sign"),
    (x**2, x, "agree at 0 and 1 only"),
    (sympy.sin(x), x, "agree at 0 only, and nearly near it"),
    (SampleSum(X), 3 * mean(X), "agree when there are three samples"),
    (mean(X), X, "a mean is not its term"),
    (mean(X * m), mean(X) * X, "one factor taken out of the mean, the other left behind"),
    (log(1 - sigmoid(z)), -softplus(z) + Rational(1, 10**6), "a millionth apart"),
    (2 * w[j], 2 * w[0], "the element j against element 0"),
    (KroneckerDelta(2, j) * w[2], sympy.S.Zero, "zero except at the element j = 2"),
    (element_sum(w[k]), 3 * w[0], "a sum over d elements against three copies of one"),
    (element_sum(w[k] * v[k]), element_sum(w[k]) * element_sum(v[k]), "Σ wₖvₖ is not Σ wₖ · Σ vₖ"),
    (m * KroneckerDelta(3, j) + w[j], w[j], "∂/∂w[j] of m·w[3] lost: 0 wherever d ≤ 3, sizes too small for w[3]"),
    (element_sum(w[k] * KroneckerDelta(k, 3)), sympy.S.Zero, "Σₖ wₖ·δₖ₃ is w[3], which d ≤ 3 has not"),
    # A kink that turns outside the usual box (−2, 2): its switch must be seen both ways.
    (Max(x, 40), sympy.Integer(40), "agree for x < 40: the whole usual box"),
    (x * Heaviside(x - 50), sympy.S.Zero, "agree for x < 50"),
    (clip(x, -5, 5), x, "agree for |x| < 5"),
    (Abs(x - 3), 3 - x, "agree for x < 3"),
    (Heaviside(exp(x) - 20), sympy.S.Zero, "the switch turns at x = ln 20"),
    (mean(m * Heaviside(X - 5)), sympy.S.Zero, "the switch inside a mean turns at X = 5"),
    (x * Heaviside(m * x + z + 10) * Heaviside(10 - m * x - z), x * Heaviside(m * x + z + 10),
     "clip's derivative without its upper end"),
    # Floats agree to 1e−7: 40 digits at the point with the largest values tell these apart.
    (x * (1 + Rational(1, 10**9)), x, "a billionth apart"),
    (exp(100 * x) * (1 + Rational(1, 10**10)), exp(100 * x), "near 0 at most points of the usual box"),
    (Abs(x) * (1 + Rational(1, 10**9)), Abs(x), "a billionth apart, with a kink"),
]

# (a, b, why): each pair is the same real function (wherever either is defined, or off a point).
EQUAL = [
    (Max(x, 0), (x + Abs(x)) / 2, "the kink both ways"),
    (Heaviside(x) * x, Max(x, 0), "0 on one side, x on the other"),
    (Abs(x) * sign(x), x, "sign(0) = 0 keeps it at 0 too"),
    ((x**2 - 1) / (x - 1), x + 1, "except at x = 1"),
    (softplus(z) - softplus(-z), z, "log(1 + eᶻ) − log(1 + e⁻ᶻ)"),
    (sigmoid(z) * (1 - sigmoid(z)), exp(-z) / (1 + exp(-z))**2, "σ′ two ways"),
    (log(1 - sigmoid(z)), -softplus(z), "the stable form"),
    (sqrt(x - 5)**3, (x - 5) * sqrt(x - 5), "defined for x > 5 only: the wider boxes"),
    ((log(-x**2 - 1))**2 - 1, (log(-x**2 - 1) - 1) * (log(-x**2 - 1) + 1), "defined nowhere: complex points"),
    (mean(2 * X * m), 2 * m * mean(X), "a constant out of a mean"),
    (SampleSum(X) + SampleSum(X**2), SampleSum(X + X**2), "sums add"),
    (sympy.diff(element_sum(w[k]**2), w[j]), 2 * w[j], "Σₖ 2wₖδⱼₖ, the deltas collapsed"),
    (KroneckerDelta(2, j) * w[2] + 2 * w[j], 2 * w[j] + KroneckerDelta(j, 2) * w[j], "at j = 2 and elsewhere"),
    (element_sum(w[k] * v[k] + w[k]), element_sum(w[k] * v[k]) + element_sum(w[k]), "element sums add"),
    (Max(x, 40) + Min(x, 40), x + 40, "the switch x − 40 turns in the wider boxes"),
    (sqrt(x) * Abs(x), sqrt(x) * x, "|x| turns where neither side is defined"),
    (sign(Y - hypot(Y, m)) * 2 * m, -2 * m * -sign(Y - hypot(Y, m)), "a switch that never turns, on both sides"),
    (-2 * sign(x**-2) / x**3, -2 / x**3, "x⁻² is never negative, as sympy shows where x ≠ 0"),
]


@pytest.mark.parametrize("a, b, why", UNEQUAL, ids=[why for *_, why in UNEQUAL])
def test_the_verifier_rejects_what_differs(a, b, why):
    assert compare(a, b) is Verdict.UNEQUAL
    assert compare(b, a) is Verdict.UNEQUAL
    assert not equal(a, b)


@pytest.mark.parametrize("a, b, why", EQUAL, ids=[why for *_, why in EQUAL])
def test_the_verifier_accepts_what_is_equal(a, b, why):
    assert compare(a, b) is Verdict.EQUAL
    assert compare(b, a) is Verdict.EQUAL


def test_a_node_the_verifier_does_not_know_is_a_bug_not_undefined():
    weird = sympy.Function("weird")
    with pytest.raises(InternalError, match="cannot evaluate weird"):
        compare(weird(x), weird(x) + 1)
    with pytest.raises(InternalError, match="free index"):
        compare(j * x, x)


def test_a_kink_never_seen_turning_is_undecided_unless_its_value_does_not_matter():
    """Y − hypot(Y, m) ≤ 0: sign of it is −1 or 0 wherever defined, which no point shows; and
    x − 1000 turns beyond the widest box. Equal whatever value the kink takes is shown."""
    never = sign(Y - hypot(Y, m))
    assert compare(never, sympy.S.NegativeOne) is Verdict.UNDECIDED
    assert compare(x * Heaviside(x - 1000), sympy.S.Zero) is Verdict.UNDECIDED
    assert compare(mean(X * sign(X - 1000)), mean(X) * sign(X - 1000)) is Verdict.UNDECIDED
    assert compare(never * (m + 1), never * m + never) is Verdict.EQUAL


def test_float_constants_that_agree_to_nine_digits_are_not_equal():
    """ln 10 written as a decimal of ten digits: not shown equal (with a kink, no complex points
    tell it, and a side with a float constant cannot be called unequal by its last digits)."""
    assert compare(1 / (x * log(10)), 1 / (x * sympy.Float("2.302585093"))) is Verdict.UNEQUAL
    assert compare(Abs(x) / 3, sympy.Float("0.333333333") * Abs(x)) is Verdict.UNDECIDED


def test_what_no_point_and_no_algebra_settles_is_undecided():
    """|log(−x² − 1)| is real for no real x, and |·| has no analytic continuation to compare."""
    nowhere = Abs(log(-x**2 - 1))
    assert compare(nowhere, nowhere + 1) is Verdict.UNDECIDED
    assert not equal(nowhere, nowhere + 1)
    assert compare(nowhere * 2, nowhere + nowhere) is Verdict.EQUAL     # sympy: the same expression


# ---------------------------------------------------------------- undecided steps in a derivation

LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"


def test_a_derivation_with_undecided_steps_prints_no_check_mark(monkeypatch):
    monkeypatch.setattr(derive_module, "compare", lambda a, b, domain=None: Verdict.UNDECIDED)
    d = derive(symbolic(check_text(LINEAR)))
    assert not d.verified
    steps = [s for root in d.steps for s in root.walk()]
    assert steps and not any(s.verified for s in steps) and not any(u.verified for u in d.updates)
    assert all(UNDECIDED in s.note for s in steps if s.rule != derive_module.LOSS)
    text = render(d, "text")
    assert "✓" not in text and UNDECIDED in text and "Not every step is verified" in text
    assert "✓" not in render(d, "markdown")
    assert '"verified": true' not in render(d, "json")


def test_one_undecided_step_is_marked_and_the_others_keep_their_check(monkeypatch):
    sm = symbolic(check_text(LINEAR))
    gradient_of_b = sympy.diff(sm.loss, sm.params[1])
    real = derive_module.compare
    monkeypatch.setattr(derive_module, "compare",   # only the checks against ∂J/∂b itself
                        lambda a, b, domain=None: Verdict.UNDECIDED if gradient_of_b in (a, b)
                            else real(a, b, domain=domain))
    d = derive(sm)
    partial_m, partial_b = d.partial_steps
    assert partial_m.verified and not partial_b.verified and not d.linearity_step.verified
    assert partial_b.note == UNDECIDED and not d.verified
    text = render(d, "text")
    assert "✓" in text and f"({UNDECIDED})" in text and "Not every step is verified" in text


def test_a_clip_rule_that_forgets_an_end_beyond_the_usual_box_is_caught(monkeypatch):
    """Without H(10 − u), ∂/∂m clip(m·x + b, −10, 10) agrees wherever m·x + b < 10: it was shown ✓."""
    rule = KINK_RULES[clip]
    forgets = lambda u, lo, hi: (Heaviside(u - lo), Heaviside(lo - u), Heaviside(u - hi))  # noqa: E731
    monkeypatch.setattr(rule, "entry", dataclasses.replace(rule.entry, partials=forgets))
    with pytest.raises(InternalError, match="the clip rule gave"):
        derive(symbolic(check_text("model y = clip(m*x + b, -10, 10)\nloss mean((y - Y)^2)\n")))


def test_a_rule_with_ln_10_to_ten_digits_is_caught(monkeypatch):
    """d/du log₁₀ u = 1/(2.302585093·u): a billionth off, which floats (to 1e−7) did not see."""
    rule = FUNCTION_RULES[log10]
    monkeypatch.setattr(rule, "entry", dataclasses.replace(
        rule.entry, derivative=lambda u: 1 / (u * sympy.Float("2.302585093"))))
    with pytest.raises(InternalError, match="the log10 rule gave"):
        derive(symbolic(check_text("model y = log10(m*x + b)\nloss mean((y - Y)^2)\n")))


def test_a_relu_rule_with_another_value_at_the_kink_is_not_verified(monkeypatch):
    """d/du relu(u) = H(u) with H(0) = 1 is sympy.diff's H(u) (H(0) = 1/2) off u = 0, which no random
    point lands on; at m = b = 0, where a fit may start, every u = m·x + b is 0 and it differs."""
    rule = FUNCTION_RULES[relu]
    monkeypatch.setattr(rule, "entry", dataclasses.replace(rule.entry, derivative=lambda u: Heaviside(u, 1)))
    d = derive(symbolic(check_text("model y = relu(m*x + b)\nloss mean((y - Y)^2)\n")))
    assert not d.verified
    assert not any(s.verified for root in d.steps for s in root.walk() if s.rule == "relu rule")
    assert compare(x * Heaviside(m * x + z, 1), x * Heaviside(m * x + z)) is Verdict.UNDECIDED
    assert compare(2 * Heaviside(x) - 1, sign(x)) is Verdict.EQUAL    # 0 at x = 0 both
    window = x * Heaviside(x - 50) * Heaviside(60 - x)     # no point of a box lands in (50, 60)
    assert compare(window, sympy.S.Zero) is Verdict.UNDECIDED     # on the kink x = 50 it is 25


def test_the_derivation_of_the_examples_is_verified():
    d = derive(symbolic(check_text(LINEAR)))
    assert d.verified and "Not every step" not in render(d, "text")


# ---------------------------------------------------------------- the hessian uses the same verifier


DECAY = "model y = a*exp(-k*x)\nloss mean((y - Y)^2)\n"


def test_hessian_entries_go_through_the_verifier(monkeypatch):
    sm = symbolic(check_text(DECAY))
    d = derive(sm)
    seen = []
    monkeypatch.setattr(hessian_module, "compare", lambda a, b: seen.append((a, b)) or Verdict.EQUAL)
    report = hessian_module.hessian_report(sm, dict(d.partials))
    assert len(seen) == len(report.entries) == 3 and not report.undecided


def test_a_wrong_second_derivative_is_caught(monkeypatch):
    sm = symbolic(check_text(DECAY))
    d = derive(sm)
    real = hessian_module.second_derivatives
    monkeypatch.setattr(hessian_module, "second_derivatives",
                        lambda sm, partials: {key: 1.0001 * e for key, e in real(sm, partials).items()})
    with pytest.raises(InternalError, match="differs from sympy.diff"):
        hessian_module.hessian_report(sm, dict(d.partials))


def test_an_undecided_second_derivative_is_marked(monkeypatch):
    sm = symbolic(check_text(DECAY))
    d = derive(sm)
    monkeypatch.setattr(hessian_module, "compare", lambda a, b: Verdict.UNDECIDED)
    report = hessian_module.hessian_report(sm, dict(d.partials))
    assert len(report.undecided) == 3
    assert hessian_text(report).count(UNDECIDED) == 3
    assert not any(e["verified"] for e in hessian_json(report)["entries"])
