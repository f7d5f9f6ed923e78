"""`gdc fit --bound/--fix` as a user runs them: the report's marks, the JSON, the errors, the help."""

from __future__ import annotations

import json
import shutil

import pytest

from gdc.cli import main
from locations import EXAMPLES

LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"


@pytest.fixture
def work(tmp_path, monkeypatch):
    (tmp_path / "linear.gd").write_text(LINEAR)
    shutil.copy(EXAMPLES / "students.csv", tmp_path / "students.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def gdc(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_bound_and_fix_in_the_report(work, capsys):
    free = json.loads(gdc(capsys, "fit", "linear.gd", "students.csv", "-q", "--json",
                          "--map", "x=height,Y=weight", "--fix", "b=0")[1])
    cap = round(free["params"]["m"] / 2, 3)
    status, out, _ = gdc(capsys, "fit", "linear.gd", "students.csv", "-q", "--map", "x=height,Y=weight",
                         "--bound", f"m=:{cap}", "--fix", "b=0")
    assert status == 0
    assert f"— at upper bound {cap:g}" in out and "— (fixed)" in out and "converged" in out
    status, out, _ = gdc(capsys, "fit", "linear.gd", "students.csv", "-q", "--json", "--map",
                         "x=height,Y=weight", "--bound", f"m=0:{cap},b=-inf:inf", "--fix", "b=0")
    document = json.loads(out)
    assert document["params"]["b"] == 0 and document["params"]["m"] == pytest.approx(cap, rel=1e-12)
    assert document["held"] == {"m": f"at upper bound {cap:g}", "b": "fixed"}


def test_lr_sweep_takes_the_box_and_saved_results_keep_its_marks(work, capsys):
    status, out, _ = gdc(capsys, "lr-sweep", "linear.gd", "students.csv", "-q", "--json", "--map",
                         "x=height,Y=weight", "--lr", "1e-5,2e-5", "--fix", "b=0", "--bound", "m=0:0.1")
    assert status == 0
    for document in json.loads(out):
        assert document["params"]["b"] == 0 and 0 <= document["params"]["m"] <= 0.1
        assert document["held"]["b"] == "fixed"
    status, _, _ = gdc(capsys, "fit", "linear.gd", "students.csv", "-q", "--map", "x=height,Y=weight",
                       "--bound", "m=0:0.1", "--fix", "b=0", "--save", "params.json")
    assert status == 0
    from gdc import load_result
    loaded = load_result(work / "params.json")
    assert loaded.held == ("at upper bound 0.1", "fixed") and "— (fixed)" in str(loaded)


@pytest.mark.parametrize("args, message", [
    (("--fix", "q=1"), "--fix: error: the model has no parameter 'q'"),
    (("--bound", "Y=0:1"), "--bound: error: 'Y' is data, not a parameter"),
    (("--bound", "m=1"), "--bound: error: m='1' is not a range"),
    (("--bound", "m=2:1"), "leave no room"),
    (("--fix", "b=x"), "--fix: error: 'b' must be fixed at a number"),
    (("--bound", "m=0:1", "--init", "m=5"), "the start m = 5 is outside its bounds [0, 1]"),
])
def test_bad_bounds_exit_1_without_a_traceback(work, capsys, args, message):
    status, out, err = gdc(capsys, "fit", "linear.gd", "students.csv", "-q", "--map", "x=height,Y=weight", *args)
    assert status == 1 and message in err and "Traceback" not in err
    if "no parameter" in message:
        assert "the parameters are m, b" in err


def test_the_help_explains_them(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    out = capsys.readouterr().out
    assert "--bound NAME=LOW:HIGH" in out and "--fix NAME=VALUE" in out and "narrows the model's" in out
