"""gdc.compile's kernels take what a Python user has (lists, Series, a dict of parameters) and
answer a wrong argument with a GdcError that says what it must be, never a numba TypingError."""

from __future__ import annotations

import numpy as np
import pytest

import gdc
from gdc.errors import GdcError
from gdc.runtime.checked import CheckedKernels
from gdc.runtime.kernels import Kernels
from locations import EXAMPLES

LINE = "model y = m*x + b; loss mean((y - Y)^2)"


@pytest.fixture(scope="module")
def k():
    return gdc.compile(LINE)


@pytest.fixture(scope="module")
def data():
    x = np.linspace(0.0, 1.0, 12)
    return x, 3.0 * x + 1.0


def test_array_likes_give_the_raw_kernels_answers(k, data):
    x, Y = data
    raw = k.raw
    assert isinstance(k, CheckedKernels) and type(raw) is Kernels
    params = np.array([0.5, -0.25])
    want = raw.loss(params, x, Y)
    assert k.loss([0.5, -0.25], list(x), tuple(Y)) == want
    assert k.loss({"m": 0.5, "b": -0.25}, x, Y) == want
    grad, raw_grad = np.empty(2), np.empty(2)
    assert k.loss_grad({"b": -0.25, "m": 0.5}, x.tolist(), Y, grad) == raw.loss_grad(params, x, Y, raw_grad)
    np.testing.assert_array_equal(grad, raw_grad)
    np.testing.assert_array_equal(k.predict({"m": 2, "b": 1}, [0, 1, 2]), [1.0, 3.0, 5.0])


def test_pandas_series_are_data(k, data):
    pd = pytest.importorskip("pandas")
    x, Y = data
    assert k.loss([1.0, 1.0], pd.Series(x), pd.Series(Y)) == k.raw.loss(np.ones(2), x, Y)


@pytest.mark.parametrize("call, message", [
    (lambda k, x, Y: k.loss([1.0], x, Y), r"params must hold 2 values \(m, b\)"),
    (lambda k, x, Y: k.loss([1.0, 2.0], x), r"loss takes 3 arguments \(params, x, Y\), not 2"),
    (lambda k, x, Y: k.loss([1.0, 2.0], x, Y[:5]), r"differ in length \(x: 12, Y: 5\)"),
    (lambda k, x, Y: k.loss([1.0, 2.0], ["a"] * 12, Y), r"the data 'x' must hold numbers"),
    (lambda k, x, Y: k.loss([1.0, 2.0], np.ones((12, 2)), Y), r"the data 'x' must be a 1-D array"),
    (lambda k, x, Y: k.loss_grad([1.0, 2.0], x, Y, [0.0, 0.0]), r"grad_out must be a writable float64"),
    (lambda k, x, Y: k.loss_grad([1.0, 2.0], x, Y, np.empty(3)), r"of shape \(2,\)"),
    (lambda k, x, Y: k.predict({"m": 1.0}, x), r"no value for the parameter 'b'"),
    (lambda k, x, Y: k.predict({"m": 1.0, "b": 0.0, "c": 2.0}, x), r"no parameter 'c'"),
    (lambda k, x, Y: k.sgd_epoch([0.0, 0.0], x, Y, 0.1, np.arange(12)), r"it is updated in place"),
    (lambda k, x, Y: k.sgd_epoch(np.zeros(2), x, Y, 0.1, np.arange(13)), r"row number outside 0 … 11"),
    (lambda k, x, Y: k.sgd_epoch(np.zeros(2), x, Y, "fast", np.arange(12)), r"lr must be a number"),
    (lambda k, x, Y: k.minibatch_epoch(np.zeros(2), x, Y, 0.1, 0, np.arange(12)), r"batch_size must be"),
])
def test_wrong_arguments_are_user_errors(k, data, call, message):
    with pytest.raises(GdcError, match=message):
        call(k, *data)


def test_sgd_epoch_updates_the_callers_array(k, data):
    x, Y = data
    params = np.zeros(2)
    k.sgd_epoch(params, list(x), Y, 0.1, range(len(x)))
    reference = np.zeros(2)
    k.raw.sgd_epoch(reference, x, Y, 0.1, np.arange(len(x), dtype=np.int64))
    assert np.all(params != 0.0)
    np.testing.assert_array_equal(params, reference)


def test_a_vector_model_takes_a_dict_of_arrays_and_checks_the_sizes():
    k = gdc.compile(EXAMPLES / "diabetes.gd")
    x = np.random.default_rng(0).normal(size=(20, 3))
    params = {"w": [1.0, -2.0, 0.5], "b": 4.0}
    np.testing.assert_allclose(k.predict(params, x.tolist()), x @ [1.0, -2.0, 0.5] + 4.0, rtol=1e-14)
    with pytest.raises(GdcError, match=r"'w' has shape \[3\] here, but the model with this data needs \[4\]"):
        k.predict(params, np.ones((20, 4)))
    with pytest.raises(GdcError, match=r"params must hold 4 values"):
        k.predict(np.zeros(3), x)


def test_the_fit_loops_get_the_unchecked_kernels(k, data):
    x, Y = data
    problem = gdc.prepare(k, {"x": x, "Y": Y})
    assert type(problem.kernels) is Kernels
    assert gdc.fit(k, {"x": x, "Y": Y}).params["m"] == pytest.approx(3.0, rel=1e-9)
