"""gdc.calculus.derive: every example derives with every step verified, partials equal sympy.diff."""

from __future__ import annotations

import json
import random

import mpmath
import numpy as np
import pytest
import sympy

import oracles

from gdc.calculus import rules
from gdc.calculus.derivation import Derivation
from gdc.calculus.derive import Step, derive
from gdc.errors import GdcError, InternalError
from gdc.explain import render
from gdc.language.frontend import check_text
from gdc.calculus.stable import stabilize
from gdc.calculus.functions import PerSample, SampleSum, mean, sigmoid, softplus
from gdc.calculus.symbolic import symbolic
from gdc.calculus.verify import equal
from locations import EXAMPLES

NAMES = sorted(p.stem for p in EXAMPLES.glob("*.gd"))


def model_of(text: str, where: str = "<test>", data=None):
    return symbolic(check_text(text, where, data))


def example(name: str):
    path = EXAMPLES / f"{name}.gd"
    return model_of(path.read_text(encoding="utf-8"), f"examples/{name}.gd")


@pytest.fixture(scope="module")
def derivations() -> dict[str, Derivation]:
    return {name: derive(example(name)) for name in NAMES}


# ---------------------------------------------------------------- oracles independent of gdc

# The shaped examples' losses in numpy, written from their mathematics; P maps each parameter's
# name to its value (an array for a vector or matrix), x is (N, d), Y is (N,).
def _logistic_np(P, x, Y):
    z = x @ P["w"] + P["b"]
    return np.mean(-Y * np.log(1 / (1 + np.exp(-z))) - (1 - Y) * np.log(1 - 1 / (1 + np.exp(-z)))) \
        + 0.001 * np.sum(P["w"] ** 2)


def _softmax_np(P, x, Y):
    """Cross-entropy of softmax regression, written the naive way (complex steps pass through)."""
    z = x @ P["W"].T + P["c"]
    log_p = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return np.mean(-np.sum(Y * log_p, axis=1)) + 0.01 * np.sum(P["W"] ** 2)


SHAPED_LOSSES = {
    "diabetes": lambda P, x, Y: np.mean((x @ P["w"] + P["b"] - Y) ** 2),
    "breast_cancer": _logistic_np,
    "network": lambda P, x, Y: np.mean((np.tanh(x @ P["W"].T + P["c"]) @ P["v"] + P["a"] - Y) ** 2),
    "softmax": lambda P, x, Y: _softmax_np(P, x, Y),
}
SHAPED_SIZES = {"d": 3, "K": 3}
ROWS = 4


def shaped_point(d: Derivation, seed: int = 0):
    """Parameter values (arrays of their shapes) and data for a shaped model, sizes d = 3."""
    rng = np.random.default_rng(seed)
    values = oracles.parameter_values(d.model.params, SHAPED_SIZES, rng, 0.5)
    shaped_y = any(x.name == "Y" and isinstance(x, sympy.IndexedBase) for x in d.model.data)
    data = {"x": rng.uniform(-1, 1, (ROWS, 3)), "Y": rng.uniform(0.1, 0.9, (ROWS, 3) if shaped_y else ROWS)}
    if any(x.labels for x in d.model.checked.data):   # `data Y[K] from labels`: one-hot rows
        data["Y"] = np.eye(3)[rng.integers(0, 3, ROWS)]
    return values, data


