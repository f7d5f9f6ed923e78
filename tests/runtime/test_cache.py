"""The kernel cache: keys without sympy or lark, sealed modules, rebuilds with reasons, atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gdc.runtime import cache as load
from gdc.runtime import sealed
from gdc.api import compile as compile_model
from gdc.runtime.keys import model_key, normalize

LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"
QUADRATIC = "model y = a*x^2 + b\nloss mean((y - Y)^2)\n"


def reasons(directory: Path) -> list[str]:
    log = directory / load.LOG_NAME
    return [line.split("\t")[2] for line in log.read_text().splitlines()] if log.exists() else []


# ------------------------------------------------------------------ keys

@pytest.mark.parametrize("same", [
    "model y = m*x + b\nloss mean((y - Y)^2)\n",
    "  model   y = m*x  +  b # the line\nloss mean((y - Y)^2)   \n",
    "model y = m*x\t+ b\r\nloss mean((y - Y)^2)\n",
])
def test_layout_and_comments_do_not_change_the_key(same):
    assert model_key(same) == model_key(LINEAR)


@pytest.mark.parametrize("different", [
    "model y = m*x + b\nloss mean((y - Y)^4)\n",   # another model
    "model y = m*x + b\n\nloss mean((y - Y)^2)\n",  # blank lines are kept: one can end a statement
    "model ym*x + b\nloss mean((y - Y)^2)\n",      # blanks between names are kept (as one)
])
def test_what_can_change_the_meaning_changes_the_key(different):
    assert model_key(different) != model_key(LINEAR)


@pytest.mark.parametrize("broken", ["\\ # c\n", "\\\f\n", "\\\v\n", "\\ \f \n", "\\\r\r\n"])
def test_a_broken_line_continuation_never_shares_the_valid_ones_key(broken):
    """`a + \\ # c` or `a + \\<form feed>` do not parse, while `a + \\` continues the line:
    a cold cache says so, and a warm one must not hand out the valid model's kernels."""
    valid = "model y = m*x + \\ \n b\nloss mean((y - Y)^2)"
    assert model_key(valid.replace("\\ \n", broken)) != model_key(valid)
    assert "\\" in normalize(valid.replace("\\ \n", broken)) and "\\" not in normalize(valid)


def test_key_depends_on_data_names_not_their_order():
    assert model_key(LINEAR, ["x", "Y"]) == model_key(LINEAR, ["Y", "x", "x"])
    assert len({model_key(LINEAR), model_key(LINEAR, []), model_key(LINEAR, ["x", "Y"])}) == 3
    # Columns the model never mentions cannot change it: a CSV with other extras reuses the kernels.
    assert model_key(LINEAR, ["x", "Y", "age", "id"]) == model_key(LINEAR, ["x", "Y"])
    assert model_key(LINEAR, ["x", "age"]) != model_key(LINEAR, ["x", "Y"])


