"""The README's promises: its Python example runs, and CI runs the test command it gives."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from locations import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "the README has no Python example"
    env = dict(os.environ, GDC_CACHE_DIR=str(tmp_path / "cache"))
    expected = [("('m', 'b') ('x', 'Y')", "[3. 1.]"), ("29074.48", "(10,)"),   # what each block prints
                ("{'m': 0.0717993", "[54.230958", "[0.79 0.7  0.65]")]
    assert len(blocks) == len(expected)
    for code, marks in zip(blocks, expected):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert all(mark in out.stdout for mark in marks), out.stdout


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'readme_command "Install gdc"' in ci and 'readme_command "Run the tests"' in ci
    assert 'bash -c "$main_job"' in ci and 'bash -c "$tests"' in ci
    first_commands = re.findall(r"^    (pip install .*)$", README, flags=re.M)[:2]
    assert first_commands[0].startswith("pip install . && gdc ")
    assert first_commands[1] == "pip install '.[test]' && python -m pytest -q"


def test_every_package_is_in_the_wheel():
    """pyproject lists the packages by hand (grammars/ is mapped into gdc/): none may be missing."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.relative_to(ROOT).parent.parts) for p in (ROOT / "gdc").rglob("__init__.py")}
    assert found <= listed and listed - found == {"gdc.grammars"}
