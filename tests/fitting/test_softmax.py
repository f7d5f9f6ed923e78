"""Softmax regression (issue 14): vector models, class labels, the stable log-sum-exp, and the
answer of scikit-learn's multinomial LogisticRegression on its iris data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

import gdc
from gdc.calculus.functions import LogSumExp
from gdc.calculus.indexed import written_out
from gdc.calculus.symbolic import symbolic
from gdc.calculus.verify import Verdict, compare
from gdc.cli import main
from gdc.errors import GdcError
from gdc.io.labels import one_hot
from gdc.language.frontend import check_text
from locations import EXAMPLES

LAMBDA = 0.01
MODEL = (EXAMPLES / "softmax.gd").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def iris():
    table = np.loadtxt(EXAMPLES / "iris.csv", delimiter=",", skiprows=1)
    return np.ascontiguousarray(table[:, :4]), table[:, 4].astype(int)


@pytest.fixture(scope="module")
def kernels():
    return gdc.compile(str(EXAMPLES / "softmax.gd"))


@pytest.fixture(scope="module")
def fitted(iris):
    X, y = iris
    return gdc.fit(str(EXAMPLES / "softmax.gd"), {"x": X, "species": y}, gtol=1e-9, tol=1e-16, epochs=100000)


@pytest.fixture(scope="module")
def reference(iris):
    """scikit-learn's multinomial fit of the same objective: C·Σᵢ loss + ½‖W‖² = N·C·(mean loss
    + ‖W‖²/(2NC)), so C = 1/(2·λ·N); the intercepts are not penalized in either."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = iris
    return linear_model.LogisticRegression(C=1 / (2 * LAMBDA * len(y)), tol=1e-12, max_iter=100000).fit(X, y)


def test_iris_matches_scikit_learn(fitted, reference, kernels, iris):
    X, _ = iris
    assert fitted.converged, fitted.message
    W, c = fitted.params["W"], fitted.params["c"]
    assert W.shape == (3, 4) and c.shape == (3,)
    assert np.abs(W - reference.coef_).max() < 1e-5
    # c + t·1 gives the same probabilities; W's penalty makes W unique, so compare c centred
    assert np.abs((c - c.mean()) - (reference.intercept_ - reference.intercept_.mean())).max() < 1e-5
    probabilities = kernels.predict(np.concatenate([W.ravel(), c]), X)
    assert probabilities.shape == (len(X), 3)
    assert np.abs(probabilities - reference.predict_proba(X)).max() < 1e-5
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_training_accuracy_is_reported(fitted, reference, iris):
    X, y = iris
    report = str(fitted)
    expected = float(np.mean(reference.predict(X) == y))
    assert f"accuracy       {expected:.4%}" in report
    assert gdc.fitting.report.result_json(fitted)["accuracy"] == pytest.approx(expected)


def test_gradient_matches_finite_differences_and_is_finite_at_large_inputs(kernels, iris):
    X, y = iris
    Y = one_hot(y, None, "Y", "species", "test")
    rng = np.random.default_rng(4)
    params = rng.normal(size=15)
    grad = np.empty(15)
    kernels.loss_grad(params, X, Y, grad)
    h = 1e-6
    numeric = [(kernels.loss(params + h * e, X, Y) - kernels.loss(params - h * e, X, Y)) / (2 * h)
               for e in np.eye(15)]
    assert np.allclose(grad, numeric, rtol=1e-6, atol=1e-7)
    big = 1000 * X   # the naive log Σ exp(z) overflows to inf − inf here
    loss = kernels.loss_grad(params, big, Y, grad)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    assert np.isfinite(kernels.predict(params, big)).all()


