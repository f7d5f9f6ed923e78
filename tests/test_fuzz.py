"""Fuzzing in the suite (issue 13): model text, CSV files and command lines, drawn by hypothesis.

Whatever the input, gdc answers with a result or a user error (exit 0 or 1), never an
internal error (exit 3) or a traceback, and within a time bound. The normal run draws a few
hundred examples in all; GDC_FUZZ_EXAMPLES=N draws N per target (the campaign ran thousands):

    GDC_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gdc.cli import main
from gdc.errors import GdcError
from gdc.io import csv_reader
from gdc.io.data import read_table
from gdc.language.frontend import check_text
from gdc.runtime.keys import normalize
from locations import EXAMPLES

EXAMPLES_GIVEN = int(os.environ.get("GDC_FUZZ_EXAMPLES", "0"))
SECONDS = 20.0   # the bound on one example, well above what any takes (a hang is minutes)


def examples(normal: int) -> settings:
    return settings(max_examples=EXAMPLES_GIVEN or normal, deadline=None, derandomize=not EXAMPLES_GIVEN,
                    suppress_health_check=list(HealthCheck), database=None)


@contextlib.contextmanager
def bounded():
    start = time.perf_counter()
    yield
    assert time.perf_counter() - start < SECONDS, "took too long"


# ------------------------------------------------------------------ model text

VALID = [
    "model y = m*x + b\nloss mean((y - Y)^2)\n",
    "param w[d], b = 0.5\ndata x[d], Y\nmodel p = sigmoid(dot(w, x) + b)\nloss -mean(Y*log(p) + (1 - Y)*log(1 - p))\n",
    "size h = 4\nparam W[h, d], v[h], c\ndata x[d], Y\nlet a = tanh(W @ x)\nmodel y = dot(v, a) + c\nloss mean((y - Y)^2)\n",
    "param a = 1, k = 0.1\ndata t, Y\nlet r = a*exp(-k*t) - Y\nmodel y = a*exp(-k*t)\nloss sum(r^2) + 0.01*(a^2 + k^2)\n",
]
TOKENS = ["model", "loss", "param", "data", "let", "size", "y", "x", "Y", "m", "b", "w", "d", "=", "+", "-", "*",
          "/", "^", "**", "@", "(", ")", "[", "]", ",", ";", "\n", " ", "\t", "\f", "\\\n", "\\", "#", "mean", "sum",
          "exp", "log", "sqrt", "sigmoid", "max", "dot", "0", "1", "2.5", ".5", "1e400", "1e-320", "1e999999999",
          "2^1024", "0.0", "pi", "e", "−", "×", "\r", "\x1b", "\0", "é", "\ufeff", "x" * 300, "9" * 50]


@st.composite
def model_texts(draw) -> str:
    """Random token soup, or a valid model with a few tokens inserted, replaced or deleted."""
    if draw(st.booleans()):
        return "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=40)))
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "replace", "delete"]))
        token = draw(st.sampled_from(TOKENS))
        span = draw(st.integers(1, 4))
        text = (text[:at] + token + text[at:] if kind == "insert" else
                text[:at] + token + text[at + span:] if kind == "replace" else text[:at] + text[at + span:])
    return text


@examples(250)
@given(model_texts())
def test_model_text_gives_a_model_or_a_user_error(text):
    with bounded():
        try:
            model = check_text(text, "fuzz.gd")
        except GdcError as exc:
            assert exc.render().startswith("fuzz.gd")
            return
        from gdc.calculus.symbolic import symbolic
        try:
            symbolic_model = symbolic(model)
        except GdcError:
            return
        if EXAMPLES_GIVEN:   # the long run goes on through the derivation and code generation
            from gdc.api import generate_source
            from gdc.calculus.derive import derive
            derive(symbolic_model)
            try:
                generate_source(text, "fuzz.gd", None, "--data", "0" * 64)
            except GdcError:
                pass


PIECES = ["m*x", "+", "b", " ", "\t", "\f", "\\", "\n", "\r", "#", "c", "\v", "(", ")", "1", ".", "e5", "\\ \n",
          "\\\t\n", "\\\f\n", "# \\\n"]
LAYOUT = [" ", "  ", "\t", "\f", " \f ", "# note", "\\\n", "\\ \n", "\\\f\n", "\\\t\n", "\\", "\n", "\r\n"]


@examples(300)
@given(st.lists(st.sampled_from(PIECES), max_size=20),
       st.lists(st.tuples(st.integers(0, 200), st.sampled_from(LAYOUT)), max_size=4))
def test_texts_with_one_cache_key_parse_alike(pieces, edits):
    """The cache key's normalizer (no lark) against the parser: a text and the same text laid
    out otherwise either get different keys, or parse alike (both refused, or one program).
    Issue 13: a form feed after a line continuation was a syntax error with a cold cache and
    a cache hit, with the kernels of the valid model, once that one was cached."""
    from gdc.language.lower import lower
    a = "model y = " + "".join(pieces) + "\nloss mean((y - Y)^2)\n"
    b = a
    for at, layout in edits:
        at = min(at, len(b))
        b = b[:at] + layout + b[at:]

    def outcome(text):
        try:
            return lower(text, "k.gd").statements
        except GdcError:
            return "refused"
    if normalize(a) == normalize(b):
        assert outcome(a) == outcome(b)
    if outcome(a) != "refused":   # the normal form of a valid text is the same model
        assert outcome(normalize(a)) == outcome(a)


# ------------------------------------------------------------------ CSV files

CELLS = ["1", "-2.5", "+.5", "5.", "1e3", "1e400", "-1e-400", "nan", "NaN", "inf", "-Infinity", "", " 7 ", '"8"',
         '"9', "1,000", "1_000", "0x10", "١", "abc", "\x1b[31m", "\0", "é", "1e", "--1", ".", "+", "1.5e+07"]
SEPARATORS = [",", ",", ",", "\n", "\n", "\r\n", "\r", ";", '"', " ", "\t", "\n\n"]


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.sampled_from(["x,Y", "x,Y,z", "x", "1,2", "x,x", "x,", "\ufeffx,Y", "x,\x1b]0;t\x07", ""]))
    pieces = draw(st.lists(st.one_of(st.sampled_from(CELLS), st.sampled_from(SEPARATORS)), max_size=60))
    data = (header + "\n" + "".join(pieces)).encode("utf-8")
    if draw(st.booleans()):   # a stray byte
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\0", b"\r"])) + data[at:]
    return data


def _read(path: Path):
    try:
        table = read_table(path)
    except GdcError as exc:
        assert exc.where == str(path)
        return exc.render()
    assert all(len(c) == table.n_rows and c.dtype == np.float64 for c in table.columns.values())
    return table


@examples(150)
@given(csv_files())
def test_a_csv_file_gives_columns_or_a_user_error_and_both_readers_agree(tmp_path_factory, data):
    """The slow reader (small files) and pyarrow in blocks (large ones; here forced with tiny
    blocks) accept the same files, read the same numbers and blame the same line."""
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    path.write_bytes(data)
    with bounded():
        slow = _read(path)
        saved = csv_reader.SMALL, csv_reader.BLOCK
        csv_reader.SMALL, csv_reader.BLOCK = 0, 8
        try:
            fast = _read(path)
        finally:
            csv_reader.SMALL, csv_reader.BLOCK = saved
    if isinstance(slow, str) or isinstance(fast, str):
        assert slow == fast
        return
    assert slow.names == fast.names and slow.n_rows == fast.n_rows
    for name in slow.names:
        np.testing.assert_array_equal(slow.columns[name], fast.columns[name])


# ------------------------------------------------------------------ command lines

MODEL = "model y = m*x + b\nloss mean((y - Y)^2)\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "m.gd").write_text(MODEL)
    (folder / "bad.gd").write_text("model y = m*x +\nloss mean((y - Y)^2)\n")
    (folder / "d.csv").write_text("x,Y\n" + "".join(f"{i},{2 * i + 1 + (-1) ** i * 0.1}\n" for i in range(20)))
    (folder / "students.csv").write_bytes((EXAMPLES / "students.csv").read_bytes())
    assert main(["fit", str(folder / "m.gd"), str(folder / "d.csv"), "-q", "--save", str(folder / "p.json")]) == 0
    return {"model": str(folder / "m.gd"), "bad": str(folder / "bad.gd"), "data": str(folder / "d.csv"),
            "other data": str(folder / "students.csv"), "params": str(folder / "p.json"),
            "missing": str(folder / "none.csv"), "folder": str(folder), "out": str(folder / "out.json"),
            "null": "/dev/null", "proc": "/proc/x.json"}


NUMBERS = ["0", "1", "-1", "3", "1e-3", "0.5", "0.999", "nan", "inf", "-inf", "1e308", "", "x", "99999999999999999999"]
TEXTS = ["", "m=1,b=2", "m=1e400", "w=0", "x=x,Y=Y", "Y=x", "m=nan", "=", ",", "x", "x,Y", "m", "zz=1", "\x1b[2J"]
FIRST_ORDER = ["gd", "sgd", "minibatch", "momentum", "adam"]


def mostly(*good: str, bad=NUMBERS) -> list[str]:
    """Values to draw from: four in five well-formed, so that most lines reach the work."""
    return list(good) * (4 * len(bad) // len(good) + 1) + list(bad)


# Per command: its positional arguments (each a choice of files), and its options with the
# values to draw from (None: a flag).
SPECS = {
    "fit": ((["model", "model", "model", "bad", "missing"], ["data"] * 4 + ["other data", "missing", "folder", "null"]), {
        "--method": mostly("auto", "lm", "newton", *FIRST_ORDER, bad=["nope", ""]), "--lr": mostly("0.01", "1e-3"),
        "--epochs": mostly("1", "5", "50", bad=["0", "-3", "x"]), "--tol": mostly("1e-8"), "--gtol": mostly("1e-6"),
        "--batch-size": mostly("1", "4", "1000", bad=["0", "-1"]), "--seed": mostly("0", "7"),
        "--momentum": mostly("0.9"), "--beta1": mostly("0.8"), "--beta2": mostly("0.99"), "--eps": mostly("1e-8"),
        "--power-t": mostly("0.5"), "--step-every": mostly("1", "10", bad=["0", "-2"]), "--step-factor": mostly("0.5"),
        "--schedule": mostly("constant", "invscaling", "step", bad=["x"]), "--init": mostly("m=1,b=2", bad=TEXTS),
        "--map": mostly("x=x,Y=Y", bad=TEXTS), "--save": "output", "--history": "output", "--plot": "plot",
        "-q": None, "--json": None, "--nesterov": None, "--no-shuffle": None, "--drop-nonfinite": None}),
    "lr-sweep": ((["model"], ["data", "other data"]), {
        "--lr": mostly("0.1", "0.01,0.1", bad=["1e-3,x", "-1", ""]), "--method": FIRST_ORDER,
        "--epochs": ["1", "20"], "--map": TEXTS, "--json": None, "-q": None}),
    "predict": ((["model", "bad"], ["params", "params", "data", "missing"], ["data", "other data", "null"]), {
        "-o": "output", "--map": TEXTS, "--drop-nonfinite": None}),
    "derive": ((["model", "model", "bad", "missing", "null"],), {
        "--data": TEXTS, "--format": ["text", "json", "latex", "markdown", "x"], "--wrt": ["m", "b", "zz", ""],
        "--hessian": None}),
    "compile": ((["model", "bad"],), {"-o": "output", "--data": TEXTS, "--force": None}),
    "check": ((["model", "bad"], ["data", "other data", "missing"]), {
        "--data": TEXTS, "--map": TEXTS, "--points": mostly("1", "3", bad=["0", "-1", "x"]),
        "--rows": mostly("1", "10", bad=["0", "-1"]), "--tol": mostly("1e-5"), "--seed": mostly("0", "3")}),
    "cache": ((["list", "why"], ["model", "bad", "missing"]), {"--data": TEXTS}),
}
OUTPUTS = ["out", "out", "null", "proc", "model", "data", "folder"]


@st.composite
def command_lines(draw, files) -> list[str]:
    command = draw(st.sampled_from(sorted(SPECS)))
    positional, options = SPECS[command]
    argv = [command]
    count = len(positional) if draw(st.integers(0, 9)) else draw(st.integers(0, len(positional) + 1))
    for choices in (positional + (["data"],))[:count]:
        choice = draw(st.sampled_from(choices))
        argv.append(files.get(choice, choice))
    if command == "lr-sweep" and draw(st.integers(0, 9)):   # its one required option
        argv += ["--lr", draw(st.sampled_from(options["--lr"]))]
    for option in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        values = options[option]
        argv.append(option)
        if values == "output" or values == "plot":
            argv.append(files[draw(st.sampled_from(OUTPUTS))] + (".png" if values == "plot" else ""))
        elif values is not None:
            argv.append(draw(st.sampled_from(values)))
    return argv


@examples(80)
@given(data=st.data())
def test_a_command_line_exits_0_or_1(files, data):
    argv = data.draw(command_lines(files))
    out, err = io.StringIO(), io.StringIO()
    with bounded(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):   # (no `cache clear`)
        try:
            status = main(argv)
        except SystemExit as exit_:   # --help
            status = exit_.code
    event(f"{argv[0]}: exit {status}" + (" (usage)" if err.getvalue().startswith("usage:") else ""))
    assert status in (0, 1), (argv, err.getvalue())
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue(), argv
    assert Path(files["model"]).read_text() == MODEL
