"""Generated kernels on disk: the cache, its imports, its log (no sympy, no lark).

The cache does not call the compiler: `gdc.api.compile` asks it (`cached`) and, on a miss,
generates the module and hands it back (`store`).

The cache directory is `$GDC_CACHE_DIR` when set, else `$XDG_CACHE_HOME/gdc`, else
`~/.cache/gdc`. It holds one module per model, `gdc_<hash>.py` (named by `keys.model_key`),
numba's compiled code for it under `__pycache__/` (checked by `numba_files`), and
`rebuilds.log`, which says why each module was (re)built.

Trust (`trust.py`): gdc loads only from a folder and files of the current user that others
cannot write; otherwise it compiles into a private temporary folder for the run, and says
so. Each module starts with a sealed header (its model hash and a sha256 of the rest),
checked before any of its code runs: a module whose header is missing or wrong, whose
checksum does not match (truncated, edited), or that does not import, is rebuilt, never
trusted. The module is compiled from the very bytes that were checked, never from a
`.pyc`. Writes are atomic (temp file + os.replace), so a reader never sees half a module,
whatever runs at the same time or is killed halfway.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import stat
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

from gdc.errors import GdcError, InternalError, notice
from gdc.io.files import write_atomic
from . import numba_files, trust
from .kernels import Kernels
from .keys import model_key, normalize
from .sealed import is_generated, unseal

# The keys live in .keys; callers (gdc.api, fitting's model identity) have found them here.
__all__ = ["cache_dir", "module_path", "cached", "store", "cached_text", "store_text", "verify", "log_rebuild", "rebuild_reasons",
           "Entry", "entries", "clear", "foreign", "model_key", "normalize", "LOG_NAME"]

LOG_NAME = "rebuilds.log"
_LOG_LIMIT = 1 << 16  # bytes; the log is halved when it grows past this
_MODULE = re.compile(r"gdc_[0-9a-f]{32}\.py")
_CACHE_HINT = "set GDC_CACHE_DIR to a folder of your own that you can write"


def cache_dir() -> Path:
    """$GDC_CACHE_DIR, else $XDG_CACHE_HOME/gdc, else ~/.cache/gdc."""
    if os.environ.get("GDC_CACHE_DIR"):
        return Path(os.environ["GDC_CACHE_DIR"]).expanduser()
    try:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base).expanduser() / "gdc"
    except RuntimeError:   # no home folder to be found: nowhere shared to cache
        return trust.private_folder()


def module_path(directory: Path, key: str) -> Path:
    return directory / f"gdc_{key[:32]}.py"


@dataclass
class _Loaded:
    kernels: Kernels
    digest: str                 # sha256 of the module text imported
    numba_folders: list[Path]   # where numba caches its code


_loaded: dict[str, _Loaded] = {}  # this process's modules, by path


# ------------------------------------------------------------------ hits and misses

def cached(key: str, directory: Path | None = None) -> tuple[Kernels | None, str]:
    """The kernels cached under `key`, or None and why they cannot be used (for rebuilds.log)."""
    directory = _usable(cache_dir() if directory is None else Path(directory))
    path = module_path(directory, key)
    text, reason = _read_module(path, key)
    if text is None:
        return None, reason
    try:
        return _import(path, key, text), ""
    except _Untrusted as exc:
        return None, str(exc)
    except Exception as exc:  # a module that will not import is rebuilt, not trusted
        return None, f"the cached module did not import ({type(exc).__name__}: {exc})"


def store(key: str, module_text: str, reason: str, directory: Path | None = None) -> Kernels:
    """Write a module the compiler just generated under `key`, log why, and import it."""
    path = store_text(key, module_text, reason, directory)
    try:
        return _import(path, key, module_text, fresh=True)
    except _Untrusted as exc:
        if trust.is_private(path.parent):
            raise GdcError(f"cannot compile the kernels safely: {exc}", hint=_CACHE_HINT) from None
        notice(f"{exc}; compiling into a private folder for this run", hint=_CACHE_HINT)
        return store(key, module_text, reason, trust.private_folder())
    except Exception as exc:
        raise InternalError(f"the module gdc just generated does not import: {exc}") from exc


def cached_text(key: str, directory: Path | None = None) -> tuple[str | None, Path, str]:
    """The text of a sealed module under `key` that another runtime loads (the CUDA kernels,
    gdc.runtime.cuda), checked as `cached` checks (owner, permissions, seal, key) but not
    imported: (text or None, its path, why not)."""
    directory = _usable(cache_dir() if directory is None else Path(directory))
    path = module_path(directory, key)
    text, reason = _read_module(path, key)
    return text, path, reason


def store_text(key: str, module_text: str, reason: str, directory: Path | None = None) -> Path:
    """Write a generated module under `key` (atomically; in a private folder for this run when
    the cache cannot be written), log why; its path. `store` imports it too; the CUDA module
    is loaded by gdc.runtime.cuda."""
    directory = _usable(cache_dir() if directory is None else Path(directory))
    path = module_path(directory, key)
    try:
        _write(path, module_text)
    except (GdcError, OSError) as exc:
        if trust.is_private(directory):
            raise
        why = exc.message if isinstance(exc, GdcError) else (exc.strerror or str(exc))
        notice(f"cannot write the kernel cache {directory} ({why}): compiling into a private temporary "
               "folder for this run (set GDC_CACHE_DIR to a folder you can write)")
        return store_text(key, module_text, reason, trust.private_folder())
    log_rebuild(directory, key, reason)
    return path


def _usable(directory: Path) -> Path:
    """`directory`, or this process's private folder when the user's cannot be trusted."""
    if trust.is_private(directory):
        return directory
    problem = trust.folder_problem(directory)
    where = directory
    if problem is None:
        where = directory / "__pycache__"
        problem = trust.subfolder_problem(where)
    if problem is None:
        return directory
    notice(f"not loading kernels from {where}: {problem.replace('it ', 'the folder ', 1)}; "
           "compiling into a private folder for this run",
           hint=f"make {where} yours and not writable by others (chmod go-w), or {_CACHE_HINT}")
    return trust.private_folder()


def _write(path: Path, text: str) -> None:
    """Put a module in place, with a private __pycache__ for numba beside it."""
    directory = path.parent
    trust.make_private_folder(directory)
    trust.make_private_folder(directory / "__pycache__")
    _clear_the_way(path)
    numba_files.forget(path.stem, numba_files.locations(path))
    write_atomic(path, text, hint=_CACHE_HINT, mode=0o644)


def _clear_the_way(path: Path) -> None:
    """Remove what sits at a module's path and is not a plain file (an empty folder, a link)."""
    if os.path.lexists(path) and not stat.S_ISREG(path.lstat().st_mode):
        try:
            path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
        except OSError:
            raise GdcError(f"{path} is in the way of a cached module and cannot be removed",
                           hint="remove it") from None


