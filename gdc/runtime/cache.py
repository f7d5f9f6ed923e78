"""Generated kernels on disk: the cache, its keys, atomic writes and imports (no sympy, no lark).

The cache does not call the compiler: `gdc.api.compile` asks it (`cached`) and, on a miss,
generates the module and hands it back (`store`).

The cache directory is `$GDC_CACHE_DIR` when set, else `$XDG_CACHE_HOME/gdc`, else
`~/.cache/gdc`. It holds one module per model, `gdc_<hash>.py`, numba's compiled code for
it under `__pycache__/`, and `rebuilds.log`, which says why each module was (re)built.

A module's name is a hash of the model text after a cheap lexical normalization (comments
and extra blanks dropped), the data names given, and the gdc and numba versions (plus the
compiler's own source, so a changed compiler never reuses old kernels). The hash is computed
without sympy or lark: a cache hit imports nothing but numpy, numba and the module itself.

Each module starts with a sealed header (its model hash and a sha256 of the rest). A module
whose header is missing or wrong, whose checksum does not match (truncated, edited), or that
does not import, is rebuilt, never trusted; writes are atomic (temp file + os.replace), so a
reader never sees half a module, whatever runs at the same time or is killed halfway.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from gdc.version import __version__
from .sealed import unseal
from gdc.errors import InternalError
from gdc.io.files import write_atomic
from .kernels import Kernels

LOG_NAME = "rebuilds.log"
_LOG_LIMIT = 1 << 16  # bytes; the log is halved when it grows past this

# The compiler's own source is part of every key: the stages that make a module (language,
# calculus, codegen), this runtime that reads it, and the top-level modules, with the grammar.
_COMPILER = ("language", "calculus", "codegen", "runtime")
_GRAMMARS = ("grammars/gd.lark", "../grammars/gd.lark")


# ------------------------------------------------------------------ keys

def normalize(text: str) -> str:
    """Model text with comments and redundant blanks dropped; equal results mean equal models.

    Per line: a `#` comment goes (unless the line holds a `\\` continuation, where it matters),
    runs of spaces/tabs become one space, and both ends are stripped. Lines are kept, even
    blank ones, because a blank line can end a statement.
    """
    out = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if "\\" not in line:
            line = line.split("#", 1)[0]
        out.append(re.sub(r"[ \t\f]+", " ", line).strip(" \t\f"))
    return "\n".join(out)


def model_key(text: str, data_names: Iterable[str] | None = None) -> str:
    """The sha256 naming a model's compiled module.

    Of the data names given (a CSV header, say) only those the text mentions can change how
    the model is checked, so a data file with other extra columns reuses the same kernels.
    """
    import numba
    normal = normalize(text)
    mentioned = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", normal))
    names = None if data_names is None else sorted(set(data_names) & mentioned)
    parts = ["gdc-kernels", __version__, numba.__version__, _compiler_digest(),
             json.dumps(names), normal]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


_digest: list[str] = []


def _compiler_digest() -> str:
    if not _digest:
        h = hashlib.sha256()
        package = Path(__file__).resolve().parent.parent
        sources = sorted(package.glob("*.py"))
        for stage in _COMPILER:
            sources += sorted((package / stage).glob("*.py"))
        for path in sources + [package / g for g in _GRAMMARS]:
            try:
                h.update(path.relative_to(package.parent).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
            except OSError:
                h.update(path.name.encode() + b"\0-\0")
        _digest.append(h.hexdigest())
    return _digest[0]


# ------------------------------------------------------------------ the cache

def cache_dir() -> Path:
    """$GDC_CACHE_DIR, else $XDG_CACHE_HOME/gdc, else ~/.cache/gdc."""
    if os.environ.get("GDC_CACHE_DIR"):
        return Path(os.environ["GDC_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "gdc"


def module_path(directory: Path, key: str) -> Path:
    return directory / f"gdc_{key[:32]}.py"


@dataclass
class _Loaded:
    kernels: Kernels
    stamp: tuple[int, int]


_loaded: dict[str, _Loaded] = {}  # this process's modules, by path


def cached(key: str, directory: Path | None = None) -> tuple[Kernels | None, str]:
    """The kernels cached under `key`, or None and why they cannot be used (for rebuilds.log)."""
    path = module_path(cache_dir() if directory is None else Path(directory), key)
    reason = verify(path, key)
    if reason is None:
        try:
            return _import(path, key), ""
        except Exception as exc:  # a module that will not import is rebuilt, not trusted
            reason = f"the cached module did not import ({type(exc).__name__}: {exc})"
    return None, reason


def store(key: str, module_text: str, reason: str, directory: Path | None = None) -> Kernels:
    """Write a module the compiler just generated under `key`, log why, and import it."""
    directory = cache_dir() if directory is None else Path(directory)
    path = module_path(directory, key)
    write_atomic(path, module_text, hint="set GDC_CACHE_DIR to a writable directory", make_parents=True)
    log_rebuild(directory, key, reason)
    try:
        return _import(path, key)
    except Exception as exc:
        raise InternalError(f"the module gdc just generated does not import: {exc}") from exc


def verify(path: Path, key: str) -> str | None:
    """None when `path` holds an intact module for `key`; else why it cannot be used."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return "not compiled before"
    except (OSError, UnicodeDecodeError) as exc:
        return f"the file cannot be read ({exc})"
    found, problem = unseal(text)
    if problem is not None:
        return problem
    if found != key:
        return "the file belongs to another model (hash mismatch)"
    return None


