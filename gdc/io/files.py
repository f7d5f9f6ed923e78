"""Files in and out safely: only plain files are read; writes are all or nothing, with the
permissions a user expects, and only where asked."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterable

from gdc.errors import GdcError

# A temporary file of ours: `.NAME.PID.XXXXXXXX.tmp` beside NAME (older gdc: `.NAME.XXXXXXXX.tmp`).
_STALE = 3600.0   # seconds after which a temporary file of a writer on another machine is a leftover


def special_file(path: str | os.PathLike) -> str | None:
    """What `path` is when it exists but is not a plain file or a folder (a pipe, a device, a
    socket): reading one could block forever (a FIFO) or never end (/dev/zero)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, content: str | bytes | Iterable[str], *, hint: str | None = None,
                 make_parents: bool = False, mode: int = 0o666) -> None:
    """Write through a temporary file beside `path`, then rename: readers never see half a file.

    `content` may be an iterable of strings, written as they come (a long loss history
    never sits in memory whole). The file gets the permissions a plain open() would give it
    (`mode`, 0666, less the umask), not the owner-only ones of a temporary file. A link is
    followed: its target is replaced, the link stays. A device or a pipe (/dev/null,
    /dev/stdout) cannot be replaced by a rename and is written directly. Temporary files that
    an earlier writer killed halfway left beside `path` are removed first.
    """
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        # before following links: /dev/stdout on a pipe resolves to 'pipe:[123]', no path at all
        _write_directly(Path(path), content)
        return
    path = _target(Path(path))
    directory = path.parent if str(path.parent) else Path(".")
    if not make_parents and not directory.is_dir():
        raise GdcError(f"the folder {os.fspath(directory)} does not exist", where=os.fspath(path),
                       hint=hint or "create it first, or choose another path")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise GdcError(f"cannot write to the folder {os.fspath(directory)}: {exc.strerror or exc}",
                       where=os.fspath(path), hint=hint) from None
    try:
        with os.fdopen(fd, "wb") as f:
            _write_all(f, content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _target(path: Path) -> Path:
    """The file a path names, through any links (a dangling link names where it points)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _write_all(f, content: str | bytes | Iterable[str]) -> None:
    if isinstance(content, (str, bytes)):
        content = [content]
    for chunk in content:
        f.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)


def _write_directly(path: Path, content) -> None:
    if os.path.isdir(path):
        raise GdcError("is a directory", where=os.fspath(path), hint="give a file name")
    try:
        with open(path, "wb") as f:
            _write_all(f, content)
    except OSError as exc:
        raise GdcError(f"cannot write: {exc.strerror or exc}", where=os.fspath(path)) from None


def _remove_leftovers(path: Path) -> None:
    """Remove temporary files of ours for `path` whose writer is gone (killed -9 halfway)."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"(?:(\d+)\.)?[a-z0-9_]{8}\.tmp")
    now = time.time()
    for candidate in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        match = pattern.fullmatch(candidate.name)
        if match is None:
            continue
        try:
            info = candidate.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
                continue
            pid = int(match.group(1)) if match.group(1) else None
            if (pid is not None and not _alive(pid)) or now - info.st_mtime > _STALE:
                candidate.unlink()
        except OSError:
            continue


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _alive(pid: int) -> bool:
    """Whether a process of that id runs on this machine (a pid may be reused: then we wait)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (through links, or two names of one file)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists() and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return a.resolve() == b.resolve()


def guard_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None], option: str) -> Path:
    """Refuse to write over one of the files we read (the model, the data, the parameters), and
    find an output that cannot be written before the work that fills it, not after."""
    out = Path(path)
    for given in inputs:
        if given is not None and same_file(out, given):
            raise GdcError(f"refusing to overwrite the input file {os.fspath(given)}", where=option,
                           hint="choose another output path")
    if out.is_dir():
        raise GdcError(f"{os.fspath(out)} is a directory", where=option, hint="give a file name")
    if out.exists() and not out.resolve().is_file():
        return out   # a device or a pipe: written directly
    folder = _target(out).parent
    folder = folder if str(folder) else Path(".")
    if not folder.is_dir():
        raise GdcError(f"the folder {os.fspath(folder)} does not exist", where=option,
                       hint="create it first, or choose another path")
    try:   # what rename-into-place needs: a file created in the folder (root passes access())
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise GdcError(f"cannot write to the folder {os.fspath(folder)}: {exc.strerror or exc}",
                       where=option, hint="choose a folder you can write, before the work is done") from None
    return out


def distinct_outputs(outputs: Iterable[tuple[str | None, str]]) -> None:
    """Refuse two options that name one output file (`--save x --plot x`): one would overwrite the other."""
    seen: list[tuple[str, str]] = []
    for path, option in outputs:
        if path is None:
            continue
        for earlier, earlier_option in seen:
            if same_file(path, earlier):
                raise GdcError(f"{earlier_option} and {option} both name {path}; one would overwrite "
                               "the other", where=option, hint="give each output its own file")
        seen.append((path, option))
