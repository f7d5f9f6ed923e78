"""The README's promises: its Python example runs, and CI runs the test command it gives."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "the README has no Python example"
    env = dict(os.environ, GDC_CACHE_DIR=str(tmp_path / "cache"))
    for code in blocks:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert "('m', 'b') ('x', 'Y')" in out.stdout and "[3. 1.]" in out.stdout


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "README.md" in ci and 'bash -c "$command"' in ci
    first_commands = re.findall(r"^    (pip install .*)$", README, flags=re.M)[:2]
    assert first_commands[0].startswith("pip install . && gdc ")
    assert first_commands[1] == "pip install '.[test]' && python -m pytest -q"
