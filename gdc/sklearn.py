"""scikit-learn estimators around a gd model: `ModelRegressor` and `ModelClassifier`, for
Pipeline, GridSearchCV and cross_val_score (`pip install gdc[sklearn]`).

Which of X's columns feed which model names (the model itself says which names are data: its
`data` line, or the naming rule; `gdc derive` lists them):

- y feeds the model's one data name that the prediction does not use (`Y` in
  `loss mean((y - Y)^2)`).
- X with column names (a DataFrame) is matched by name as `gdc fit` matches a CSV header: a
  scalar input by its own name, a data vector `x[d]` by the columns x1, x2, … (or x_1, …,
  x0, …); `columns={"x": "height"}` or `columns={"x": "age:sex:bmi"}` as `--map`.
- X without names (an array) fills the inputs in the order of `k.input_names`: one column
  per scalar input, and all the remaining columns for the one data vector, if there is one.

The estimator's parameters are the fit's options (`method`, `lr`, `epochs`, …, `certify=False`
to skip each fit's certificate in a grid search of a model you trust) and the model's
named constants, its `let NAME = NUMBER` lines: `let lam = 0.01` makes `lam` a parameter that
`set_params(lam=0.1)` and a grid search can set (each new value compiles a model, once: the
kernel cache keeps it).
"""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from gdc.errors import GdcError


class _ModelEstimator(BaseEstimator):
    """What the regressor and the classifier share: the model, its options, its constants."""

    def __init__(self, model, *, method="auto", lr=None, epochs=None, tol=None, gtol=None,
                 batch_size=None, seed=0, init=None, columns=None, constants=None, certify=True):
        self.model = model
        self.method = method
        self.lr = lr
        self.epochs = epochs
        self.tol = tol
        self.gtol = gtol
        self.batch_size = batch_size
        self.seed = seed
        self.init = init
        self.columns = columns
        self.constants = constants   # {name: value} for the model's constants set so far
        self.certify = certify       # False: no certificate at each answer (gdc.fit's certify)

    # --- parameters: the options, and the model's constants by name

    # The constants are to `constants` what a pipeline step's parameters are to the step: listed
    # by get_params(deep=True) and set by set_params, but cloned through `constants` itself.

    def get_params(self, deep=True):
        params = super().get_params(deep)
        if deep:
            given = self.constants if isinstance(self.constants, dict) else {}
            for name, value in _declared(self.model).items():
                params.setdefault(name, given.get(name, value))   # an option's name wins
        return params

    def set_params(self, **params):
        known = _declared(self.model)
        names = [name for name in params if name in known and name not in self._option_names()]
        if names:
            given = self.constants if isinstance(self.constants, dict) else {}
            self.constants = {**given, **{name: params.pop(name) for name in names}}
        return super().set_params(**params)

    @classmethod
    def _option_names(cls) -> tuple[str, ...]:
        return tuple(cls._get_param_names())

    # --- fitting and predicting

    def _text(self) -> tuple[str, str]:
        """The model text with the constants set (where, text)."""
        from gdc.language.constants import with_constants
        where, text = _read(self.model)
        clash = [name for name in _model_constants(where, text) if name in self._option_names()]
        if clash:
            raise GdcError(f"the model's constant {clash[0]!r} has the name of an estimator option",
                           where=where, hint="rename the constant")
        if self.constants is not None and not isinstance(self.constants, dict):
            raise GdcError(f"constants must be a dict of numbers by name, not {self.constants!r}",
                           where="gdc.sklearn")
        return where, with_constants(text, self.constants, where) if self.constants else text

    def _fit_one(self, X, names, target: np.ndarray):
        """Fit the model to X's inputs and `target`; returns the FitResult."""
        from gdc.api import fit_options, prepare
        from gdc.fitting.problem import FitDiverged
        from gdc.fitting.run import run

        kernels = _kernels(*self._text())
        targets = [name for name in kernels.data_names if name not in kernels.input_names]
        if len(targets) != 1:
            raise GdcError(f"the model needs one target, a data name its prediction does not use; "
                           f"it has {len(targets)} ({', '.join(targets) or 'none'})",
                           where=_read(self.model)[0], hint="declare the data names: data x, Y")
        data = {**self._inputs(kernels, X, names), targets[0]: target}
        options = fit_options(self.method, self.lr, epochs=self.epochs, tol=self.tol, gtol=self.gtol,
                              batch_size=self.batch_size, seed=self.seed, certify=self.certify)
        problem = prepare(kernels, data)
        result = run(problem, options, init=self.init)
        if result.reason == "diverged":
            raise FitDiverged(result)
        return dataclasses.replace(result, problem=None)

    def _inputs(self, kernels, X: np.ndarray, names) -> dict[str, np.ndarray]:
        """X's columns for each model input (the rule in the module's docstring)."""
        from gdc.io.data import Table, select_columns
        shapes = {name: shape for name, shape in zip(kernels.data_names, kernels.data_shapes or ()) if shape}
        inputs = kernels.input_names
        if names is not None:
            table = Table("X", tuple(names), {name: X[:, j] for j, name in enumerate(names)}, len(X), 0)
            mapping = {name: column for name, column in (self.columns or {}).items() if name in inputs}
            return select_columns(table, inputs, mapping, shapes)
        vectors = [name for name in inputs if name in shapes]
        scalars = len(inputs) - len(vectors)
        if len(vectors) > 1 or X.shape[1] < scalars + len(vectors) or (not vectors and X.shape[1] != scalars):
            raise ValueError(f"X has {X.shape[1]} columns; the model's inputs ({', '.join(inputs)}) take "
                             + (f"{scalars}" if not vectors else f"{scalars} and a data vector")
                             + (" (pass a DataFrame with named columns)" if len(vectors) > 1 else ""))
        out, at = {}, 0
        for name in inputs:
            width = X.shape[1] - scalars if name in shapes else 1
            block = X[:, at:at + width]
            out[name] = np.ascontiguousarray(block if name in shapes else block[:, 0])
            at += width
        return out

    def _prediction(self, X, params) -> np.ndarray:
        kernels = _kernels(*self._text())
        inputs = self._inputs(kernels, X, getattr(self, "feature_names_in_", None))
        arrays = [inputs[name] for name in kernels.input_names]
        layout = kernels.layout(inputs, "X", known=dict(self.sizes_))
        return kernels.predict(layout.flatten(params, "the fitted parameters"), *arrays)

    def __getstate__(self):
        # A FitResult's problem holds the compiled module; the kernels are found again by the model text.
        state = super().__getstate__()
        if state.get("result_") is not None:
            state["result_"] = dataclasses.replace(state["result_"], problem=None)
        return state


