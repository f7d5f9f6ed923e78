"""The front end in order: read → parse → lower → check. Everything later starts from its result."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .check import CheckedModel, check
from .lower import lower
from gdc.io.source import looks_like_path, read_source


def check_text(text: str, where: str = "<string>", data_names: Iterable[str] | None = None,
               data_origin: str = "--data") -> CheckedModel:
    """Model text to a checked model."""
    program = lower(text, where)            # parse + lower: syntax errors stop here
    return check(program, data_names, data_origin)   # names, reductions, classification


def check_source(source: str | Path, data_names: Iterable[str] | None = None,
                 data_origin: str = "--data") -> CheckedModel:
    """A model file path, or model text, to a checked model."""
    if looks_like_path(source):
        where, text = read_source(source)
        return check_text(text, where, data_names, data_origin)
    return check_text(str(source), "<string>", data_names, data_origin)
