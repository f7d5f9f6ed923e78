"""Model files in: a path or the model text itself, read as text with user errors for bad files."""

from __future__ import annotations

import os
from pathlib import Path

from gdc.errors import GdcError
from .files import special_file


def looks_like_path(source: str | os.PathLike) -> bool:
    """A Path is a file; so is a one-line string that ends in `.gd` or names something that exists.

    Model text always has a `model` and a `loss` statement, so it has a newline or a `;`.
    Blank text is text (an empty model), not the path '' that Path reads as the current folder.
    """
    if not isinstance(source, str):
        return True
    return "\n" not in source and ";" not in source and source.strip() != "" and (
        source.endswith(".gd") or Path(source).exists())


def read_source(path: str | Path) -> tuple[str, str]:
    """Read a model file as text: (display name, text); user errors for missing or binary files."""
    where = str(path)
    p = Path(path)
    if not p.exists():
        raise GdcError("no such file", where=where, hint="check the path to the model file")
    if p.is_dir():
        raise GdcError("is a directory, not a model file", where=where)
    special = special_file(p)
    if special is not None:
        raise GdcError(f"is {special}, not a model file", where=where, hint="give the path of a .gd file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise GdcError(f"cannot read the file: {exc.strerror}", where=where) from None
    if b"\0" in data:
        raise GdcError("is not a text file (it contains NUL bytes)", where=where,
                       hint="a model file is plain text, like `model y = m*x + b; loss mean((y - Y)^2)`")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GdcError(f"is not UTF-8 text (byte {exc.start})", where=where,
                       hint="save the model file as UTF-8 text") from None
    return where, text


def read_model(source: str | os.PathLike) -> tuple[str, str]:
    """(display name, model text) of a path or of the text itself."""
    if looks_like_path(source):
        return read_source(os.fspath(source))
    return "<string>", str(source)