def test_cache_directory_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("GDC_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert load.cache_dir() == tmp_path / "xdg" / "gdc"
    monkeypatch.setenv("GDC_CACHE_DIR", str(tmp_path / "mine"))
    assert load.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("GDC_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load.cache_dir() == tmp_path / "home" / ".cache" / "gdc"


# ------------------------------------------------------------------ the sealed format

def test_seal_detects_truncation_and_edits():
    text = sealed.seal("x = 1\ny = 2\n", "ab" * 32)
    assert sealed.unseal(text) == ("ab" * 32, None)
    assert sealed.unseal(text[:-3])[1].startswith("the file is damaged")
    assert sealed.unseal(text.replace("y = 2", "y = 3"))[1].startswith("the file is damaged")
    assert sealed.unseal("import os\n")[1] == "the file is not a gdc module (bad header)"


# ------------------------------------------------------------------ hits, misses and rebuilds

def test_miss_writes_a_module_then_hits(tmp_path):
    k = compile_model(LINEAR, cache_dir=tmp_path)
    path = Path(k.path)
    assert path.parent == tmp_path and path.name.startswith("gdc_")
    assert k.param_names == ("m", "b") and k.data_names == ("x", "Y") and k.input_names == ("x",)
    assert reasons(tmp_path) == ["not compiled before"]
    assert compile_model(LINEAR.replace("\n", "  # same\n"), cache_dir=tmp_path) is k
    assert reasons(tmp_path) == ["not compiled before"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_compile_and_a_fit_of_one_model_share_its_kernels(tmp_path):
    k = compile_model(LINEAR, cache_dir=tmp_path)
    # a CSV whose header (with --map's names) makes x and Y data, as the naming rule does
    assert compile_model(LINEAR, ["height", "weight", "x", "Y"], cache_dir=tmp_path).path == k.path
    # names that classify otherwise (m as data) are another model
    other = compile_model(LINEAR, ["x", "Y", "m"], cache_dir=tmp_path)
    assert other.path != k.path and other.param_names == ("b",)
    assert reasons(tmp_path) == ["not compiled before"] * 2


def _break_by_truncating(path: Path, other: Path) -> None:
    path.write_text(path.read_text()[:-50])


def _break_the_header(path: Path, other: Path) -> None:
    path.write_text("# hello\n" + path.read_text())


def _break_by_another_models_module(path: Path, other: Path) -> None:
    path.write_text(other.read_text())


def _break_the_import(path: Path, other: Path) -> None:
    key = sealed.unseal(path.read_text())[0]
    path.write_text(sealed.seal("raise RuntimeError('boom')\n", key))


@pytest.mark.parametrize("damage, reason", [
    (_break_by_truncating, "the file is damaged or truncated (checksum mismatch)"),
    (_break_the_header, "the file is not a gdc module (bad header)"),
    (_break_by_another_models_module, "the file belongs to another model (hash mismatch)"),
    (_break_the_import, "the cached module did not import (RuntimeError: boom)"),
])
def test_a_damaged_entry_is_rebuilt_and_the_reason_logged(tmp_path, damage, reason):
    path = Path(compile_model(LINEAR, cache_dir=tmp_path).path)
    other = Path(compile_model(QUADRATIC, cache_dir=tmp_path).path)
    damage(path, other)
    os.utime(path, ns=(1, 1))  # a new stamp, as a damaged file would have
    k = compile_model(LINEAR, cache_dir=tmp_path)
    assert reasons(tmp_path)[-1] == reason
    assert load.verify(path, k.model_hash) is None
    assert k.param_names == ("m", "b")
    assert load.rebuild_reasons(tmp_path)[k.model_hash][1] == reason


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def interrupted(src, dst):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compile_model(LINEAR, cache_dir=tmp_path)
    assert not list(tmp_path.glob("gdc_*.py")) and not list(tmp_path.glob(".*.tmp"))


def test_entries_and_clear(tmp_path):
    compile_model("# first a comment\n" + LINEAR, cache_dir=tmp_path)
    compile_model(QUADRATIC, cache_dir=tmp_path)
    found = load.entries(tmp_path)
    assert {e.first_line for e in found} == {"model y = m*x + b", "model y = a*x^2 + b"}
    assert all(e.problem is None and e.size > 0 for e in found)
    assert load.clear(tmp_path) == 2
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ other processes

def _run(code: str, cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, GDC_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_cached_model_loads_without_sympy_or_lark(tmp_path):
    warm = f"""
        import numpy as np, gdc
        k = gdc.compile({LINEAR!r})
        k.loss(np.zeros(2), np.ones(3), np.ones(3))
    """
    assert _run(warm, tmp_path).returncode == 0
    check = f"""
        import sys, numpy as np, gdc
        k = gdc.compile({LINEAR!r})
        value = k.loss(np.array([1.0, 1.0]), np.ones(3), np.ones(3))
        assert value == 1.0, value
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sympy", "lark"))
        print(heavy)
    """
    result = _run(check, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_two_processes_compiling_at_once_leave_one_good_module(tmp_path):
    code = f"""
        import gdc
        k = gdc.compile({QUADRATIC!r})
        print(k.path)
    """
    env = dict(os.environ, GDC_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    paths = {out.strip() for out, _ in outputs}
    assert len(paths) == 1 and len(list(tmp_path.glob("gdc_*.py"))) == 1
    path = Path(paths.pop())
    key = sealed.unseal(path.read_text())[0]  # (the compiler may be edited while this runs)
    assert path == load.module_path(tmp_path, key) and load.verify(path, key) is None
    assert not list(tmp_path.glob(".*.tmp"))


def test_gdc_import_stays_cheap():
    result = subprocess.run([sys.executable, "-c", "import sys, gdc; gdc.__version__; "
                             "print(sorted(m for m in ('sympy', 'lark', 'numba', 'numpy') if m in sys.modules))"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert callable(__import__("gdc").compile)
    assert np is not None


@pytest.mark.parametrize("edited", ["calculus/rules/functions.py", "codegen/printer.py", "runtime/cache.py"])
def test_an_edit_to_any_compiler_source_changes_the_digest(tmp_path, edited):
    """The kernels come from the derivation's partials, so a rule in calculus/rules/ (a subpackage)
    shapes them as much as the printer does: its edit must not reuse kernels compiled before it."""
    package = Path(load.__file__).resolve().parent.parent
    copy = tmp_path / "gdc"
    for path in package.rglob("*.py"):
        (copy / path.relative_to(package)).parent.mkdir(parents=True, exist_ok=True)
        (copy / path.relative_to(package)).write_bytes(path.read_bytes())
    run = [sys.executable, "-c", "from gdc.runtime.keys import compiler_digest; print(compiler_digest())"]
    env = dict(os.environ, PYTHONPATH=str(tmp_path))

    def digest() -> str:
        return subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    before = digest()
    with open(copy / edited, "a", encoding="utf-8") as f:
        f.write("\n# an edit\n")
    assert digest() != before
