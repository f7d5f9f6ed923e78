"""A FitResult from Python: statistics by name, predictions, the --json object, the --save file
read back by gdc.load_result, the files gdc.fit writes, the HTML table, the sweep."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

import gdc
from gdc.cli import main
from gdc.errors import GdcError
from gdc.fitting.problem import FitDiverged
from locations import EXAMPLES

STUDENTS = EXAMPLES / "students.csv"
MAP = {"x": "height", "Y": "weight"}
TEXT = "model y = m*x + b\nloss mean((y - Y)^2)\n"


@pytest.fixture(scope="module")
def columns():
    table = np.genfromtxt(STUDENTS, delimiter=",", names=True)
    return {"height": table["height"], "weight": table["weight"]}


@pytest.fixture(scope="module")
def lm(columns):
    return gdc.fit(EXAMPLES / "linear.gd", STUDENTS, mapping=MAP)


def ordinary_least_squares(columns):
    """Slope and intercept, their standard errors and the RSS, in closed form."""
    x, y = columns["height"], columns["weight"]
    design = np.column_stack([x, np.ones_like(x)])
    beta, rss = np.linalg.lstsq(design, y, rcond=None)[:2]
    sigma2 = rss[0] / (len(x) - 2)
    errors = np.sqrt(np.diag(sigma2 * np.linalg.inv(design.T @ design)))
    return beta, errors, rss[0]


def test_statistics_by_parameter_name_match_the_closed_form(lm, columns):
    beta, errors, rss = ordinary_least_squares(columns)
    assert set(lm.std_errors) == {"m", "b"}
    assert lm.std_errors["m"] == pytest.approx(errors[0], rel=1e-6)
    assert lm.std_errors["b"] == pytest.approx(errors[1], rel=1e-6)
    assert lm.rss == pytest.approx(rss, rel=1e-9)
    assert lm.dof == 28 and lm.residual_sd == pytest.approx(math.sqrt(rss / 28), rel=1e-9)
    assert lm.condition == lm.stats.condition and lm.warnings == ()


def test_a_loss_that_is_not_least_squares_has_no_such_statistics():
    result = gdc.fit(EXAMPLES / "logistic.gd", EXAMPLES / "logistic.csv")
    assert result.std_errors is None and result.rss is None and result.condition is None


def test_shaped_std_errors_have_the_parameters_shapes():
    result = gdc.fit(EXAMPLES / "diabetes.gd", EXAMPLES / "diabetes.csv")
    assert result.std_errors["w"].shape == (10,) and isinstance(result.std_errors["b"], float)
    np.testing.assert_array_equal(result.std_errors["w"], result.stats.std_errors[:10])


def test_predict_finds_the_inputs_by_name_or_by_the_fits_columns(lm, columns):
    beta, _, _ = ordinary_least_squares(columns)
    heights = np.array([150.0, 170.0, 190.0])
    want = beta[0] * heights + beta[1]
    np.testing.assert_allclose(lm.predict({"height": heights}), want, rtol=1e-9)   # the fit's column
    np.testing.assert_allclose(lm.predict({"x": heights}), want, rtol=1e-9)        # the model's name
    np.testing.assert_allclose(lm.predict({"h": heights}, mapping={"x": "h"}), want, rtol=1e-9)
    np.testing.assert_allclose(lm.predict(STUDENTS), beta[0] * columns["height"] + beta[1], rtol=1e-9)
    with pytest.raises(GdcError, match="no data named 'z'"):
        lm.predict({"height": heights}, mapping={"z": "height"})
    with pytest.raises(GdcError):
        lm.predict({"weight": heights})


def test_predict_takes_a_dataframe_and_refuses_nan(lm, columns):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"height": [160.0, np.nan]})
    with pytest.raises(GdcError, match="column 'height' is NaN in row 1"):
        lm.predict(frame)
    assert lm.predict(frame.iloc[:1]).shape == (1,)


def test_to_dict_is_what_the_command_line_prints(lm, capsys):
    assert main(["fit", str(EXAMPLES / "linear.gd"), str(STUDENTS), "--map", "x=height,Y=weight",
                 "--json", "-q"]) == 0
    printed = json.loads(capsys.readouterr().out)
    ours = json.loads(json.dumps(lm.to_dict()))
    for doc in (printed, ours):
        doc.pop("seconds")
    assert ours == printed


def test_save_then_load_result_gives_the_same_result(lm, tmp_path):
    lm.save(tmp_path / "params.json")
    back = gdc.load_result(tmp_path / "params.json")
    assert back.to_dict() == json.loads(json.dumps(lm.to_dict()))
    assert back.params == lm.params and back.std_errors == lm.std_errors
    np.testing.assert_array_equal(back.predict(STUDENTS), lm.predict(STUDENTS))
    assert "standard error" in str(back)


def test_a_model_given_as_text_is_saved_with_its_text(columns, tmp_path):
    result = gdc.fit(TEXT, {"x": columns["height"], "Y": columns["weight"]})
    result.save(tmp_path / "params.json")
    doc = json.loads((tmp_path / "params.json").read_text())
    assert doc["model"] is None and doc["model_text"] == TEXT
    back = gdc.load_result(tmp_path / "params.json")
    np.testing.assert_array_equal(back.predict({"x": [170.0]}), result.predict({"x": [170.0]}))


def test_load_result_reads_the_command_lines_save_and_checks_the_model(tmp_path, capsys):
    shutil.copy(EXAMPLES / "linear.gd", tmp_path / "linear.gd")
    assert main(["fit", str(tmp_path / "linear.gd"), str(STUDENTS), "--map", "x=height,Y=weight",
                 "--save", str(tmp_path / "p.json"), "-q"]) == 0
    capsys.readouterr()
    back = gdc.load_result(tmp_path / "p.json")
    assert back.params["m"] == pytest.approx(0.85458509382, rel=1e-9) and back.converged
    (tmp_path / "linear.gd").write_text("model y = m*x\nloss mean((y - Y)^2)\n")
    with pytest.raises(GdcError, match="fitted to another model"):
        gdc.load_result(tmp_path / "p.json")


def test_fit_writes_plot_save_and_history_as_the_command_line_does(columns, tmp_path):
    result = gdc.fit(EXAMPLES / "students_scaled.gd", STUDENTS, method="gd", lr=0.5, mapping=MAP,
                     plot=tmp_path / "fit.png", save=tmp_path / "p.json", history=tmp_path / "loss.csv")
    assert (tmp_path / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (tmp_path / "loss.csv").read_text().splitlines()
    assert lines[0] == "epoch,loss,m,b" and len(lines) == len(result.history) + 1
    assert float(lines[-1].split(",")[1]) == result.history[-1]
    assert gdc.load_result(tmp_path / "p.json").params == result.params


def test_fit_refuses_to_write_over_its_data_before_fitting(tmp_path):
    data = tmp_path / "students.csv"
    shutil.copy(STUDENTS, data)
    with pytest.raises(GdcError, match="refusing to overwrite the input file"):
        gdc.fit(EXAMPLES / "linear.gd", data, mapping=MAP, history=data)
    assert data.read_bytes() == STUDENTS.read_bytes()


def test_a_diverged_fit_writes_its_history_but_saves_nothing(tmp_path):
    with pytest.raises(FitDiverged) as caught:
        gdc.fit(EXAMPLES / "students_scaled.gd", STUDENTS, method="gd", lr=1.1, mapping=MAP,
                history=tmp_path / "loss.csv", save=tmp_path / "p.json")
    assert (tmp_path / "loss.csv").exists() and not (tmp_path / "p.json").exists()
    with pytest.raises(GdcError, match="diverged fit has no parameters"):
        caught.value.result.save(tmp_path / "p.json")


def test_the_html_table_holds_the_text_tables_rows(lm):
    html = lm._repr_html_()
    from gdc.fitting.report import summary_rows
    correlation = 1 + 1   # the text's correlation table: its head, and b's row against m
    assert html.count("<tr>") == len(lm.params) + 1 + len(summary_rows(lm)) + correlation   # each of the text's
    for value in (f"{lm.params['m']:.10g}", f"{lm.std_errors['b']:.4g}", "lm (auto: ",
                  f"{lm.correlation[1, 0]:.3f}"):
        assert value in html and value in str(lm)


def test_pictures_for_a_notebook_and_a_file(lm, tmp_path):
    picture = lm.plot()
    assert picture._repr_svg_().lstrip().startswith("<?xml") and "<svg" in picture._repr_svg_()
    lm.plot(tmp_path / "fit.svg")
    assert "<svg" in (tmp_path / "fit.svg").read_text()


def test_sweep_keeps_the_diverged_fit_and_prints_as_lr_sweep(capsys):
    sweep = gdc.sweep(EXAMPLES / "students_scaled.gd", STUDENTS, [0.1, 1.1], mapping=MAP)
    assert [r.reason == "diverged" for r in sweep] == [False, True] and sweep[0].converged
    assert main(["lr-sweep", str(EXAMPLES / "students_scaled.gd"), str(STUDENTS), "--map",
                 "x=height,Y=weight", "--lr", "0.1,1.1", "-q"]) == 0
    assert str(sweep) + "\n" == capsys.readouterr().out
    assert sweep._repr_html_().count("<tr>") == 3 and "diverged (epoch" in sweep._repr_html_()