class _Untrusted(Exception):
    """The cache holds something gdc must not load, and cannot remove it."""


# ------------------------------------------------------------------ reading and importing

def _read_module(path: Path, key: str) -> tuple[str | None, str]:
    """The module's text, read once, checked (owner, permissions, seal, key) before anything runs."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, "not compiled before"
    except OSError as exc:
        if os.path.islink(path):
            return None, "the cached module is a link, not a plain file"
        return None, f"the file cannot be read ({exc.strerror or exc})"
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return None, "the cached module is not a plain file"
    with os.fdopen(fd, "rb") as f:
        problem = trust.problem_with(info, "the cached module")
        if problem is not None:
            return None, problem
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "the file is damaged or truncated (not UTF-8)"
    found, problem = unseal(text)
    if problem is not None:
        return None, problem
    if found != key:
        return None, "the file belongs to another model (hash mismatch)"
    return text, ""


def verify(path: Path, key: str) -> str | None:
    """None when `path` holds an intact, trusted module for `key` (numba's code for it too);
    else why it cannot be used. Changes nothing."""
    text, reason = _read_module(path, key)
    if text is None:
        return reason
    return numba_files.damage(path.stem, numba_files.locations(path))


def _import(path: Path, key: str, text: str, fresh: bool = False) -> Kernels:
    """Run the checked module text as module `gdc_<hash>`, once per process and text; `fresh`:
    the module was just written, so numba's files for it, wherever numba keeps them, are stale."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    known = _loaded.get(str(path))
    if known is not None and known.digest == digest:
        return known.kernels
    # The name is the file's stem, the same in every process: numba's cache records it and
    # finds the module again by it when it loads compiled code.
    name = path.stem
    module = types.ModuleType(name)
    module.__file__ = str(path)   # numba locates its cache, and hashes the source, from here
    code = compile(text, str(path), "exec", dont_inherit=True)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
        if module.MODEL_HASH != key:
            raise ImportError("MODEL_HASH does not match the file name")
        folders = numba_files.locations(path, _dispatchers(module))
        if fresh:
            numba_files.forget(path.stem, folders)
        _check_numba_files(path, key, folders)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    kernels = Kernels.from_module(module, str(path))
    if not _loaded:
        atexit.register(_record_all)
    _loaded[str(path)] = _Loaded(kernels, digest, folders)
    return kernels


def _dispatchers(module: types.ModuleType) -> list:
    return [value for value in vars(module).values() if hasattr(value, "py_func")]


def _check_numba_files(path: Path, key: str, folders: list[Path]) -> None:
    """numba's code for the module is checked before its first call; damage is logged."""
    for folder in folders:
        problem = trust.folder_problem(folder)
        if problem is not None:
            raise _Untrusted(f"numba's cache folder {folder}: {problem.replace('it ', '', 1)}")
    notes, stuck = numba_files.check(path.stem, folders)
    for note in notes:
        log_rebuild(path.parent, key, note)
    if stuck is not None:
        raise _Untrusted(stuck)


def _record_all() -> None:
    """At exit: the sums of numba's files for every cached module this process used."""
    for path, loaded in list(_loaded.items()):
        if not trust.is_private(Path(path).parent):
            numba_files.record(Path(path).stem, loaded.numba_folders)


# ------------------------------------------------------------------ the log

def log_rebuild(directory: Path, key: str, reason: str) -> None:
    """Append why a module was built; best effort (a read-only log never stops a compile)."""
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')}\t{key}\t{' '.join(reason.split())}\n"
    log = directory / LOG_NAME
    try:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return
            f.write(line)
        if log.stat().st_size > _LOG_LIMIT:
            kept = log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
            write_atomic(log, "".join(kept[len(kept) // 2:]), mode=0o644)
    except (OSError, GdcError):
        pass


def rebuild_reasons(directory: Path) -> dict[str, tuple[str, str]]:
    """key -> (time, reason) of the latest build of each model in the log (lines that are
    not the log's own, say from a damaged file, are skipped)."""
    reasons = {}
    try:
        with open(directory / LOG_NAME, "rb") as f:
            data = f.read(4 * _LOG_LIMIT)
    except OSError:
        return reasons
    for line in data.decode("utf-8", errors="replace").splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and re.fullmatch(r"[0-9a-f]{64}", parts[1]):
            reasons[parts[1]] = (parts[0], parts[2])
    return reasons


# ------------------------------------------------------------------ listing and clearing

@dataclass(frozen=True)
class Entry:
    """One compiled model in the cache."""

    path: Path
    model_hash: str | None
    first_line: str
    size: int  # bytes, the module and numba's compiled code for it
    modified: float
    problem: str | None


def entries(directory: Path) -> list[Entry]:
    """The cached modules, newest first."""
    found = []
    compiled = numba_files.files_by_module(directory / "__pycache__")
    for path in directory.glob("gdc_*.py"):
        try:
            stat_ = path.lstat()
            if not stat.S_ISREG(stat_.st_mode):
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        model_hash, problem = unseal(text)
        numba = compiled.get(path.stem, [])
        size = stat_.st_size + sum(f.lstat().st_size for f in numba if f.is_file())
        found.append(Entry(path, model_hash, _first_model_line(text), size, stat_.st_mtime, problem))
    return sorted(found, key=lambda e: -e.modified)


def _first_model_line(text: str) -> str:
    lines = text.split("\n")
    for j, line in enumerate(lines):
        if line.startswith("# model"):
            for later in lines[j + 1:]:
                if not later.startswith("# "):
                    break
                if later[2:].strip() and not later[2:].lstrip().startswith("#"):
                    return later[2:].strip()
    return "?"


def clear(directory: Path) -> int:
    """Remove the modules gdc wrote (those with its header), numba's code and sums for them,
    gdc's leftover temporary files and the log; returns how many modules. A file gdc cannot
    identify as its own stays, whatever its name (`foreign` lists them)."""
    removed = 0
    pycache = directory / "__pycache__"
    for path in directory.glob("gdc_*.py"):
        if not (_MODULE.fullmatch(path.name) and path.is_file() and not path.is_symlink() and is_generated(path)):
            continue
        path.unlink(missing_ok=True)
        numba_files.forget(path.stem, [pycache])
        for pyc in pycache.glob(f"{path.stem}.cpython-*.pyc"):   # from gdc versions that imported .pyc
            pyc.unlink(missing_ok=True)
        removed += 1
    for path in directory.glob(".gdc_*.tmp"):
        if re.fullmatch(r"\.gdc_[0-9a-f]{32}\.py\.[^/]*\.tmp", path.name) and path.is_file():
            path.unlink(missing_ok=True)
    log = directory / LOG_NAME
    if log.is_file() and not log.is_symlink():
        log.unlink()
    try:
        pycache.rmdir()  # only when nothing else lives there
    except OSError:
        pass
    return removed


def foreign(directory: Path) -> list[Path]:
    """Files named like cached modules that gdc did not write (`clear` leaves them)."""
    return sorted(p for p in directory.glob("gdc_*.py")
                  if not (_MODULE.fullmatch(p.name) and p.is_file() and not p.is_symlink() and is_generated(p)))
