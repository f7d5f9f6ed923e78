"""The cache's trust model (issue 13): nothing another user could write is run, .pyc files are
never read, damage is rebuilt once and logged, and `clear` removes only what gdc wrote."""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gdc.api import compile as compile_model
from gdc.cli import main
from gdc.runtime import cache, jit, numba_files, sealed

LINEAR = "model y = m*x + b\nloss mean((y - Y)^2)\n"


def payload(marker: Path) -> str:
    """Module text an attacker would plant: it leaves a marker when it runs."""
    return f"open({str(marker)!r}, 'w').write('ran')\n"


def forge(path: Path, marker: Path) -> None:
    """Replace a cached module by attacker code under a valid seal (anyone can compute one)."""
    key = sealed.unseal(path.read_text())[0]
    path.write_text(sealed.seal(payload(marker) + path.read_text().split("\n", 3)[3], key))


def run_gdc(code: str, cache_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, GDC_CACHE_DIR=str(cache_dir))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=300)


def reasons(directory: Path) -> list[str]:
    return [reason for _, reason in sorted(cache.rebuild_reasons(directory).values())]


# ------------------------------------------------------------------ code others could write

def test_a_forged_module_that_others_could_write_is_rebuilt_not_run(tmp_path):
    path = Path(compile_model(LINEAR, cache_dir=tmp_path).path)
    marker = tmp_path / "ran"
    forge(path, marker)
    path.chmod(0o666)
    k = compile_model(LINEAR, cache_dir=tmp_path)
    assert not marker.exists() and k.param_names == ("m", "b")
    assert "the cached module is writable by other users (mode 0666)" in cache.rebuild_reasons(tmp_path)[k.model_hash]
    assert path.stat().st_mode & 0o777 == 0o644 and cache.verify(path, k.model_hash) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_forged_module_of_another_user_is_rebuilt_not_run(tmp_path):
    path = Path(compile_model(LINEAR, cache_dir=tmp_path).path)
    marker = tmp_path / "ran"
    forge(path, marker)
    os.chown(path, 65534, 65534)
    k = compile_model(LINEAR, cache_dir=tmp_path)
    assert not marker.exists() and path.stat().st_uid == os.geteuid()
    assert "belongs to another user (uid 65534)" in cache.rebuild_reasons(tmp_path)[k.model_hash][1]


