"""The command line against issue 13's hostile options and outputs: exit 1 with a message, and
nothing written over what the user keeps."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gdc.cli import main
from gdc.fitting.report import history_csv, history_lines
from gdc.io.files import write_atomic
from locations import EXAMPLES

LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"


@pytest.fixture
def work(tmp_path, monkeypatch):
    (tmp_path / "m.gd").write_text(LINEAR)
    shutil.copy(EXAMPLES / "students.csv", tmp_path / "d.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


FIT = ("fit", "m.gd", "d.csv", "--map", "x=height,Y=weight", "-q")


def gdc(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("args", [(), ("nope",), ("fit",), ("fit", "m.gd", "d.csv", "--bogus"),
                                  ("fit", "m.gd", "d.csv", "--epochs", "1e3"), ("cache", "purge")])
def test_usage_errors_exit_1_like_all_bad_input(work, capsys, args):
    status, _, err = gdc(capsys, *args)
    assert status == 1 and err.startswith("usage: gdc") and "error:" in err


@pytest.mark.parametrize("args, words", [
    (FIT + ("--seed", "-1"), "--seed: must be at least 0, not -1"),
    (("report", "m.gd", "d.csv", "--seed", "-1"), "--seed: must be at least 0, not -1"),   # was numpy's ValueError
    (("check", "m.gd", "--rows", "-1"), "--rows: must be at least 1, not -1"),
    (("check", "m.gd", "--points", "0"), "--points: must be at least 1, not 0"),
    (("check", "m.gd", "--tol", "nan"), "--tol: must be a finite number > 0, not nan"),
    (("lr-sweep", "m.gd", "d.csv", "--lr", "0.1,-1"), "--lr: must be a finite number > 0, not -1"),
])
def test_numbers_an_option_cannot_take(work, capsys, args, words):
    status, _, err = gdc(capsys, *args)
    assert status == 1 and words in err


# ------------------------------------------------------------------ outputs

@pytest.mark.parametrize("first, second", [("--save", "--history"), ("--history", "--plot"), ("--save", "--plot")])
def test_two_outputs_naming_one_file_are_refused_before_the_fit(work, capsys, first, second):
    os.symlink("same.out", "link.out")
    status, out, err = gdc(capsys, *FIT, first, "same.out", second, "link.out")
    assert status == 1 and f"{first} and {second} both name link.out" in err and out == ""
    assert not (work / "same.out").exists()


@pytest.mark.parametrize("output", ["m.gd", "alias.gd"])
def test_compile_never_writes_over_its_model(work, capsys, output):
    os.link("m.gd", "alias.gd")
    status, _, err = gdc(capsys, "compile", "m.gd", "-o", output, "--force")
    assert status == 1 and "refusing to overwrite the input file m.gd" in err
    assert (work / "m.gd").read_text() == LINEAR


def test_an_unwritable_output_folder_is_found_before_the_fit(work, capsys):
    """/proc takes no new files, whoever asks (root passes every permission check)."""
    status, out, err = gdc(capsys, *FIT, "--save", "/proc/params.json")
    assert status == 1 and "cannot write to the folder /proc" in err and out == ""


def test_a_device_is_written_not_replaced(work, capsys):
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    null = work / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))   # another /dev/null
    status, _, err = gdc(capsys, *FIT, "--save", str(null))
    assert status == 0, err
    assert stat.S_ISCHR(null.lstat().st_mode)


def test_a_pipe_is_written_into(work, capsys):
    fifo = work / "out.csv"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    assert gdc(capsys, *FIT, "--save", "p.json")[0] == 0
    status, _, err = gdc(capsys, "predict", "m.gd", "p.json", "d.csv", "-o", str(fifo))
    reader.join(10)
    assert status == 0, err
    assert got and got[0].startswith("height,weight,") and stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux's /proc names the pipe")
def test_a_pipe_named_through_proc_is_written_into(work, capsys):
    """--history /dev/stdout with stdout a pipe: the link resolves to 'pipe:[123]', and the
    atomic write tried a temporary file in /proc/<pid>/fd ('cannot write to the folder')."""
    read, write = os.pipe()
    got = []
    reader = threading.Thread(target=lambda: got.append(os.fdopen(read).read()), daemon=True)
    reader.start()
    try:
        status, _, err = gdc(capsys, *FIT, "--history", f"/proc/self/fd/{write}")
    finally:
        os.close(write)
    reader.join(10)
    assert status == 0, err
    assert got and got[0].startswith("epoch,")


def test_temp_files_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "params.json"
    leftovers = [tmp_path / f".params.json.{dead.pid}.abcd1234.tmp",   # its writer is gone
                 tmp_path / ".params.json.old_a1b2.tmp"]                # the older naming, hours old
    alive = tmp_path / f".params.json.{os.getpid()}.zzzz9999.tmp"    # a writer still at work
    others = [tmp_path / ".params.json.notours.tmp", tmp_path / ".other.json.12.abcd1234.tmp"]
    for path in leftovers + [alive] + others:
        path.write_text("half")
    hours_ago = time.time() - 3 * 3600
    os.utime(leftovers[1], (hours_ago, hours_ago))
    write_atomic(out, "{}\n")
    assert out.read_text() == "{}\n"
    assert not any(p.exists() for p in leftovers) and alive.exists() and all(p.exists() for p in others)


def test_the_history_is_written_in_blocks():
    history = np.linspace(1.0, 0.0, 200_001)
    result = SimpleNamespace(history=history, path=np.stack([history, -history], axis=1), layout=None)
    blocks = list(history_lines(result, ("m", "b"), rows=50_000))
    assert len(blocks) == 1 + 5 and blocks[0] == "epoch,loss,m,b\n"
    assert "".join(blocks) == history_csv(result, ("m", "b"))
    lines = "".join(blocks).splitlines()
    assert len(lines) == 200_002 and lines[-1] == "200000,0.0,0.0,-0.0"
    assert [float(v) for v in lines[12345].split(",")] == [12344, history[12344], history[12344], -history[12344]]


def test_escape_codes_in_a_header_are_printed_escaped(work, capsys):
    text = (work / "d.csv").read_text().splitlines()
    evil = "\x1b]0;owned\x07\x1b[2J"
    (work / "d.csv").write_text("\n".join([text[0] + "," + evil] + [line + ",1" for line in text[1:]]) + "\n")
    status, out, err = gdc(capsys, *FIT[:-1])
    assert status == 0, err
    assert "\x1b" not in out + err and "\x07" not in out and "\\x1b]0;owned\\x07" in out


def test_numpy_warnings_stay_off_stderr(work, capsys):
    """b^0.9 at b = 0 sends the trust region's scales to NaN: numpy warned about each."""
    (work / "root.gd").write_text("model y = m*x + b^0.9\nloss mean((y - Y)^2)\n")
    status, _, err = gdc(capsys, "fit", "root.gd", "d.csv", "--map", "x=height,Y=weight", "-q")
    assert "RuntimeWarning" not in err and "Warning" not in err and status in (0, 1)


