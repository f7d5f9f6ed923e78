"""Long lines of terminal math broken at operators, the continuation indented: the reader's width."""

from __future__ import annotations

import re

DEFAULT_WIDTH = 100      # columns, when $COLUMNS does not say
CONTINUATION = 4         # a continuation line is indented this much more than its first line
_MIN_FIRST = 24          # never break so early that the first line holds fewer columns than this
_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# Break before a relation or a sign between terms, or before "where" (after its comma).
_OPERATORS = ("= ", "← ", "≈ ", "+ ", "− ", "— ")
_OPEN, _CLOSE = "([{", ")]}"


def visible(text: str) -> int:
    """The columns `text` takes on a terminal (escape codes take none)."""
    return len(_ESCAPE.sub("", text))


def wrap(line: str, width: int = DEFAULT_WIDTH) -> list[str]:
    """`line` as lines of at most `width` columns where it can be broken; unbroken otherwise."""
    indent = len(line) - len(line.lstrip(" "))
    out, rest, lead = [], line, ""
    while visible(lead + rest) > width:
        cut = _break(lead + rest, width, len(lead) + max(_MIN_FIRST, indent))
        if cut is None:
            break
        text = lead + rest
        out.append(text[:cut].rstrip())
        lead, rest = " " * (indent + CONTINUATION), text[cut:].lstrip()
    out.append(lead + rest)
    return out


def _break(text: str, width: int, earliest: int) -> int | None:
    """Where to break: the last operator outside brackets that fits, else a space outside them,
    else an operator or a space inside them."""
    best: dict[tuple[str, bool], int] = {}
    depth, shown, escape = 0, 0, False
    for k, ch in enumerate(text):
        if escape or ch == "\x1b":
            escape = ch != "m"
            continue
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        if ch == " " and k >= earliest:
            operator = text[k + 1:k + 3] in _OPERATORS or text[k + 1:k + 7] == "where "
            best[("operator" if operator else "space", depth == 0)] = k
        shown += 1
        if shown >= width:
            break
    for kind in (("operator", True), ("space", True), ("operator", False), ("space", False)):
        if kind in best:
            return best[kind]
    return None