class ModelRegressor(RegressorMixin, _ModelEstimator):
    """A gd model as a scikit-learn regressor: fit(X, y) fits its parameters (`params_`, and the
    whole FitResult as `result_`), predict(X) is the model's prediction, score(X, y) its R²."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        self.result_ = self._fit_one(X, getattr(self, "feature_names_in_", None), y.astype(np.float64))
        self.params_ = self.result_.params
        self.sizes_ = self.result_.layout.sizes
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._prediction(X, self.params_)


class ModelClassifier(ClassifierMixin, _ModelEstimator):
    """A gd model whose prediction is the probability of a class (a sigmoid model with the
    log-loss, as examples/logistic.gd) as a scikit-learn classifier. Two classes fit the model
    once (y = 1 for the second class of `classes_`); more fit it once per class, that class
    against the rest, and predict_proba normalizes the K probabilities (a softmax would need a
    model with one output per class, which the gd language does not have)."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"ModelClassifier needs samples of at least 2 classes; the data has "
                             f"1 class ({self.classes_[0]!r})")
        names = getattr(self, "feature_names_in_", None)
        positives = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        self.results_ = [self._fit_one(X, names, (y == c).astype(np.float64)) for c in positives]
        self.params_ = [r.params for r in self.results_]
        self.sizes_ = self.results_[0].layout.sizes
        self._check_probabilities(X)
        return self

    def _check_probabilities(self, X) -> None:
        p = self._prediction(X, self.params_[0])
        if not np.all((p >= -1e-9) & (p <= 1 + 1e-9)):
            raise GdcError(f"ModelClassifier needs a model whose prediction is a probability, but "
                           f"this one predicts values from {np.nanmin(p):.3g} to {np.nanmax(p):.3g}",
                           where=_read(self.model)[0], hint="e.g. model p = sigmoid(dot(w, x) + b)")

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        p = np.column_stack([np.clip(self._prediction(X, params), 0.0, 1.0) for params in self.params_])
        if len(self.classes_) == 2:
            return np.column_stack([1.0 - p[:, 0], p[:, 0]])
        total = p.sum(axis=1, keepdims=True)
        return np.where(total > 0, p / np.where(total > 0, total, 1.0), 1.0 / len(self.classes_))

    def predict(self, X):
        proba = self.predict_proba(X)   # first: it says when the estimator is not fitted
        return self.classes_[np.argmax(proba, axis=1)]

    def __getstate__(self):
        state = super().__getstate__()
        if state.get("results_") is not None:
            state["results_"] = [dataclasses.replace(r, problem=None) for r in state["results_"]]
        return state


# --- the model, read and compiled once per process -----------------------------------------------

def _read(model) -> tuple[str, str]:
    from gdc.io.source import read_model
    if not isinstance(model, (str, os.PathLike)):
        raise GdcError(f"model must be a .gd path or model text, not {type(model).__name__}",
                       where="gdc.sklearn")
    return read_model(model)


def _declared(model) -> dict[str, float]:
    """The model's constants, or none while `model` is not (yet) a readable model: scikit-learn
    sets parameters to odd values and expects the errors from fit, not from set_params."""
    try:
        return _model_constants(*_read(model))
    except GdcError:
        return {}


@lru_cache(maxsize=64)
def _model_constants(where: str, text: str) -> dict[str, float]:
    from gdc.language.constants import constants
    return constants(text, where)


@lru_cache(maxsize=64)
def _kernels(where: str, text: str):
    """The model's kernels, unchecked (the fit loops call them), kept for the process."""
    from gdc.api import compile_text
    return compile_text(where, text, None, "--data")
