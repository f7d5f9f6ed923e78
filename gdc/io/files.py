"""Writing files safely: all or nothing, with the permissions a user expects."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

from gdc.errors import GdcError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, content: str | bytes, *, hint: str | None = None,
                 make_parents: bool = False) -> None:
    """Write through a temporary file beside `path`, then rename: readers never see half a file.

    The file gets the permissions a plain open() would give it (0666 less the umask), not
    the owner-only ones of a temporary file.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not make_parents and not directory.is_dir():
        raise GdcError(f"the folder {os.fspath(directory)} does not exist", where=os.fspath(path),
                       hint=hint or "create it first, or choose another path")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise GdcError(f"cannot write to the folder {os.fspath(directory)}: {exc.strerror or exc}",
                       where=os.fspath(path), hint=hint) from None
    try:
        data = content.encode("utf-8") if isinstance(content, str) else content
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def guard_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None], option: str) -> Path:
    """Refuse to write over one of the files we read (the model, the data, the parameters)."""
    out = Path(path)
    for given in inputs:
        if given is None:
            continue
        source = Path(given)
        same = (out.exists() and source.exists() and os.path.samefile(out, source)) or \
            out.resolve() == source.resolve()
        if same:
            raise GdcError(f"refusing to overwrite the input file {os.fspath(given)}", where=option,
                           hint="choose another output path")
    if out.is_dir():
        raise GdcError(f"{os.fspath(out)} is a directory", where=option, hint="give a file name")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():  # found before the fit, not after it
        raise GdcError(f"the folder {os.fspath(folder)} does not exist", where=option,
                       hint="create it first, or choose another path")
    return out
