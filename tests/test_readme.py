"""The README, run: every command it shows and every Python block, each output compared with
what the README prints (numbers as printed; `...` stands for what the README leaves out), every
option it names accepted by the command line, every FitResult field it names present, every
model it shows accepted, and the commands CI takes from it.

Commands run as `python -m gdc` on this tree, in fresh processes sharing the test session's
kernel cache, so a model compiled once serves the rest.
"""

from __future__ import annotations

import contextlib
import io
import operator
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

import gdc
from gdc.cli import build_parser
from gdc.language.frontend import check_text
from locations import BAD_MODELS, EXAMPLES, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def indented_blocks(text: str) -> list[list[str]]:
    """The README's indented code blocks (outside fenced ones), each as its lines, dedented."""
    blocks, current, fenced = [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("    "):
            current.append(line[4:])
            continue
        if current and line.strip() == "":
            current.append("")
            continue
        if current:
            blocks.append([row for row in current])
            current = []
    if current:
        blocks.append(current)
    return [[row.rstrip() for row in block] for block in blocks]


def command_runs(block: list[str]) -> list[tuple[str, list[str]]]:
    """A block of `$ command` lines, each followed by the output the README shows for it."""
    runs = []
    for line in block:
        if line.startswith("$ "):
            runs.append((line[2:].split("#")[0].strip(), []))
        elif line.strip():
            runs[-1][1].append(line)
    return runs


BLOCKS = indented_blocks(README)
RUNS = [run for block in BLOCKS if block[0].startswith("$ ") for run in command_runs(block)]


def line_pattern(shown: str) -> re.Pattern:
    """A shown line as a pattern for the printed one: the same words and numbers, spaces of
    any width, and `...` for anything (so 0.85458... is a number that begins so)."""
    return re.compile(".*".join(r"\s+".join(re.escape(word) for word in part.split())
                                for part in shown.strip().split("...")))


def assert_shows(shown: list[str], printed: str, what: str) -> None:
    """Each shown line matches a printed line, in order (the README may leave lines out)."""
    lines = [line.strip() for line in printed.splitlines()]
    at = 0
    for expected in shown:
        if expected.strip() in ("", "..."):
            continue
        pattern = line_pattern(expected)
        while at < len(lines) and not pattern.fullmatch(lines[at]):
            at += 1
        assert at < len(lines), f"{what}: the README shows\n  {expected.strip()}\nbut gdc printed\n{printed}"
        at += 1


def gdc_process(command: str, cwd=ROOT) -> subprocess.CompletedProcess:
    words = shlex.split(command)
    assert words[0] == "gdc", command
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")   # the width the README shows
    return subprocess.run([sys.executable, "-m", "gdc", *words[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


# ---------------------------------------------------------------- commands and their output


def test_the_readme_shows_its_commands():
    commands = [command.split()[:2] for command, _ in RUNS]
    for expected in (["gdc", "derive"], ["gdc", "fit"], ["gdc", "lr-sweep"]):
        assert expected in commands
    assert all(shown for _, shown in RUNS)


@pytest.mark.parametrize("command, shown", RUNS, ids=[command for command, _ in RUNS])
def test_each_command_prints_what_the_readme_shows(command, shown):
    done = gdc_process(command)
    assert done.returncode == 0, done.stderr
    assert_shows(shown, done.stdout, command)


def test_the_network_example_beats_the_best_line_by_half():
    """The README's claim for the network's 2000 gd epochs, whose digits it leaves out (they
    differ from machine to machine): a mean squared error below half the least-squares line's."""
    frame = np.loadtxt(EXAMPLES / "diabetes.csv", delimiter=",", skiprows=1)
    design = np.c_[frame[:, :-1], np.ones(len(frame))]
    line = np.linalg.lstsq(design, frame[:, -1], rcond=None)[1][0] / len(frame)
    result = gdc.fit(EXAMPLES / "network.gd", EXAMPLES / "diabetes.csv", method="gd", epochs=2000)
    assert 2859 < line < 2860 and result.loss < line / 2, (result.loss, line)


def test_the_error_example_prints_what_the_readme_shows():
    (block,) = [b for b in BLOCKS if re.match(r"\S+\.gd:\d+:\d+: error:", b[0])]
    name = block[0].split(":")[0]
    done = gdc_process(f"gdc derive {name}", cwd=BAD_MODELS)   # the README's file is a test fixture
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.rstrip("\n").splitlines() == [row for row in block if row.strip()]


def test_the_install_command_is_the_first_fit_shown():
    """CI runs it (.ci/run); its fit is the one whose table the README shows."""
    (install,) = [b[0] for b in BLOCKS if b[0].startswith("pip install . && ")]
    fit = install.split(" && ", 1)[1]
    assert fit in [command for command, _ in RUNS]


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'readme_command "Install gdc"' in ci and 'readme_command "Run the tests"' in ci
    assert 'bash -c "$main_job"' in ci and 'bash -c "$tests"' in ci


# ---------------------------------------------------------------- the Python blocks

PYTHON = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", PYTHON, ids=[f"block{k}" for k in range(1, len(PYTHON) + 1)])
def test_each_python_block_prints_what_its_comments_say(code):
    """Each print(...)  # comment: the comment is what the line prints."""
    shown = [line.split("#", 1)[1].strip() for line in code.splitlines()
             if line.lstrip().startswith("print(") and "#" in line]
    assert shown, "a Python block with no output shown"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip().splitlines()
    assert len(printed) == len(shown), done.stdout
    for expected, line in zip(shown, printed):
        assert line_pattern(expected).fullmatch(line.strip()), (expected, line)


def test_the_fit_result_fields_the_readme_names_exist():
    sentence = re.search(r"it returns a `FitResult` \((.*?)\)\.", README, flags=re.S).group(1)
    names = re.findall(r"`([\w.]+)`", sentence)
    assert "params" in names and "stats.std_errors" in names
    result = gdc.fit(ROOT / "examples" / "linear.gd", ROOT / "examples" / "students.csv",
                     mapping={"x": "height", "Y": "weight"})
    for name in names:
        operator.attrgetter(name)(result)   # AttributeError where the README names a field that is not


# ---------------------------------------------------------------- options and models


def test_every_option_the_readme_names_exists():
    parser = build_parser()
    helps = []
    for command in sorted(set(re.findall(r"`gdc ([a-z-]+)", README)) & {"derive", "fit", "compile", "lr-sweep",
                                                                          "predict", "check", "cache"}):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        helps.append(out.getvalue())
    known = set(re.findall(r"--[a-z][a-z-]*", "\n".join(helps)))
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", README)) - {"--update-golden"}
    assert named <= known, sorted(named - known)


def test_every_model_the_readme_shows_is_accepted():
    models = [b for b in BLOCKS if re.match(r"(model|data|param) ", b[0])]
    assert len(models) >= 2
    for block in models:
        check_text("\n".join(block), "<README>")