# ------------------------------------------------------------------ parameter files

BROKEN_PARAMS = {
    "sizes as a list": {"sizes": [1]},
    "a size that is text": {"sizes": {"d": "x"}},
    "a size below 1": {"sizes": {"d": 0}},
    "a size that is true": {"sizes": {"d": True}},
    "columns as a list": {"columns": ["x"]},
    "a column that is a number": {"columns": {"x": 3}},
    "classified_by as a list": {"classified_by": ["x"]},
    "classified names as text": {"classified_by": {"names": "xY", "origin": "x"}},
    "classified names as numbers": {"classified_by": {"names": [1, 2], "origin": 3}},
    "a model hash that is a number": {"model_hash": 5},
    "data names as a map": {"data_names": {"x": 1}},
    "params as a list": {"params": [1, 2]},
    "a param that is NaN": {"params": {"m": "NaN", "b": 1}},
    "a ragged param": {"params": {"m": [[1.0], [1.0, 2.0]], "b": 1}},
    # float() of these raised OverflowError, their check recursed past the stack: internal errors
    "a param of 4000 digits": {"params": {"m": 10 ** 3999, "b": 1}},
    "a param nested 900 deep": {"params": {"m": json.loads("[" * 900 + "1" + "]" * 900), "b": 1}},
    "a param nested three deep": {"params": {"m": [[[1.0]]], "b": 1}},
    "a param that is true": {"params": {"m": True, "b": 1}},
}


@pytest.mark.parametrize("name", BROKEN_PARAMS)
def test_a_broken_parameters_file_is_a_user_error(work, capsys, name):
    if not (work / "p.json").exists():
        assert gdc(capsys, *FIT, "--save", "p.json")[0] == 0
    doc = json.loads((work / "p.json").read_text()) | BROKEN_PARAMS[name]
    Path("broken.json").write_text(json.dumps(doc))
    status, _, err = gdc(capsys, "predict", "m.gd", "broken.json", "d.csv")
    assert status == 1 and err.startswith("broken.json: error: its ")


@pytest.mark.parametrize("text, why", [('{"params": {"m": 1' + "9" * 5000 + "}}", "a number with too many digits"),
                                       ("[" * 100_000 + "]" * 100_000, "nested too deeply")],
                         ids=["digits", "nesting"])
def test_json_that_python_cannot_read_is_not_a_parameters_file(work, capsys, text, why):
    """json.loads raised ValueError (past 4300 digits) and RecursionError: internal errors."""
    Path("broken.json").write_text(text)
    status, _, err = gdc(capsys, "predict", "m.gd", "broken.json", "d.csv")
    assert status == 1 and err.startswith(f"broken.json: error: is not a parameters file (JSON {why})")