def elements(var, values) -> list[tuple[dict, tuple]]:
    """Each element of a parameter (every one of a vector; corners and a middle of a matrix),
    as the free-index values of ∂J/∂w[j] and the numpy index."""
    if not isinstance(var, sympy.Indexed):
        return [({}, ())]
    shape = np.shape(values[var.base.label.name])
    if len(shape) == 1:
        return [({var.indices[0].name: j}, (j,)) for j in range(shape[0])]
    picks = {(0, 0), (shape[0] - 1, shape[1] - 1), (shape[0] // 2, 1 % shape[1]), (0, shape[1] - 1)}
    return [({var.indices[0].name: j, var.indices[1].name: k}, (j, k)) for j, k in sorted(picks)]


def assert_shaped_partials(d: Derivation, name: str, partials: dict, per_sample: bool = False):
    """Each partial, evaluated by the tests' evaluator at every element, against the complex step
    of the numpy loss (per_sample: of the loss on one row, the penalty kept)."""
    values, data = shaped_point(d)
    loss = SHAPED_LOSSES[name]
    rows = [{k: v[i:i + 1] for k, v in data.items()} for i in range(ROWS)] if per_sample else [data]
    for var, partial in partials.items():
        for free, where in elements(var, values):
            for row, one in enumerate(rows):
                at = oracles.Evaluator({**values, **SHAPED_SIZES, **free}, data, row=row if per_sample else None)
                got = at(partial)
                want = oracles.complex_step(lambda P: loss(P, one["x"], one["Y"]), values, oracles_name(var), where)
                assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (name, var, where)


def oracles_name(var) -> str:
    return var.base.label.name if isinstance(var, sympy.Indexed) else var.name


def assert_scalar_partials(d: Derivation, text: str, partials: dict, per_sample: bool = False):
    """Each partial against sympy.diff of the model as sympy's parser reads it (oracles.py), at
    three points, evaluated by the tests' evaluator in 30 digits."""
    model = oracles.ScalarModel(text, [p.name for p in d.model.params], [x.name for x in d.model.data])
    loss = model.per_sample_loss() if per_sample else model.loss
    rng = np.random.default_rng(1)
    for _ in range(3):
        values = {p.name: rng.uniform(0.2, 1.5) for p in model.params}
        data = {x.name: rng.uniform(0.1, 0.9, ROWS) for x in model.data}
        for row in range(ROWS) if per_sample else [None]:
            with mpmath.workdps(30):
                at = oracles.Evaluator(values, data, precise=True, row=row)
                for param, partial in partials.items():
                    want = at(oracles.gradient(loss, sympy.Symbol(param.name, real=True)))
                    assert abs(at(partial) - want) <= 1e-15 * (1 + abs(want)), (text, param)


def assert_matches_diff(d: Derivation, name: str, partials: dict, per_sample: bool = False):
    if name in SHAPED_LOSSES:
        assert_shaped_partials(d, name, partials, per_sample)
    else:
        assert_scalar_partials(d, (EXAMPLES / f"{name}.gd").read_text(encoding="utf-8"), partials, per_sample)


def values_equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """a = b by sympy's expansion, or at five random points (means over three samples), by
    evalf; points where either is not a finite real number are drawn again, and fewer than
    five such points in 40 is a failure."""
    if sympy.expand(a - b) == 0:
        return True
    rng = random.Random(7)
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    agreed = 0
    for _ in range(40):
        point = {s.name: rng.uniform(-1.5, 1.5) for s in symbols if not isinstance(s, PerSample)}
        data = {s.name: np.array([rng.uniform(-1.5, 1.5) for _ in range(3)]) for s in symbols
                if isinstance(s, PerSample)}
        try:
            with mpmath.workdps(30):
                at = oracles.Evaluator(point, data, precise=True)
                va, vb = at(a), at(b)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if abs(va - vb) > 1e-20 * (1 + abs(va)):
            return False
        agreed += 1
        if agreed == 5:
            return True
    return False


def all_steps(d: Derivation):
    for root in d.steps:
        yield from root.walk()


# ---------------------------------------------------------------- the examples


@pytest.mark.parametrize("name", NAMES)
def test_every_step_is_verified(derivations, name):
    d = derivations[name]
    steps = list(all_steps(d))
    assert steps and all(s.verified for s in steps)
    assert all(isinstance(s, Step) and s.rule for s in steps)


def test_every_shaped_example_has_a_numpy_oracle():
    shaped = {name for name in NAMES if example(name).shaped}
    assert shaped == set(SHAPED_LOSSES)


@pytest.mark.parametrize("name", NAMES)
def test_partials_equal_sympy_diff(derivations, name):
    d = derivations[name]
    for param, partial in d.partials.items():
        assert not partial.has(sympy.Derivative, sympy.KroneckerDelta)
        if not d.model.shaped:
            assert partial.free_symbols <= set(d.model.params) | set(d.model.data)
    assert_matches_diff(d, name, d.partials)


@pytest.mark.parametrize("name", NAMES)
def test_json_partials_parse_back_to_sympy_diff(derivations, name):
    d = derivations[name]
    out = json.loads(render(d, "json"))
    names = {str(s): s for s in d.model.params + d.model.data}
    indices = {s.name: s for e in (d.model.loss, *d.partials.values(), *d.partials)
               for s in e.free_symbols | {k for node in e.atoms(sympy.Sum) for k, *_ in node.limits}
               if s.is_integer}
    local = {"mean": mean, "sum": SampleSum, "Sum": sympy.Sum, "sigmoid": sigmoid, "softplus": softplus,
             "Heaviside": sympy.Heaviside, "sign": sympy.sign, **indices, **names,
             # the JSON writes where as the language does, its condition a comparison
             "where": lambda condition, a, b: sympy.Piecewise((a, condition), (b, True))}
    assert out["parameters"] == [str(p) for p in d.model.params]
    assert out["data"] == [str(x) for x in d.model.data]
    assert out["verified"] is True
    parsed = {param: sympy.parse_expr(out["partials"][str(param)], local_dict=local)
              for param in d.model.elements}
    assert_matches_diff(d, name, parsed)


@pytest.mark.parametrize("name", NAMES)
def test_sgd_partials_are_the_per_sample_gradient(derivations, name):
    d = derivations[name]
    for g in d.sgd_partials.values():
        assert not g.has(mean, SampleSum)
    assert_matches_diff(d, name, d.sgd_partials, per_sample=True)


def test_linear_partials_read_as_in_a_textbook(derivations):
    d = derivations["linear"]
    m, b = d.model.params
    x, Y = d.model.data
    assert d.partials[m] == 2 * mean(x * (m * x + b - Y))
    assert d.partials[b] == 2 * mean(m * x + b - Y)
    names = [s.title() for s in all_steps(d)]
    for rule in ("power rule", "chain rule", "difference rule", "sum rule", "constant multiple rule",
                 "linearity", "factor out the constant 2", "substitute the model y"):
        assert rule in names


def test_logistic_gradient_is_prediction_minus_target(derivations):
    d = derivations["logistic"]
    w1 = d.model.params[0]
    x1, Y = d.model.data[0], d.model.data[-1]
    z = d.model.prediction.args[0]
    assert d.partials[w1] == mean(x1 * (sigmoid(z) - Y))
    assert "p(1 − p) cancels" in [s.title() for s in all_steps(d)]


def test_shared_derivative_is_derived_once(derivations):
    d = derivations["linear"]
    y = d.model.prediction_symbol
    shared = [s for s in all_steps(d) if s.quantity is not None and s.quantity.args[1:] == ((y, 1),)
              and s.quantity.expr.name == "ell"]
    assert len(shared) == 1
    assert len(d.shared_steps) == 1
    assert sympy.expand(d.shared_steps[0].after - 2 * (y - d.model.data[1])) == 0


def test_huber_shares_one_derivative_per_definition(derivations):
    d = derivations["huber"]
    assert [s.quantity.variables[0].name for s in d.shared_steps] == ["q", "r", "y"]


def test_fresh_names_are_never_reused(derivations):
    for d in derivations.values():
        fresh = [sym for s in all_steps(d) for sym, _ in s.where if isinstance(sym, rules.Fresh)]
        assert len(fresh) == len(set(fresh))


def test_rules_at_the_kinks_follow_the_documented_convention(derivations):
    d = derivations["relu"]
    a, w, c = d.model.params
    (x, Y) = d.model.data
    assert d.partials[w].has(sympy.Heaviside(w * x + c))
    assert sympy.Heaviside(0) == sympy.S.Half


def test_update_rules_fold_the_constant_and_name_the_error(derivations):
    d = derivations["linear"]
    m = d.model.params[0]
    update = d.updates[0]
    assert update.param == m and update.factor == 2
    assert update.error == d.model.prediction_symbol - d.model.data[1]
    assert str(update.folded) == "Error*x"


def test_ridge_penalty_stays_in_the_per_sample_gradient(derivations):
    d = derivations["ridge"]
    m = d.model.params[0]
    assert d.sgd_partials[m].has(m / 50)


def test_stable_log_loss(derivations):
    d = derivations["logistic"]
    assert not d.stable_loss.has(sympy.log)
    assert d.stable_rewrites[:2] == ("log σ(z) = −softplus(−z)", "log(1 − σ(z)) = −softplus(z)")
    assert values_equal(d.stable_loss, d.model.loss)


def test_design_card_one_liner():
    d = derive(model_of("model y = m*x + b; loss mean((y - Y)^2)"))
    assert [p.name for p in d.partials] == ["m", "b"]


def test_derivation_is_deterministic():
    text = (EXAMPLES / "huber.gd").read_text(encoding="utf-8")
    first = render(derive(model_of(text)), "json")
    assert render(derive(model_of(text)), "json") == first


# ---------------------------------------------------------------- parameters to derive


def test_wrt_limits_to_one_parameter():
    d = derive(example("linear"), ["b"])
    assert list(d.partials) == [sympy.Symbol("b", real=True)]
    assert len(d.partial_steps) == 1 and len(d.updates) == 1


@pytest.mark.parametrize("name, words", [("z", "not a parameter"), ("x", "a data column")])
def test_wrt_unknown_name_is_a_user_error(name, words):
    with pytest.raises(GdcError) as err:
        derive(example("linear"), [name])
    assert words in err.value.message and "m, b" in err.value.hint


# ---------------------------------------------------------------- wrong results are caught


def test_a_rule_is_checked_where_its_function_is_defined():
    """sympy.diff of log(m^b) is b/m, defined for m < 0 where log(m^b) (and the chain rule's
    b·m^(b−1)/m^b) is not: the check passes over those points instead of calling it a bug."""
    d = derive(symbolic(check_text("model y = log(m^b)*x\nloss mean((y - Y)^2)", "<test>", None)))
    assert all(step.verified for top in d.partial_steps for step in top.walk())
    from gdc.calculus.verify import Verdict, compare
    m, b = sympy.symbols("m b", real=True)
    chain = b * m ** (b - 1) / m ** b
    assert compare(chain, b / m) is Verdict.UNEQUAL            # as functions of every real m
    assert compare(chain, b / m, domain=sympy.log(m ** b)) is Verdict.EQUAL
    assert compare(2 * chain, b / m, domain=sympy.log(m ** b)) is Verdict.UNEQUAL


def test_a_wrong_rule_result_is_caught(monkeypatch):
    monkeypatch.setattr(rules.PowerRule, "outer_derivative", lambda self, e: e.exp * e.base ** e.exp)
    with pytest.raises(InternalError, match="power rule"):
        derive(example("linear"))


def test_a_wrong_function_rule_is_caught(monkeypatch):
    monkeypatch.setattr(rules.FUNCTION_RULES[sigmoid], "derivative", lambda u: sigmoid(u) ** 2)
    with pytest.raises(InternalError, match="sigmoid rule"):
        derive(example("logistic"))


def test_a_wrong_rewrite_is_caught(monkeypatch):
    import gdc.calculus.derive as derive_module

    def wrong(expr):
        found = sorted(expr.atoms(mean), key=sympy.default_sort_key)
        return expr.xreplace({r: 3 * mean(r.args[0]) for r in found}), "factor out the constant {0}", (3,)

    monkeypatch.setattr(derive_module, "factor_constants", wrong)
    with pytest.raises(InternalError, match="factor out"):
        derive(example("linear"))


def test_a_rule_that_does_not_apply_raises():
    x = sympy.Symbol("x", real=True)
    with pytest.raises(rules.DoesNotApply):
        rules.FUNCTION_RULES[sympy.exp].split(sympy.sin(x))
    with pytest.raises(rules.DoesNotApply):
        rules.ProductRule().derive(x + 1, x, None)


def test_every_rule_states_itself():
    for cls in [c for c in vars(rules).values() if isinstance(c, type) and issubclass(c, rules.Rule)]:
        if cls not in (rules.Rule, rules.OuterRule, rules.FunctionRule, rules.ArgumentsRule):
            assert cls.__doc__ and cls.name, cls
    for rule in rules.FUNCTION_RULES.values():   # the catalog's rules state themselves in their entries
        assert rule.name.endswith(" rule") and rule.__doc__.startswith("d/du "), rule.name
    for rule in rules.KINK_RULES.values():
        assert rule.name.endswith(" rule") and rule.__doc__.startswith("d/dθ ") or \
            rule.__doc__.startswith("∂/∂a "), rule.name


# ---------------------------------------------------------------- stable forms


def test_stabilize_log_sigmoid_and_log_sum_exp():
    z, a = sympy.symbols("z a", real=True)
    expr, names = stabilize(-sympy.log(sigmoid(z)) - sympy.log(1 - sigmoid(z)))
    assert not expr.has(sympy.log) and values_equal(expr, -sympy.log(sigmoid(z) * (1 - sigmoid(z))))
    assert "log(1 − σ(z)) = −softplus(z)" in names
    lse, names = stabilize(sympy.log(sympy.exp(a) + sympy.exp(z)))
    assert lse.has(sympy.Max) and names == ("log-sum-exp with its shift M = max(a)",)
    assert values_equal(lse, sympy.log(sympy.exp(a) + sympy.exp(z)))
    same, none = stabilize(z**2)
    assert same == z**2 and none == ()


# ---------------------------------------------------------------- the check every step passes


def _logistic(d: int) -> str:
    z = " + ".join(f"w{k}*x{k}" for k in range(1, d + 1)) + " + b"
    return f"model p = sigmoid({z})\nloss mean(-Y*log(p) - (1 - Y)*log(1 - p))\n"


def test_equal_settles_rounding_in_high_precision():
    """Where z is large, log(1 − σ(z)) loses digits in floating point; −softplus(z) does not."""
    z = sympy.Add(*(sympy.Symbol(f"w{k}", real=True) * PerSample(f"x{k}", real=True) for k in range(30)))
    naive = sympy.log(1 - sigmoid(z))
    assert equal(naive, -softplus(z))
    assert not equal(naive, -softplus(z) * (1 + sympy.Rational(1, 10**5)))
    assert not equal(naive, -softplus(z) + sympy.Rational(1, 10**6))


def test_equal_rejects_what_differs_only_at_some_points():
    x = sympy.Symbol("x", real=True)
    assert not equal(sympy.Abs(x), x)
    assert not equal(sympy.Max(x, 0), x)
    assert equal(sympy.Max(x, 0), (x + sympy.Abs(x)) / 2)


def test_wide_logistic_regression_derives_like_sympy():
    d = derive(model_of(_logistic(20)))
    assert len(d.partials) == 21
    for param in (d.params[0], d.params[7], d.params[-1]):
        assert values_equal(d.partials[param], sympy.diff(d.model.loss, param)), param


def test_a_parameter_the_loss_ignores_gets_no_classic_form():
    d = derive(symbolic(check_text("param m, b\nmodel y = m*x\nloss mean((y - Y)^2)")))
    (unused,) = [u for u in d.updates if u.param.name == "b"]
    assert unused.gradient == 0 and unused.classic is None
    assert "factor 0" not in render(d, "text")