def test_a_cache_folder_others_can_write_is_not_used(tmp_path, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    path = Path(compile_model(LINEAR, cache_dir=shared).path)
    marker = tmp_path / "ran"
    forge(path, marker)
    shared.chmod(0o777)
    k = compile_model(LINEAR, cache_dir=shared)
    assert not marker.exists() and Path(k.path).parent != shared
    err = capsys.readouterr().err
    assert f"gdc: note: not loading kernels from {shared}: the folder is writable by other users (mode 0777)" in err
    assert "chmod go-w" in err


def test_a_tampered_pyc_is_never_run(tmp_path):
    """A .pyc whose header matches the module's size and time is what Python's importer runs
    instead of the source; gdc compiles the checked source text itself."""
    path = Path(compile_model(LINEAR, cache_dir=tmp_path).path)
    marker = tmp_path / "ran"
    info = path.stat()
    pyc = Path(importlib.util.cache_from_source(str(path)))
    pyc.parent.mkdir(exist_ok=True)
    pyc.write_bytes(importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
                    + (int(info.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
                    + (info.st_size & 0xFFFFFFFF).to_bytes(4, "little")
                    + marshal.dumps(compile(payload(marker), str(path), "exec")))
    # The attack is real: the standard importer runs it.
    spec = importlib.util.spec_from_file_location("control", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert marker.exists()
    marker.unlink()
    done = run_gdc(f"import gdc; print(gdc.compile({LINEAR!r}).param_names)", tmp_path)
    assert done.returncode == 0, done.stderr
    assert not marker.exists() and done.stdout.strip() == "('m', 'b')"


# ------------------------------------------------------------------ numba's compiled code

CALL = f"""
    import numpy as np, gdc
    k = gdc.compile({LINEAR!r})
    print(k.loss(np.array([1.0, 1.0]), np.ones(3), np.ones(3)))
"""


def test_damaged_or_planted_numba_files_are_removed_once_and_logged(tmp_path):
    """One end-to-end run per state: numba writes its pickles (and gdc their sums at exit);
    then one is truncated, one is random bytes, one has a flipped byte, and a payload pickle
    is planted with a mode that let others write it. The next run loads none of them, logs
    each, and gives the right loss; the run after that has nothing left to repair."""
    first = run_gdc(CALL, tmp_path)
    assert first.returncode == 0 and first.stdout.strip() == "1.0", first.stderr
    pycache = tmp_path / "__pycache__"
    stem = next(tmp_path.glob("gdc_*.py")).stem
    indexes, codes = sorted(pycache.glob(f"{stem}.*.nbi")), sorted(pycache.glob(f"{stem}.*.nbc"))
    assert len(indexes) >= 3 and len(codes) >= 3 and (pycache / (stem + numba_files.SUMS)).exists()
    indexes[0].write_bytes(indexes[0].read_bytes()[:40])
    codes[1].write_bytes(os.urandom(4000))
    flipped = bytearray(codes[2].read_bytes())
    flipped[len(flipped) // 2] ^= 0x04
    codes[2].write_bytes(bytes(flipped))
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (exec, (payload(marker),))
    import numba   # the version numba checks before it unpickles the rest: the payload would load
    indexes[1].write_bytes(pickle.dumps(numba.__version__) + pickle.dumps(Payload()))
    indexes[1].chmod(0o666)
    second = run_gdc(CALL, tmp_path)
    assert second.returncode == 0 and second.stdout.strip() == "1.0", second.stderr
    assert not marker.exists()
    log = (tmp_path / cache.LOG_NAME).read_text()
    assert f"{indexes[0].name} is damaged (it does not parse as a pickle)" in log
    assert f"{codes[1].name} is damaged (it does not parse as a pickle)" in log
    assert f"{codes[2].name} is damaged (it differs from the checksum recorded" in log
    assert f"{indexes[1].name} was writable by other users (mode 0666)" in log
    third = run_gdc(CALL, tmp_path)
    assert third.returncode == 0 and (tmp_path / cache.LOG_NAME).read_text() == log


def test_cache_why_sees_damaged_numba_code(tmp_path, monkeypatch, capsys):
    (tmp_path / "m.gd").write_text(LINEAR)
    k = compile_model(LINEAR, cache_dir=tmp_path)
    pycache = tmp_path / "__pycache__"
    bad = pycache / f"{Path(k.path).stem}.loss-1.py311.1.nbc"
    bad.write_bytes(b"\x80\x05garbage")
    monkeypatch.setenv("GDC_CACHE_DIR", str(tmp_path))
    assert main(["cache", "why", str(tmp_path / "m.gd")]) == 0
    assert f"will be compiled on next use: numba's compiled code {bad.name} is damaged" in capsys.readouterr().out


# ------------------------------------------------------------------ things in the way

def test_an_empty_folder_at_the_modules_path_is_replaced(tmp_path):
    path = Path(compile_model(LINEAR, cache_dir=tmp_path).path)
    path.unlink()
    path.mkdir()
    k = compile_model(LINEAR, cache_dir=tmp_path)
    assert path.is_file() and cache.verify(path, k.model_hash) is None
    assert cache.rebuild_reasons(tmp_path)[k.model_hash][1] == "the cached module is not a plain file"


def test_an_unwritable_cache_falls_back_to_a_private_folder(tmp_path, capsys):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    k = compile_model(LINEAR, cache_dir=blocked / "cache")
    assert k.param_names == ("m", "b") and Path(k.path).is_file()
    assert not str(k.path).startswith(str(blocked))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"gdc: note: cannot write the kernel cache {blocked / 'cache'}" in err


def test_gdc_helpers_compile_in_memory_when_numba_has_nowhere_to_cache(monkeypatch, capsys):
    real = jit.numba.njit

    def no_locator(*args, cache=False, **options):
        if cache:
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return real(*args, **options)
    monkeypatch.setattr(jit.numba, "njit", no_locator)

    @jit.cached_njit(nogil=True)
    def twice(x):
        return 2.0 * x
    assert twice(3.0) == 6.0
    err = capsys.readouterr().err
    assert "numba has no writable folder for its cache" in err and err.count("\n") <= 1


def _read_only_mounts_work() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind /tmp /tmp && mount -o remount,ro,bind /tmp"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _read_only_mounts_work(), reason="needs root and mount namespaces (unshare -m)")
def test_a_read_only_install_and_home_still_fit(tmp_path):
    """Issue 13: with the package folder and HOME read-only, every fit exited 3 ("no locator
    available" for gdc's own numba helpers). Both are mounted read-only in a namespace here."""
    import gdc
    package, home = Path(gdc.__file__).resolve().parents[1], tmp_path / "home"
    home.mkdir()
    (tmp_path / "m.gd").write_text(LINEAR)
    (tmp_path / "d.csv").write_text("x,Y\n1,3\n2,5\n3,7\n")
    script = (f"mount --bind {package} {package} && mount -o remount,ro,bind {package} && "
              f"mount --bind {home} {home} && mount -o remount,ro,bind {home} && "
              f"exec {sys.executable} -m gdc fit {tmp_path / 'm.gd'} {tmp_path / 'd.csv'} --method gd -q --json")
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "PYTHONPATH": str(package)}
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cannot write the kernel cache" in done.stderr and "Read-only file system" in done.stderr
    assert "numba has no writable folder for its cache" in done.stderr and done.stderr.count("\n") == 2
    assert abs(json.loads(done.stdout)["params"]["m"] - 2.0) < 1e-3


# ------------------------------------------------------------------ the log and clear

def test_clear_removes_only_what_gdc_wrote(tmp_path, monkeypatch, capsys):
    compile_model(LINEAR, cache_dir=tmp_path)
    mine = tmp_path / "gdc_utils.py"
    mine.write_text("def helper(): pass\n")
    lookalike = tmp_path / ("gdc_" + "0" * 32 + ".py")
    lookalike.write_text("# my own notes\n")
    monkeypatch.setenv("GDC_CACHE_DIR", str(tmp_path))
    assert main(["cache", "clear"]) == 0
    out = capsys.readouterr().out
    assert "removed 1 compiled model from" in out and "left 2 files gdc did not write" in out
    assert mine.read_text() == "def helper(): pass\n" and lookalike.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, lookalike.name])


@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00garbage\n\tno\ttabs\t\n", b"\x1b[2J" * 100, b""])
def test_a_garbage_log_is_read_around(tmp_path, monkeypatch, capsys, garbage):
    (tmp_path / "m.gd").write_text(LINEAR)
    compile_model(LINEAR, cache_dir=tmp_path)
    (tmp_path / cache.LOG_NAME).write_bytes(garbage)
    monkeypatch.setenv("GDC_CACHE_DIR", str(tmp_path))
    assert main(["cache", "list"]) == 0
    assert main(["cache", "why", str(tmp_path / "m.gd")]) == 0
    assert "\x1b" not in capsys.readouterr().out
    compile_model(LINEAR.replace("b\n", "b + 0\n"), cache_dir=tmp_path)   # appends to it
    assert "not compiled before" in (tmp_path / cache.LOG_NAME).read_text(errors="replace")


def test_kernels_stay_usable(tmp_path):
    k = compile_model(LINEAR, cache_dir=tmp_path)
    assert k.loss(np.array([1.0, 1.0]), np.ones(3), np.ones(3)) == 1.0
