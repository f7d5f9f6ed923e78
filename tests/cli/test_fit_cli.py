"""`gdc fit`, `gdc predict` and `gdc lr-sweep` as a user runs them: output, files, exit status, errors."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gdc.cli import main
from locations import TESTS, EXAMPLES, DATA

STUDENTS = EXAMPLES / "students.csv"
SCALED = "model y = m*(x - 170)/10 + b\nloss mean((y - Y)^2)\n"
LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder holding the model and the data, as the current directory (messages show short paths)."""
    (tmp_path / "scaled.gd").write_text(SCALED)
    (tmp_path / "linear.gd").write_text(LINEAR)
    shutil.copy(STUDENTS, tmp_path / "students.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def gdc(capsys, *args) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


FIT = ("fit", "scaled.gd", "students.csv", "--map", "x=height,Y=weight")


def test_fit_says_what_is_data_then_reports(work, capsys):
    status, out, err = gdc(capsys, *FIT)
    assert status == 0 and err == ""
    assert "parameters  m, b (not columns of students.csv)" in out
    assert "data        x ← height, Y ← weight (columns of students.csv, by --map)" in out
    assert "method      auto: lm (Levenberg–Marquardt; the loss is a sum of squared residuals" in out
    for line in ("parameter", "loss", "RSS", "condition", "gradient norm", "iterations", "stopped", "time"):
        assert f"\n  {line}" in out
    assert "standard error" in out and "stopped        converged: " in out


def test_first_order_fit_reports_its_step_size(work, capsys):
    status, out, err = gdc(capsys, *FIT, "--method", "gd")
    assert status == 0 and err == ""
    assert "step size chosen automatically" in out
    assert "converged: the gradient norm" in out and "\n  epochs" in out


def test_quiet_json_is_one_object(work, capsys):
    status, out, err = gdc(capsys, *FIT, "--json", "--quiet", "--method", "momentum")
    result = json.loads(out)
    assert status == 0 and err == ""
    assert {"params", "loss", "iterations", "converged", "reason", "seconds", "method", "lr"} <= set(result)
    assert set(result["params"]) == {"m", "b"} and result["method"] == "momentum"
    assert result["converged"] is True and result["lr_auto"] is True


def test_no_certify_says_the_stop_rule_alone_vouches(work, capsys):
    status, out, err = gdc(capsys, *FIT, "--json", "--quiet", "--no-certify")
    result = json.loads(out)
    assert status == 0 and err == "" and "gap" not in result
    assert result["converged"] is True and result["certified"] is False
    assert "; not certified: certify=False (--no-certify) skipped the curvature estimate" in result["message"]
    status, out, err = gdc(capsys, *FIT, "--json", "--quiet")
    assert "gap" in json.loads(out) and "not certified" not in json.loads(out)["message"]
    assert json.loads(out)["certified"] is True


def test_save_then_predict(work, capsys):
    status, out, err = gdc(capsys, *FIT, "--save", "params.json", "--gtol", "1e-9")
    assert status == 0 and "wrote the parameters to params.json" in out
    saved = json.loads((work / "params.json").read_text())
    m, b = saved["params"]["m"], saved["params"]["b"]
    # New data need only the input column; the output keeps the file's columns, adds the model's.
    (work / "new.csv").write_text("height\n150\n190.5\n")
    status, out, err = gdc(capsys, "predict", "scaled.gd", "params.json", "new.csv", "-o", "out.csv")
    assert status == 0 and "wrote 2 predictions (y) to out.csv" in err
    rows = list(csv.reader((work / "out.csv").open()))
    assert rows[0] == ["height", "y"]
    assert [float(r[1]) for r in rows[1:]] == [m * (150 - 170) / 10 + b, m * (190.5 - 170) / 10 + b]
    status, out, err = gdc(capsys, "predict", "scaled.gd", "params.json", "new.csv")
    assert status == 0 and out == (work / "out.csv").read_text()


def test_predict_refuses_parameters_of_another_model(work, capsys):
    assert gdc(capsys, *FIT, "--save", "params.json", "-q")[0] == 0
    (work / "scaled.gd").write_text(SCALED.replace("170", "160"))
    status, out, err = gdc(capsys, "predict", "scaled.gd", "params.json", "students.csv")
    assert status == 1 and out == ""
    assert "params.json: error: these parameters were fitted to another model" in err
    assert "hint: fit again: gdc fit scaled.gd DATA --save params.json" in err


def test_outputs_never_overwrite_the_inputs(work, capsys):
    before = (work / "students.csv").read_bytes()
    for option in ("--save", "--history", "--plot"):
        status, out, err = gdc(capsys, *FIT, option, "students.csv")
        assert status == 1
        assert f"{option}: error: refusing to overwrite the input file students.csv" in err
    status, out, err = gdc(capsys, *FIT, "--save", "scaled.gd")
    assert status == 1 and "refusing to overwrite the input file scaled.gd" in err
    assert (work / "students.csv").read_bytes() == before


def test_history_is_the_loss_per_epoch(work, capsys):
    status, out, err = gdc(capsys, *FIT, "--lr", "0.1", "--epochs", "7", "--history", "loss.csv", "-q")
    assert status == 0 and "not converged: stopped at the epoch limit (7)" in out
    rows = list(csv.reader((work / "loss.csv").open()))
    assert rows[0] == ["epoch", "loss", "m", "b"] and len(rows) == 9
    losses = [float(r[1]) for r in rows[1:]]
    assert losses == sorted(losses, reverse=True)


def test_divergence_stops_with_advice_and_no_parameters(work, capsys):
    status, out, err = gdc(capsys, "fit", "linear.gd", "students.csv", "--map", "x=height,Y=weight",
                           "--lr", "0.01", "-q")
    assert status == 1 and out == ""
    assert "gdc fit: error: the fit diverged at epoch" in err
    assert "hint: use a smaller learning rate, e.g. --lr 0.001 (10× smaller)" in err
    assert "nan" not in err.lower()


def test_dropped_rows_are_counted(work, capsys):
    (work / "gaps.csv").write_text("height,weight\n170,60\n,70\n180,70\n160,inf\n190,80\n")
    status, out, err = gdc(capsys, "fit", "scaled.gd", "gaps.csv", "--map", "x=height,Y=weight",
                           "--drop-nonfinite")
    assert status == 0
    assert "rows        3 (2 rows with NaN or inf dropped)" in out


BAD = {
    "map_column": (*FIT[:3], "--map", "x=hieght,Y=weight"),
    "map_syntax": (*FIT[:3], "--map", "x:height"),
    "init_unknown": (*FIT, "--init", "slope=1"),
    "init_syntax": (*FIT, "--init", "m=one"),
    "init_twice": (*FIT, "--init", "m=1", "--init", "b=0,m=2"),   # argparse kept the last, m=2, silently
    "fix_twice": (*FIT, "--fix", "b=0", "--fix", "b=1"),
    "bound_twice": (*FIT, "--bound", "m=0:1,m=5:6"),
    "negative_rate": (*FIT, "--lr", "-1"),
    "batch_for_gd": (*FIT, "--method", "gd", "--batch-size", "8"),
    "batch_for_auto": (*FIT, "--batch-size", "8"),
    "no_data_file": ("fit", "scaled.gd", "studnets.csv"),
    "nan_cell": ("fit", "scaled.gd", "gaps.csv", "--map", "x=height,Y=weight"),
    "missing_column": ("fit", "scaled.gd", "students.csv"),
    "predict_no_params": ("predict", "scaled.gd", "params.json", "students.csv"),
    "predict_not_params": ("predict", "scaled.gd", "students.csv", "students.csv"),
    "tolerance_for_lm": (*FIT, "--method", "lm", "--gtol", "1e-9"),
    "save_in_missing_folder": (*FIT, "--save", "nowhere/params.json"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_messages(work, capsys, golden, case):
    (work / "gaps.csv").write_text("height,weight\n170,60\n175,\n")
    status, out, err = gdc(capsys, *BAD[case])
    assert status == 1 and out == ""
    golden(f"fit/{case}.txt", err)


def test_lr_sweep_shows_the_classic_experiment(work, capsys):
    status, out, err = gdc(capsys, "lr-sweep", *FIT[1:], "--lr", "0.001,0.1,0.5,2", "--epochs", "500")
    assert status == 0
    table = out.split("method      gd, lr 0.001, 0.1, 0.5, 2\n", 1)[1].strip().splitlines()
    assert table[0].split() == ["lr", "outcome", "epochs", "final", "loss"]
    outcomes = {line.split()[0]: line.split()[1:] for line in table[1:]}
    assert outcomes["0.001"][:2] == ["not", "converged"]
    assert outcomes["0.1"][0] == "converged" and outcomes["0.5"][0] == "converged"   # not "not converged"
    assert outcomes["2"][:2] == ["diverged", "(epoch"]


def test_a_real_gdc_fit_process(tmp_path):
    """The installed command end to end, in a fresh process with a cold kernel cache."""
    (tmp_path / "scaled.gd").write_text(SCALED)
    env = dict(os.environ, GDC_CACHE_DIR=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "gdc", "fit", "scaled.gd", str(STUDENTS),
               "--map", "x=height,Y=weight", "--json"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    h, w = np.loadtxt(STUDENTS, delimiter=",", skiprows=1, unpack=True)
    want = np.linalg.lstsq(np.c_[(h - 170) / 10, np.ones_like(h)], w, rcond=None)[0]
    assert [result["params"]["m"], result["params"]["b"]] == pytest.approx(want, rel=1e-6)
    assert result["method"] == "lm" and result["converged"] and result["reason"] in ("xtol", "ftol", "gtol")
    assert "parameters  m, b" in done.stderr   # beside --json, the preamble goes to stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_not_when_quiet(monkeypatch):
    from gdc.fitting import progress
    assert progress.progress_bar(10, "gd", quiet=False, stream=io.StringIO()) is None
    assert progress.progress_bar(10, "gd", quiet=True, stream=Terminal()) is None
    monkeypatch.setattr(progress.Progress, "DELAY", 0.0)
    monkeypatch.setattr(progress.Progress, "INTERVAL", 0.0)
    screen = Terminal()
    bar = progress.progress_bar(10, "sgd", quiet=False, stream=screen)
    for epoch in range(1, 4):
        bar(epoch, 1.0 / epoch, 0.5, 0.01)
    bar.close()
    assert "gdc fit (sgd)" in screen.getvalue() and "loss 0.333333, |grad| 0.5, lr 0.01" in screen.getvalue()


def test_written_files_get_ordinary_permissions(tmp_path):
    """Outputs are written atomically through a temporary file, but end up like any other file."""
    import os
    from gdc.io.files import write_atomic
    mask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "out.csv", "a\n1\n")
    finally:
        os.umask(mask)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_warm_fit_imports_neither_sympy_nor_lark(tmp_path):
    """Once the kernels are cached, `gdc fit` runs on numpy and numba alone."""
    (tmp_path / "scaled.gd").write_text(SCALED)
    env = dict(os.environ, GDC_CACHE_DIR=str(tmp_path / "cache"))
    code = ("import sys; from gdc.cli import main; "
            f"status = main(['fit', 'scaled.gd', {str(STUDENTS)!r}, '--map', 'x=height,Y=weight', '--quiet']); "
            "print(sorted(m for m in ('sympy', 'lark') if m in sys.modules)); sys.exit(status)")
    runs = [subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300) for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), runs[-1].stderr
    assert runs[0].stdout.strip().endswith("['lark', 'sympy']")   # the first run compiles
    assert runs[1].stdout.strip().endswith("[]")
