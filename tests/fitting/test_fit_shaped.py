"""Fitting shaped models: vector and matrix parameters in one flat vector, data vectors from
numbered columns, the report, --save and predict.

The first half runs stand-in modules (tests/shaped_fakes.py: NumPy kernels with the
generated signatures), so it tests the runtime alone; the second half compiles real models
(examples/diabetes.csv against numpy's lstsq, breast_cancer.csv against scikit-learn).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shaped_fakes

import gdc
from gdc.cli import main
from gdc.errors import GdcError
from gdc.api import prepare
from gdc.fitting.run import initial_params, run
from gdc.runtime.kernels import Kernels
from gdc.fitting.options import Options
from gdc.fitting.report import load_params, params_document, preamble, result_json, result_text
from locations import EXAMPLES

DIABETES = EXAMPLES / "diabetes.csv"
CANCER = EXAMPLES / "breast_cancer.csv"
LINEAR = "data x[d], Y\nparam w[d], b\nmodel y = dot(w, x) + b\nloss mean((y - Y)^2)\n"


def diabetes() -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(DIABETES, delimiter=",", skiprows=1)
    return table[:, :-1], table[:, -1]


def lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)[0]


def synthetic(n: int = 300, d: int = 5, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, x @ np.arange(1.0, d + 1) + 0.5 + 0.1 * rng.normal(size=n)


# --- the runtime, on stand-in modules ----------------------------------------------------------

@pytest.fixture
def fake_linear() -> Kernels:
    return Kernels.from_module(shaped_fakes.linear())


def test_a_fit_returns_each_parameter_in_its_shape(fake_linear):
    x, y = diabetes()
    result = gdc.fit(fake_linear, {"x": x, "Y": y})
    assert result.method == "lm" and result.converged
    assert isinstance(result.params["w"], np.ndarray) and result.params["w"].shape == (10,)
    assert isinstance(result.params["b"], float)
    want = lstsq(x, y)
    np.testing.assert_allclose(result.params["w"], want[:-1], rtol=1e-7)
    assert result.layout.element_names[0] == "w[0]"
    assert len(result.stats.std_errors) == 11


@pytest.mark.parametrize("method", ["gd", "adam", "minibatch"])
def test_first_order_methods_on_the_flat_vector(fake_linear, method):
    x, y = synthetic()
    # At a fixed rate mini-batches jitter around the minimum (by a few per cent here): with a
    # rate falling as 1/t they converge, as test_fit.py's every-method test has it, to 1e-3.
    options = dict(schedule="invscaling", power_t=1.0, epochs=300, tol=0) if method == "minibatch" else \
        dict(epochs=3000)
    result = gdc.fit(fake_linear, {"x": x, "Y": y}, method=method, **options)
    want = lstsq(x, y)
    tolerance = 1e-3 if method == "minibatch" else 1e-6
    np.testing.assert_allclose(result.params["w"], want[:-1], rtol=tolerance)
    assert result.params["b"] == pytest.approx(want[-1], rel=tolerance)


def test_the_file_binds_numbered_columns_and_the_preamble_says_so(fake_linear):
    problem = prepare(fake_linear, DIABETES)
    assert problem.data[0].shape == (442, 10) and problem.data[0].flags.c_contiguous
    assert problem.columns == (":".join(f"x{j}" for j in range(1, 11)), "Y")
    assert problem.unused == () and problem.params_layout.size == 11
    text = preamble(problem, Options())
    assert "parameters  w[10], b (not columns of diabetes.csv)" in text
    assert "data        x[10] ← x1 … x10, Y (columns of diabetes.csv)" in text
    assert "sizes       d = 10 (the columns of x); 11 parameter values in all" in text
    assert "auto: lm" in text


def test_a_fixed_size_must_match_the_file(tmp_path):
    k = Kernels.from_module(shaped_fakes.linear(fixed=3))
    with pytest.raises(GdcError) as info:
        prepare(k, DIABETES)
    assert info.value.render() == (f"{DIABETES}: error: the model's data x[3] needs 3 columns, "
                                   "but the file has 10 (x1, x2, …, x10)")


def test_arrays_of_the_wrong_shape_are_refused(fake_linear):
    x, y = synthetic()
    with pytest.raises(GdcError, match=r"gdc.fit: error: the data 'x' must be a 2-D array"):
        gdc.fit(fake_linear, {"x": x[:, 0], "Y": y})
    x[3, 2] = np.nan
    with pytest.raises(GdcError, match=r"data\['x'\]\[3\] is \["):
        gdc.fit(fake_linear, {"x": x, "Y": y})
    result = gdc.fit(fake_linear, {"x": x, "Y": y}, drop_nonfinite=True)
    assert result.n_rows == 299
    fixed = Kernels.from_module(shaped_fakes.linear(fixed=3))
    with pytest.raises(GdcError, match=r"the data 'x' has 5 columns, but the model declares x\[3\]"):
        gdc.fit(fixed, {"x": synthetic()[0], "Y": y})


def test_init_fills_a_shaped_parameter_and_random_starts_follow_the_seed():
    k = Kernels.from_module(shaped_fakes.two_layer(3))
    layout = k.layout((np.zeros((2, 4)), np.zeros(2)))
    start = initial_params(k, {"v": 0.5}, layout, seed=3)
    assert start[12:15].tolist() == [0.5] * 3 and start[15] == 0.0
    np.testing.assert_array_equal(start[:12], initial_params(k, None, layout, seed=3)[:12])
    assert not np.array_equal(start[:12], initial_params(k, None, layout, seed=4)[:12])
    with pytest.raises(GdcError, match="the model has no parameter 'w'"):
        initial_params(k, {"w": 1.0}, layout)


def test_a_matrix_model_reports_compactly(tmp_path):
    k = Kernels.from_module(shaped_fakes.two_layer(3))
    x, y = synthetic(d=4)
    result = gdc.fit(k, {"x": x, "Y": np.tanh(y / 10)}, method="gd", epochs=50)
    assert result.params["W"].shape == (3, 4) and result.params["v"].shape == (3,)
    text = result_text(result)
    norm = np.linalg.norm(result.params["W"])
    assert "W[3, 4]    " in text and f"(12 values, ‖W‖ = {norm:.6g})" in text
    assert "  v[2]  " in text                       # a short vector: one row per element
    doc = result_json(result)
    np.testing.assert_array_equal(doc["params"]["W"], result.params["W"])
    assert doc["sizes"] == {"d": 4}
    json.dumps(doc, allow_nan=False)


def test_auto_takes_lm_up_to_two_hundred_parameters_and_lbfgs_beyond(fake_linear):
    x, y = synthetic(n=200, d=60)
    result = run(prepare(fake_linear, {"x": x, "Y": y}), Options())
    assert result.method == "lm" and result.stats is not None and not result.notes
    np.testing.assert_allclose(result.params["w"], lstsq(x, y)[:-1], rtol=1e-7)
    x, y = synthetic(n=400, d=210)
    problem = prepare(fake_linear, {"x": x, "Y": y})
    result = run(problem, Options(epochs=20000))
    assert result.method == "lbfgs" and "too many for second-order steps (at most 200)" in result.method_note
    assert result.converged and result.stats is None
    np.testing.assert_allclose(result.params["w"], lstsq(x, y)[:-1], rtol=1e-5, atol=1e-7)
    assert result.notes == ("standard errors and the condition number are not computed for more "
                            "than 200 parameters (this fit has 211)",)
    assert "note           standard errors" in result_text(result)
    lm = run(problem, Options(method="lm"))
    assert lm.stats is None and lm.notes and result_json(lm)["notes"] == list(lm.notes)
    np.testing.assert_allclose(lm.params["w"], lstsq(x, y)[:-1], rtol=1e-7)


def test_saved_parameters_are_nested_lists_and_load_back(fake_linear, tmp_path):
    problem = prepare(fake_linear, DIABETES)
    result = run(problem)
    doc = json.loads(json.dumps(params_document(result, problem)))
    assert doc["sizes"] == {"d": 10} and len(doc["params"]["w"]) == 10
    assert doc["columns"]["x"] == "x1:x2:x3:x4:x5:x6:x7:x8:x9:x10"
    path = tmp_path / "params.json"
    path.write_text(json.dumps(doc))
    back = load_params(path)
    theta = problem.params_layout.flatten(back["params"])
    np.testing.assert_array_equal(theta, np.append(result.params["w"], result.params["b"]))
    doc["params"]["w"] = [[1.0], [2.0, 3.0]]
    path.write_text(json.dumps(doc))
    with pytest.raises(GdcError, match="must map each parameter name to a finite number"):
        load_params(path)


def test_the_cli_fits_saves_and_predicts_with_a_stand_in(monkeypatch, tmp_path, capsys, fake_linear):
    import gdc.api
    monkeypatch.setattr(gdc.api, "_compile_text", lambda *args, **kwargs: fake_linear)
    model = tmp_path / "linear.gd"
    model.write_text(LINEAR)
    saved = tmp_path / "params.json"
    assert main(["fit", str(model), str(DIABETES), "--save", str(saved), "--quiet"]) == 0
    out = tmp_path / "predicted.csv"
    assert main(["predict", str(model), str(saved), str(DIABETES), "-o", str(out)]) == 0
    predicted = np.genfromtxt(out, delimiter=",", names=True)["y"]
    x, y = diabetes()
    want = lstsq(x, y)
    np.testing.assert_allclose(predicted, x @ want[:-1] + want[-1], rtol=1e-7)
    # other column names: --map gives the vector its columns
    renamed = tmp_path / "renamed.csv"
    text = DIABETES.read_text().split("\n", 1)
    renamed.write_text(",".join([f"c{j}" for j in range(10, 0, -1)] + ["Y"]) + "\n" + text[1])
    mapping = "x=" + ":".join(f"c{j}" for j in range(10, 0, -1))
    assert main(["predict", str(model), str(saved), str(renamed), "--map", mapping, "-o", str(out)]) == 0
    np.testing.assert_array_equal(np.genfromtxt(out, delimiter=",", names=True)["y"], predicted)
    # fewer columns than the fit: the saved w no longer fits
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("x1,x2,Y\n1,2,3\n")
    capsys.readouterr()
    assert main(["predict", str(model), str(saved), str(narrow)]) == 1
    err = capsys.readouterr().err
    assert "'w' has shape [10] here, but the model with this data needs [2]" in err
    assert "hint: the data give d = 2" in err


# --- real kernels ------------------------------------------------------------------------------

def test_diabetes_matches_lstsq_to_six_significant_digits():
    x, y = diabetes()
    want = lstsq(x, y)
    for tolerances in ({}, {"gtol": 1e-9, "tol": 0}):   # auto: lm; with tolerances: gd
        result = gdc.fit(LINEAR, DIABETES, **tolerances)
        assert result.converged and result.method == ("gd" if tolerances else "lm")
        got = np.append(result.params["w"], result.params["b"])
        assert np.max(np.abs(got - want) / np.abs(want)) < 5e-7, result.method


def test_the_real_kernels_use_the_same_flat_layout():
    """Row-major W, then the vectors, then the scalars, as gdc.runtime.layout lays them out."""
    model = ("data x[d], Y\nparam W[2, d], c[2], v[2], a = 0.5\n"
             "model y = dot(v, tanh(W @ x + c)) + a\nloss mean((y - Y)^2)\n")
    x, y = synthetic(n=20, d=3)
    problem = prepare(model, {"x": x, "Y": y})
    layout = problem.params_layout
    assert layout.element_names[:4] == ("W[0, 0]", "W[0, 1]", "W[0, 2]", "W[1, 0]")
    theta = np.random.default_rng(0).uniform(-1, 1, layout.size)
    p = layout.unflatten(theta)
    want = np.tanh(x @ p["W"].T + p["c"]) @ p["v"] + p["a"]
    np.testing.assert_allclose(problem.kernels.predict(theta, x), want, rtol=1e-12)
    start = problem.flat_kernels.initial
    assert start[-1] == 0.5 and np.all(np.abs(start[:6]) <= 1 / np.sqrt(3))


def test_logistic_regression_on_breast_cancer_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    model = ("data x[d], Y\nparam w[d], b\nmodel p = sigmoid(dot(w, x) + b)\n"
             "loss mean(-Y*log(p) - (1 - Y)*log(1 - p)) + 0.01*sum(w^2)\n")
    result = gdc.fit(model, CANCER, gtol=1e-10)
    table = np.loadtxt(CANCER, delimiter=",", skiprows=1)
    x, y = table[:, :-1], table[:, -1]
    # mean(loss) + λ‖w‖² is scikit-learn's ‖w‖²/2 + C·Σ loss with C = 1/(2λN)
    sk = LogisticRegression(C=1 / (2 * 0.01 * len(y)), tol=1e-12, max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(result.params["w"], sk.coef_[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.params["b"], sk.intercept_[0], rtol=1e-5)


def test_the_plot_leaves_out_the_data_panel_of_a_data_vector(fake_linear, tmp_path, monkeypatch):
    """A vector input has no x axis: the loss curve, and the surface when w has one element."""
    import struct
    from matplotlib.figure import Figure
    from gdc.fitting.plot import plot_fit
    saved, save = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: saved.append(fig) or save(fig, *a, **k))

    def panels(fig) -> int:
        return len([ax for ax in fig.axes if ax.get_label() != "<colorbar>"])

    def png_size(path: Path) -> tuple[int, int]:
        return struct.unpack(">II", path.read_bytes()[16:24])

    x, y = synthetic(d=1)
    problem = prepare(fake_linear, {"x": x, "Y": y})
    result = run(problem, Options(method="gd"))
    assert result.path.shape[1] == 2
    from gdc.fitting.report import history_csv
    assert history_csv(result, problem.kernels.param_names).startswith("epoch,loss,w[0],b\n")
    plot_fit(result, problem, tmp_path / "two.png")     # loss curve and the surface over w[0], b
    width, height = png_size(tmp_path / "two.png")
    assert panels(saved[-1]) == 2
    assert 1.5 * height < width < 3.5 * height
    x, y = synthetic(d=3)
    problem = prepare(fake_linear, {"x": x, "Y": y})
    plot_fit(run(problem, Options(method="gd")), problem, tmp_path / "one.png")
    width, height = png_size(tmp_path / "one.png")
    assert panels(saved[-1]) == 1
    assert width < 1.5 * height
