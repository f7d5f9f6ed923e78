"""numba's compiled code for a cached module: found, checked and recorded before numba loads it.

numba caches a module's machine code as pickles beside it (`__pycache__/<stem>.<function>-
<line>.py311.nbi`, an index, and `….<n>.nbc`, the code), and unpickles them on the first
call of each kernel, with no checksum of its own. gdc checks them before that call:

- a file owned by another user, writable by others, or not a plain file is removed (numba
  compiles again) — it is not ours to trust;
- a pickle that does not parse as one (truncated, random bytes, most flipped bytes) is
  removed: `pickletools` walks its opcodes without running any of them;
- gdc records each file's sha256 (`<stem>.gdc-sums`) when the process that used the
  kernels exits, and from then on a code file (.nbc) that differs is damaged and removed.
  numba rewrites an index (.nbi) when it adds a compiled signature, so a changed index
  that still parses is recorded again. A file no process has recorded yet (its writer is
  still running, or was killed) is trusted on first sight if it parses.

Every removal is returned as a note, which the cache writes to rebuilds.log.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickletools
import stat
import time
from pathlib import Path
from typing import Iterable

from .trust import problem_with

SUMS = ".gdc-sums"
_STALE_TEMP = 3600.0   # seconds; numba's own temp files (`….nbi.tmp.<uuid>`) older than this are leftovers


def locations(module_path: Path, dispatchers: Iterable = ()) -> list[Path]:
    """The folders numba caches the module's kernels in: what its dispatchers say, else
    `__pycache__` beside the module (numba's default; NUMBA_CACHE_DIR moves it)."""
    found = []
    for dispatcher in dispatchers:
        path = getattr(getattr(dispatcher, "_cache", None), "cache_path", None)
        if path and Path(path) not in found:
            found.append(Path(path))
    return found or [module_path.parent / "__pycache__"]


def files_of(stem: str, folder: Path) -> list[Path]:
    """numba's index and code files of one module in a folder."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{stem}.*") if p.name.endswith((".nbi", ".nbc")))


def files_by_module(folder: Path) -> dict[str, list[Path]]:
    """numba's index and code files in a folder, by the stem of their module: one listing of the
    folder for a whole cache (`gdc cache` of a thousand entries, not a thousand listings)."""
    found: dict[str, list[Path]] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.name.endswith((".nbi", ".nbc")):
                found.setdefault(path.name.split(".", 1)[0], []).append(path)
    return found


def check(stem: str, folders: Iterable[Path]) -> tuple[list[str], str | None]:
    """Remove the module's numba files that cannot be trusted or are damaged: (notes saying
    which, for the log; what could not be removed, when something could not)."""
    notes, stuck = [], None
    for folder in folders:
        sums = _read_sums(folder / (stem + SUMS))
        for path in files_of(stem, folder):
            problem = _problem(path, sums.get(path.name))
            if problem is None:
                continue
            _remove(path)
            notes.append(f"numba's compiled code {path.name} {problem}: removed, numba compiles it again")
            if os.path.lexists(path):
                stuck = f"{path} {problem} and cannot be removed"
        _remove_stale_temps(stem, folder)
    return notes, stuck


def damage(stem: str, folders: Iterable[Path]) -> str | None:
    """The first problem `check` would fix, without fixing it (for `gdc cache why`)."""
    for folder in folders:
        sums = _read_sums(folder / (stem + SUMS))
        for path in files_of(stem, folder):
            problem = _problem(path, sums.get(path.name))
            if problem is not None:
                return f"numba's compiled code {path.name} {problem}"
    return None


def record(stem: str, folders: Iterable[Path]) -> None:
    """Write the sums of the module's numba files as they are now (at the end of a process)."""
    for folder in folders:
        sums = {}
        for path in files_of(stem, folder):
            try:
                info = path.lstat()
                if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
                    continue
                if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):   # numba honours the umask: 002 too
                    path.chmod(stat.S_IMODE(info.st_mode) & ~0o022)
                data = path.read_bytes()
            except OSError:
                continue
            if _parses(data, path.suffix):
                sums[path.name] = hashlib.sha256(data).hexdigest()
        _write_sums(folder / (stem + SUMS), sums)


def forget(stem: str, folders: Iterable[Path]) -> None:
    """Remove the module's numba files and sums: its module was (re)written, they describe another."""
    for folder in folders:
        for path in files_of(stem, folder) + [folder / (stem + SUMS)]:
            _remove(path)


def _problem(path: Path, recorded: str | None) -> str | None:
    """Why the numba file at `path` may not be loaded (None when it may)."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            return "is not a plain file"
        if info.st_uid != os.geteuid():
            return f"belongs to another user (uid {info.st_uid})"
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    shared = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if recorded is not None and hashlib.sha256(data).hexdigest() == recorded:
        if shared:   # as recorded, but the umask (002) left it group-writable
            path.chmod(stat.S_IMODE(info.st_mode) & ~0o022)
        return None
    if not _parses(data, path.suffix):
        return "is damaged (it does not parse as a pickle)"
    if recorded is not None and path.suffix == ".nbc":
        return "is damaged (it differs from the checksum recorded when it was written)"
    if shared:   # changed since recorded, or never recorded, while others could write it
        return f"was writable by other users (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def _parses(data: bytes, suffix: str) -> bool:
    """Whether `data` is whole pickles (two for an index: numba's version, then the index),
    judged by walking the opcodes; nothing in them is run."""
    stream = io.BytesIO(data)
    try:
        for _ in range(2 if suffix == ".nbi" else 1):
            for _op in pickletools.genops(stream):
                pass
    except Exception:   # genops raises ValueError (and others) on anything that is not a pickle
        return False
    return stream.tell() == len(data)


def _read_sums(path: Path) -> dict[str, str]:
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or problem_with(info, "it") is not None:
            return {}
        sums = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(sums, dict):
        return {}
    return {k: v for k, v in sums.items() if isinstance(k, str) and isinstance(v, str)}


def _write_sums(path: Path, sums: dict[str, str]) -> None:
    if _read_sums(path) == sums:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(sums, f, indent=0, sort_keys=True)
        os.replace(tmp, path)
    except OSError:   # best effort: without sums the files are checked by parsing alone
        _remove(tmp)


def _remove(path: Path) -> None:
    """Remove a file of ours (an empty folder at its place too); a full folder stays."""
    try:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
    except OSError:
        pass


def _remove_stale_temps(stem: str, folder: Path) -> None:
    now = time.time()
    for path in folder.glob(f"{stem}.*.tmp.*"):
        try:
            if now - path.lstat().st_mtime > _STALE_TEMP:
                path.unlink()
        except OSError:
            pass
