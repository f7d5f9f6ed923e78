"""gdc.sklearn: the estimators pass scikit-learn's own checks and work in Pipeline,
GridSearchCV and cross_val_score; X's columns reach the model's data names by the documented rule."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")

from sklearn.base import clone                                    # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline                        # noqa: E402
from sklearn.preprocessing import StandardScaler                  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator       # noqa: E402

from gdc.errors import GdcError                                   # noqa: E402
from gdc.sklearn import ModelClassifier, ModelRegressor           # noqa: E402
from locations import EXAMPLES                                    # noqa: E402

LINEAR = EXAMPLES / "diabetes.gd"        # data x[d], Y: any number of features
LOGISTIC = EXAMPLES / "breast_cancer.gd"
RIDGE = ("data x[d], Y\nparam w[d] = 0, b = 0\nlet lam = 0.01\n"
         "model y = dot(w, x) + b\nloss mean((y - Y)^2) + lam*sum(w^2)\n")

# The checks scikit-learn itself skips, and why they do not apply (README, "scikit-learn").
SKIPPED = {"check_array_api_input"}   # needs SCIPY_ARRAY_API; the kernels take numpy arrays only


@pytest.fixture(scope="module")
def diabetes():
    frame = pd.read_csv(EXAMPLES / "diabetes.csv")
    return frame.drop(columns="Y"), frame["Y"]


@pytest.mark.parametrize("estimator", [ModelRegressor(LINEAR), ModelClassifier(LOGISTIC)],
                         ids=["regressor", "classifier"])
def test_scikit_learns_checks_pass(estimator):
    results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"]: str(r["exception"])[:300] for r in results if r["status"] == "failed"}
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert not failed, failed
    assert skipped <= SKIPPED
    assert sum(r["status"] == "passed" for r in results) >= 45


def test_the_regressor_is_least_squares(diabetes):
    X, y = diabetes
    model = ModelRegressor(LINEAR).fit(X.to_numpy(), y.to_numpy())
    design = np.column_stack([X.to_numpy(), np.ones(len(X))])
    exact = np.linalg.lstsq(design, y.to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(model.params_["w"], exact[:-1], rtol=1e-7)
    np.testing.assert_allclose(model.predict(X.to_numpy()), design @ exact, rtol=1e-9)
    assert model.result_.converged and model.n_features_in_ == 10


def test_certify_false_reaches_the_fit_and_leaves_the_answer_alone(diabetes):
    X, y = (part.to_numpy() for part in diabetes)
    certified, bare = ModelRegressor(LINEAR).fit(X, y), ModelRegressor(LINEAR, certify=False).fit(X, y)
    np.testing.assert_array_equal(bare.params_["w"], certified.params_["w"])
    assert "not certified: certify=False" in bare.result_.message
    assert "not certified" not in certified.result_.message and clone(bare).certify is False


def test_a_dataframe_is_matched_by_name_whatever_its_column_order(diabetes):
    X, y = diabetes
    shuffled = X[list(reversed(X.columns))]
    by_name = ModelRegressor(LINEAR).fit(shuffled, y)
    in_order = ModelRegressor(LINEAR).fit(X.to_numpy(), y)
    np.testing.assert_allclose(by_name.params_["w"], in_order.params_["w"], rtol=1e-9)
    np.testing.assert_allclose(by_name.predict(shuffled), in_order.predict(X.to_numpy()), rtol=1e-9)


def test_columns_maps_names_as_map_does():
    students = pd.read_csv(EXAMPLES / "students.csv")
    model = ModelRegressor(EXAMPLES / "linear.gd", columns={"x": "height"})
    model.fit(students[["height"]], students["weight"])
    assert model.params_["m"] == pytest.approx(0.85458509382, rel=1e-8)
    with pytest.raises(GdcError, match="no column of that name"):
        ModelRegressor(EXAMPLES / "linear.gd").fit(students[["height"]], students["weight"])


def test_an_array_fills_the_inputs_in_order_and_says_when_it_cannot():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    y = 1.5 * X[:, 0] - 2.0 * X[:, 1] + 0.5 + 0.01 * rng.normal(size=60)
    model = ModelRegressor("model y = w1*x1 + w2*x2 + b\nloss mean((y - Y)^2)").fit(X, y)
    assert model.params_["w1"] == pytest.approx(1.5, abs=0.01)
    assert model.params_["w2"] == pytest.approx(-2.0, abs=0.01)
    with pytest.raises(ValueError, match=r"X has 3 columns; the model's inputs \(x1, x2\) take 2"):
        ModelRegressor("model y = w1*x1 + w2*x2 + b\nloss mean((y - Y)^2)").fit(
            np.column_stack([X, X[:, 0]]), y)


def test_grid_search_over_a_models_constant(diabetes):
    X, y = diabetes
    ridge = ModelRegressor(RIDGE)
    assert ridge.get_params()["lam"] == 0.01 and "lam" not in ridge.get_params(deep=False)
    search = GridSearchCV(ridge, {"lam": [0.0, 1.0]}, cv=3).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"lam": 0.0} and scores[0] > scores[1] + 0.3   # 1.0 over-penalizes
    best = search.best_estimator_
    assert best.constants == {"lam": 0.0} and clone(best).get_params()["lam"] == 0.0
    # The penalized fit is the ridge solution, in closed form: (XᵀX/N + λI) w = Xᵀ(y − ȳ)/N.
    fitted = ModelRegressor(RIDGE).set_params(lam=1.0).fit(X, y)
    Xc, yc = X.to_numpy() - X.to_numpy().mean(0), y.to_numpy() - y.mean()
    w = np.linalg.solve(Xc.T @ Xc / len(X) + np.eye(10), Xc.T @ yc / len(X))
    np.testing.assert_allclose(fitted.params_["w"], w, rtol=1e-6)
    with pytest.raises(GdcError, match="no constant 'mu'"):
        ModelRegressor(RIDGE, constants={"mu": 1.0}).fit(X, y)


def test_pipeline_and_cross_validation(diabetes):
    X, y = diabetes
    pipeline = make_pipeline(StandardScaler(), ModelRegressor(LINEAR))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.35)   # R² of the linear model, as in sklearn


def test_the_classifier_gives_probabilities_for_two_and_three_classes():
    frame = pd.read_csv(EXAMPLES / "logistic.csv")
    X, y = frame[["x1", "x2"]].to_numpy(), np.where(frame["Y"] > 0, "yes", "no")
    model = ModelClassifier(EXAMPLES / "logistic.gd").fit(X, y)
    proba = model.predict_proba(X)
    assert list(model.classes_) == ["no", "yes"]
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-(X @ [model.params_[0]["w1"], model.params_[0]["w2"]]
                                                              + model.params_[0]["b"]))), rtol=1e-12)
    assert model.score(X, y) > 0.75
    three = np.digitize(X[:, 0] - X[:, 1], [-0.7, 0.7])
    multi = ModelClassifier(LOGISTIC).fit(X, three)
    p = multi.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert multi.score(X, three) > 0.8 and len(multi.params_) == 3


def test_a_classifier_needs_a_probability():
    X = np.random.default_rng(0).normal(size=(40, 2))
    with pytest.raises(GdcError, match="prediction is a probability"):
        ModelClassifier(LINEAR).fit(X, (X[:, 0] > 0).astype(int))


def test_a_fitted_estimator_pickles(diabetes):
    X, y = diabetes
    model = ModelRegressor(LINEAR).fit(X, y)
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    np.testing.assert_array_equal(back.result_.params["w"], model.result_.params["w"])
