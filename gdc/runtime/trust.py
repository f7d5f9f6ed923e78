"""Whom the kernel cache trusts: folders and files of the current user that no one else can write.

The cache holds code that gdc runs: the generated modules it imports and the pickles of
compiled code that numba loads. Whoever can write there can run code in the next gdc
process. So gdc loads only from a cache folder, and files, owned by the current user and not
writable by group or others, the rule ssh applies to ~/.ssh. A folder that fails it is not
used at all: gdc compiles into a private temporary folder for the run and says why. The
sealed header of each module protects against accidents (a truncated or edited file), not
against people: anyone can recompute a checksum; the permissions keep other users out.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
from pathlib import Path

from gdc.errors import GdcError


def problem_with(info: os.stat_result, what: str) -> str | None:
    """Why a file or folder (its lstat or fstat) may not be trusted; None when it may."""
    if info.st_uid != os.geteuid():
        return f"{what} belongs to another user (uid {info.st_uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{what} is writable by other users (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def folder_problem(path: Path) -> str | None:
    """Why gdc may not load from the folder `path` (None when it may, or when it does not exist)."""
    try:
        info = path.stat()   # the cache folder may be a link (to a bigger disk, say): judge its target
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror or exc})"
    if not stat.S_ISDIR(info.st_mode):
        return None   # nothing to load from; writing there fails, and says so
    return problem_with(info, "it")


def subfolder_problem(path: Path) -> str | None:
    """Why gdc may not use `path`, a folder inside a trusted one (numba's `__pycache__`); one
    of ours that is only too open (numba, and older gdc, made it with the umask, 002 on many
    systems) is made private instead."""
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror or exc})"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if info.st_uid != os.geteuid():
        return problem_with(info, "it")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        try:
            path.chmod(stat.S_IMODE(info.st_mode) & ~0o022)
        except OSError as exc:
            return f"it is writable by other users and cannot be made private ({exc.strerror or exc})"
    return None


def make_private_folder(path: Path) -> None:
    """Create `path` (and its parents) for the cache: the last folder readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass


_private: list[Path] = []


def private_folder() -> Path:
    """This process's own folder for kernels that cannot go to the cache; removed at exit."""
    if not _private:
        try:
            folder = Path(tempfile.mkdtemp(prefix="gdc-kernels-"))
        except OSError as exc:
            raise GdcError(f"cannot create a private folder for the kernels ({exc.strerror or exc})",
                           hint="set GDC_CACHE_DIR to a folder of your own that you can write") from None
        _private.append(folder)
        atexit.register(shutil.rmtree, folder, True)
    return _private[0]


def is_private(folder: Path) -> bool:
    return bool(_private) and folder == _private[0]