def _import(path: Path, key: str) -> Kernels:
    """Import the module at `path`, once per process and version of the file."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    known = _loaded.get(str(path))
    if known is not None and known.stamp == stamp:
        return known.kernels
    # The name is the file's stem, the same in every process: numba's cache records it and
    # imports it again when it loads compiled code.
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    if module.MODEL_HASH != key:
        raise ImportError("MODEL_HASH does not match the file name")
    kernels = Kernels.from_module(module, str(path))
    _loaded[str(path)] = _Loaded(kernels, stamp)
    return kernels


def log_rebuild(directory: Path, key: str, reason: str) -> None:
    """Append why a module was built; best effort (a read-only log never stops a compile)."""
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')}\t{key}\t{reason}\n"
    log = directory / LOG_NAME
    try:
        with open(log, "a", encoding="utf-8") as f:
            f.write(line)
        if log.stat().st_size > _LOG_LIMIT:
            kept = log.read_text(encoding="utf-8").splitlines(keepends=True)
            write_atomic(log, "".join(kept[len(kept) // 2:]))
    except OSError:
        pass


def rebuild_reasons(directory: Path) -> dict[str, tuple[str, str]]:
    """key -> (time, reason) of the latest build of each model in the log."""
    reasons = {}
    try:
        lines = (directory / LOG_NAME).read_text(encoding="utf-8").splitlines()
    except OSError:
        return reasons
    for line in lines:
        parts = line.split("\t", 2)
        if len(parts) == 3:
            reasons[parts[1]] = (parts[0], parts[2])
    return reasons


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
    for path in directory.glob("gdc_*.py"):
        try:
            text = path.read_text(encoding="utf-8")
            stat = path.stat()
        except (OSError, UnicodeDecodeError):
            continue
        model_hash, problem = unseal(text)
        numba_files = list((directory / "__pycache__").glob(f"{path.stem}.*"))
        size = stat.st_size + sum(f.stat().st_size for f in numba_files if f.is_file())
        found.append(Entry(path, model_hash, _first_model_line(text), size, stat.st_mtime, problem))
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
    """Remove every cached module, numba's code for it, leftovers and the log; returns how many modules."""
    removed = 0
    for path in directory.glob("gdc_*.py"):
        path.unlink(missing_ok=True)
        removed += 1
    for pattern in ("__pycache__/gdc_*", ".gdc_*.tmp", LOG_NAME):
        for path in directory.glob(pattern):
            if path.is_file():
                path.unlink(missing_ok=True)
    try:
        (directory / "__pycache__").rmdir()  # only when nothing else lives there
    except OSError:
        pass
    return removed
