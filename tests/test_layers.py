"""The layout's rules, as import-linter checks them: the contracts live in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

from locations import ROOT


def test_the_import_contracts_hold():
    """Stages import only downward, no package has an import circle, and the warm path
    (fitting, runtime, io) never reaches sympy, lark or the compiler."""
    # A fresh process in the checkout, so the gdc analysed is this tree's, whatever is installed.
    done = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                           "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"],
                          cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BROKEN" not in done.stdout and "KEPT" in done.stdout


MAX_LINES = 420   # "a few hundred lines at most": about 400, with room for a docstring's growth


def test_modules_stay_small():
    """A module past about 400 lines is split, unless its docstring says it reads better whole."""
    long = []
    for path in sorted((ROOT / "gdc").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES and "reads better whole" not in text.split('"""')[1]:
            long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert not long, long