def test_derivation_shows_the_stable_rewrite_and_p(iris):
    from gdc.calculus.derive import derive
    from gdc.explain import render
    text = render(derive(symbolic(check_text(MODEL))), "text")
    assert "stable form: log(exp(zₖ)/(Σₗ exp(zₗ))) = zₖ − log(Σₗ exp(zₗ))" in text
    assert "logsumexpₙ(cₙ + Σₗ Wₙₗ·xᵢₗ)" in text
    assert "recognise the model p = softmax(z): ∂J/∂cⱼ = −1/N Σᵢ (Yᵢⱼ − pᵢⱼ·Σᵣ Yᵢᵣ) ✓" in text


def test_logsumexp_written_out_has_its_shift_and_equals_the_naive_form():
    z = sympy.IndexedBase("z", shape=(3,))
    k = sympy.Symbol("k", integer=True, nonnegative=True)
    stable = LogSumExp(z[k], (k, 0, 2))
    assert written_out(stable).has(sympy.Max)
    assert compare(stable, stable.naive()) is Verdict.EQUAL
    assert compare(stable, sympy.log(sympy.Sum(sympy.exp(2 * z[k]), (k, 0, 2)))) is Verdict.UNEQUAL


def test_logsumexp_of_the_logits_gives_the_same_loss(kernels, iris):
    """logsumexp(z) − Σₖ Yₖzₖ is −Σₖ Yₖ log softmax(z)ₖ for one-hot Y: same loss and gradient."""
    X, y = iris
    logits = gdc.compile("data x[d], Y[K] from label\nparam W[K, d] = 0, c[K] = 0\n"
                         "model z = W @ x + c\nloss mean(logsumexp(z) - sum(Y * z)) + 0.01*sum(W^2)")
    Y = one_hot(y, None, "Y", "label", "test")
    params = np.random.default_rng(5).normal(size=15)
    g1, g2 = np.empty(15), np.empty(15)
    assert logits.loss_grad(params, X, Y, g1) == pytest.approx(kernels.loss_grad(params, X, Y, g2), rel=1e-12)
    assert np.allclose(g1, g2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("text, message", [
    ("data x[d], Y\nparam w[d]\nmodel p = softmax(dot(w, x))\nloss mean((p - Y)^2)", "softmax takes a vector"),
    ("data x[d], Y[K] from label\nparam W[K, d]\nmodel p = softmax(W)\nloss mean(-sum(Y*log(p)))",
     "softmax takes a vector"),
    ("data x[d], Y from label\nparam w[d]\nmodel p = dot(w, x)\nloss mean((p - Y)^2)", "one element per class"),
])
def test_user_errors(text, message):
    with pytest.raises(GdcError, match=message):
        check_text(text)


def test_bad_labels_are_user_errors():
    with pytest.raises(GdcError, match="not a whole number"):
        one_hot(np.array([0.0, 1.5]), None, "Y", "label", "f.csv")
    with pytest.raises(GdcError, match="out of range"):
        one_hot(np.array([0.0, 3.0]), 3, "Y", "label", "f.csv")
    assert one_hot(np.array([2.0, 0.0]), None, "Y", "label", "f.csv").tolist() == [[0, 0, 1], [1, 0, 0]]


def test_a_labels_model_refuses_probabilities_given_for_its_one_hot_rows(iris):
    """The gradient of a labels model is (p − Y)·x, right for one-hot Y only: a fit given soft rows
    for Y must stop with the row named, never fit a loss its gradient does not belong to."""
    X, y = iris
    soft = np.full((len(y), 3), 1 / 3)
    with pytest.raises(GdcError) as error:
        gdc.fit(str(EXAMPLES / "softmax.gd"), {"x": X, "Y": soft})
    assert "row 1 is [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]" in str(error.value)
    assert "must be one-hot" in str(error.value) and "without `from`" in str(error.value)


def test_cli_fit_save_and_predict_columns(tmp_path, capsys, reference):
    params = tmp_path / "params.json"
    assert main(["fit", str(EXAMPLES / "softmax.gd"), str(EXAMPLES / "iris.csv"), "--save", str(params)]) == 0
    assert "accuracy" in capsys.readouterr().out
    saved = json.loads(params.read_text())["params"]   # the command line's answer is scikit-learn's too
    assert np.abs(np.array(saved["W"]) - reference.coef_).max() < 1e-5
    out = tmp_path / "p.csv"
    assert main(["predict", str(EXAMPLES / "softmax.gd"), str(params), str(EXAMPLES / "iris.csv"),
                 "-o", str(out)]) == 0
    rows = np.genfromtxt(out, delimiter=",", names=True)
    assert rows.dtype.names[-3:] == ("p1", "p2", "p3")
    probabilities = np.column_stack([rows["p1"], rows["p2"], rows["p3"]])
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.mean(np.argmax(probabilities, axis=1) == rows["species"]) > 0.9


def test_digits_ten_classes_match_scikit_learn(tmp_path, capsys):
    """scikit-learn's digits (1797 images, 64 pixels, 10 classes), by L-BFGS on the fused kernel,
    from Python and from the command line."""
    datasets = pytest.importorskip("sklearn.datasets")
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = datasets.load_digits(return_X_y=True)
    X = np.ascontiguousarray(X / 16.0)
    text = MODEL   # the iris model's kernels: K and d are bound by the data (the labels are digits here)
    result = gdc.fit(text, {"x": X, "species": y}, method="lbfgs")
    assert result.converged, result.message
    reference = linear_model.LogisticRegression(C=1 / (2 * LAMBDA * len(y)), tol=1e-12, max_iter=10000).fit(X, y)
    W, c = result.params["W"], result.params["c"]
    assert W.shape == (10, 64)
    assert np.abs(W - reference.coef_).max() < 1e-5
    assert np.abs((c - c.mean()) - (reference.intercept_ - reference.intercept_.mean())).max() < 1e-5
    probabilities = gdc.compile(text).predict(np.concatenate([W.ravel(), c]), X)
    assert np.abs(probabilities - reference.predict_proba(X)).max() < 1e-5
    table = tmp_path / "digits.csv"
    header = ",".join([f"x{k + 1}" for k in range(64)] + ["species"])
    np.savetxt(table, np.column_stack([X, y]), delimiter=",", header=header, comments="", fmt="%.17g")
    capsys.readouterr()
    assert main(["fit", str(EXAMPLES / "softmax.gd"), str(table), "--json", "--quiet"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["method"] == "lbfgs" and printed["converged"]
    assert np.abs(np.array(printed["params"]["W"]) - reference.coef_).max() < 1e-5
    assert np.isfinite(gdc.compile(text).loss(np.concatenate([W.ravel(), c]), X * 1000,
                                              np.eye(10)[y])).all()


def test_with_labels_the_gradient_is_p_minus_y_and_the_kernels_refuse_other_y(kernels, iris):
    text = str(gdc.derive(str(EXAMPLES / "softmax.gd")))
    assert "1/N Σᵢ (pᵢⱼ − Yᵢⱼ)·xᵢₖ" in text and "each row of Y sums to 1" in text
    X, y = iris
    with pytest.raises(GdcError, match="each row must be one-hot .*; row 1 is"):
        kernels.loss_grad(np.zeros(15), X, np.full((len(y), 3), 1 / 3), np.zeros(15))


def test_the_readme_numbers_for_iris_hold(fitted, reference, kernels, iris):
    """README, "Classification with more than two classes": within 2e-6 of scikit-learn in W and
    in the probabilities, and Σₖ cₖ kept at its start 0 (the gradient's entries for c sum to 0)."""
    X, _ = iris
    W, c = fitted.params["W"], fitted.params["c"]
    assert fitted.converged, fitted.message
    assert np.abs(W - reference.coef_).max() < 2e-6
    probabilities = kernels.predict(np.concatenate([W.ravel(), c]), X)
    assert np.abs(probabilities - reference.predict_proba(X)).max() < 2e-6
    assert abs(c.sum()) < 1e-12 * len(c) * max(1.0, np.abs(c).max())
