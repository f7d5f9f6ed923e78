"""The parameters file (`gdc fit --save`, read by `gdc predict`): its format, read and checked.

A hand-edited or damaged file is a user error that names the field, never a crash.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from gdc.errors import GdcError

PARAMS_FORMAT = "gdc-params/1"


def load_params(path: str | os.PathLike) -> dict:
    """Read a parameters file written by `gdc fit --save`; a GdcError says what is wrong."""
    shown = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GdcError("no such file", where=shown, hint="write one with gdc fit ... --save params.json") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GdcError(f"cannot read the file: {e}", where=shown) from None
    hint = "write one with gdc fit MODEL DATA --save params.json"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise GdcError(f"is not a parameters file (not JSON: {e.msg} at line {e.lineno})",
                       where=shown, hint=hint) from None
    except (ValueError, RecursionError) as e:   # an integer past 4300 digits; lists nested past the stack
        why = "nested too deeply" if isinstance(e, RecursionError) else "a number with too many digits"
        raise GdcError(f"is not a parameters file (JSON {why})", where=shown, hint=hint) from None
    if not isinstance(doc, dict) or doc.get("format") != PARAMS_FORMAT:
        raise GdcError("is not a parameters file written by gdc fit --save", where=shown, hint=hint)
    params = doc.get("params")
    if not isinstance(params, dict) or not all(_finite_values(v) for v in params.values()):
        raise GdcError("its \"params\" must map each parameter name to a finite number "
                       "(or, for a vector or matrix, to lists of them)", where=shown)
    for key, valid, what in _FIELDS:
        if key in doc and not valid(doc[key]):
            raise GdcError(f"its \"{key}\" must be {what}", where=shown, hint=hint)
    return doc


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _mapping(value, valid) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and valid(v) for k, v in value.items())


# The optional fields of a parameters file, each with its check: a hand-edited or damaged
# file is a user error, never a crash in `gdc predict`.
_FIELDS = (
    ("model_hash", lambda v: isinstance(v, str), "a string"),
    ("sizes", lambda v: _mapping(v, lambda n: type(n) is int and n >= 1), "a map of size names to whole numbers ≥ 1"),
    ("columns", lambda v: _mapping(v, lambda c: isinstance(c, str)), "a map of data names to column names"),
    ("data_names", _strings, "a list of names"),
    ("input_names", _strings, "a list of names"),
    ("classified_by", lambda v: isinstance(v, dict) and _strings(v.get("names", [])) and isinstance(
        v.get("origin", ""), str), "a map with a list of \"names\" and an \"origin\""),
)


def _finite_values(value) -> bool:
    """A finite number, or a non-empty list of them, or a list of such lists of one length
    (a vector, a matrix); without recursion, whatever the nesting of a hand-edited file."""
    if not isinstance(value, list):
        return _finite_number(value)
    rows = value if value and isinstance(value[0], list) else [value]
    return all(isinstance(row, list) and row and len(row) == len(rows[0]) and all(map(_finite_number, row))
               for row in rows)


def _finite_number(value) -> bool:
    try:   # an int of 4000 digits has no float: OverflowError
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    except OverflowError:
        return False
