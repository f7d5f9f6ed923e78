"""Issue 13's corpus of hostile files (tests/corpus/, made by make_corpus.py): every one is
handled or refused with a user error that names the spot, by every command that reads it."""

from __future__ import annotations

import json
import re

import pytest

from gdc.cli import main
from locations import TESTS

CORPUS = TESTS / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
MODELS = sorted(name for name in EXPECTED if name.startswith("models/"))
DATA = sorted(name for name in EXPECTED if name.startswith("data/"))


def run(capsys, *args) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_corpus_is_as_make_corpus_writes_it():
    assert len(MODELS) >= 40 and len(DATA) >= 15
    assert all((CORPUS / name).is_file() for name in EXPECTED)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("command", ["derive", "compile"])
def test_a_hostile_model(capsys, name, command):
    path = str(CORPUS / name)
    status, out, err = run(capsys, command, path)
    expected = EXPECTED[name]
    if expected == "ok":
        assert status == 0 and out, err
        return
    assert status == 1 and out == "", err
    assert "Traceback" not in err and "internal error" not in err
    assert err.startswith(path) and expected in err, err
    positioned = re.match(re.escape(path) + r":\d+:\d+: error: ", err)
    file_level = ("not a text file", "not UTF-8 text")
    assert positioned or any(words in expected for words in file_level), err


@pytest.mark.parametrize("name", DATA)
def test_a_hostile_data_file(capsys, tmp_path, name):
    model = tmp_path / "m.gd"
    model.write_text("model y = m*x + b\nloss mean((y - Y)^2)\n")
    path = str(CORPUS / name)
    status, out, err = run(capsys, "fit", str(model), path, "-q")
    assert "Traceback" not in err and "internal error" not in err and "\x1b" not in out + err
    if EXPECTED[name] == "ok":
        assert status == 0, err
    else:
        assert status == 1 and err.startswith(path) and EXPECTED[name] in err, err
