"""The cache key of a model: a hash of its text, normalized the way the parser reads it (no lark).

A cache hit imports neither lark nor sympy, so the key cannot come from a parse. It comes
from a small lexer that splits the text exactly where the grammar's ignored lexemes are
(comments, blanks, line continuations, newlines) and replaces each by a canonical one,
keeping everything else verbatim. The normalized text therefore tokenizes like the
original, and two texts with one key parse alike: both fail, or both give the same model.
A stray `\\` (a continuation the grammar refuses, say one followed by a form feed) stays in
the normalized text, where no valid text ever has one, so it can never share a valid
model's key (tests/test_fuzz.py checks the property on random texts).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Iterable

from gdc.version import __version__

# The grammar's ignored lexemes (grammars/gd.lark: COMMENT, the blanks, the continuation) and
# its newlines; `other` is a run of characters none of them can start, or a single character.
_LEXEME = re.compile(r"""
    (?P<continuation> \\[ \t]*\r?\n )
  | (?P<comment> \#[^\n]* )
  | (?P<blank> [ \t\f]+ )
  | (?P<newline> (?:\r?\n)+ )
  | (?P<other> [^\\\#\s]+ | [\s\S] )
""", re.VERBOSE)

# The compiler's own source is part of every key: the stages that make a module (language,
# calculus, codegen), the runtime that reads it, and the top-level modules, with the grammar.
_COMPILER = ("language", "calculus", "codegen", "runtime")
_GRAMMARS = ("grammars/gd.lark", "../grammars/gd.lark")


def normalize(text: str) -> str:
    """Model text with comments dropped, each run of blanks (or a line continuation) one space,
    and no blanks at the ends of lines; newlines and everything else kept as written."""
    pieces = []
    for match in _LEXEME.finditer(text):
        kind = match.lastgroup
        if kind == "other":
            pieces.append(match.group())
        elif kind == "newline":
            pieces.append("\n" * match.group().count("\n"))
        elif kind != "comment":
            pieces.append(" ")
    joined = re.sub(r" +", " ", "".join(pieces))
    return re.sub(r" ?\n ?", "\n", joined).strip(" ")


def model_key(text: str, data_names: Iterable[str] | None = None) -> str:
    """The sha256 naming a model's compiled module.

    Of the data names given (a CSV header, say) only those the text mentions can change how
    the model is checked, so a data file with other extra columns reuses the same kernels.
    """
    import numba
    normal = normalize(text)
    names = None if data_names is None else sorted(set(data_names) & mentioned_names(normal))
    parts = ["gdc-kernels", __version__, numba.__version__, compiler_digest(),
             json.dumps(names), normal]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def mentioned_names(text: str) -> set[str]:
    """Every word of the model text that could be a name (keywords and functions included)."""
    return set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", normalize(text)))


_digest: list[str] = []


def compiler_sources() -> list[Path]:
    """The files compiler_digest hashes: the top-level modules, every module of the stages (their
    subpackages too: the derivation rules in calculus/rules/ shape every kernel), the grammar."""
    package = Path(__file__).resolve().parent.parent
    sources = sorted(package.glob("*.py"))
    for stage in _COMPILER:
        sources += sorted((package / stage).rglob("*.py"))
    return sources + [package / g for g in _GRAMMARS]


def compiler_digest() -> str:
    """A sha256 of the compiler's sources and grammar: a changed compiler never reuses old kernels."""
    if not _digest:
        h = hashlib.sha256()
        package = Path(__file__).resolve().parent.parent
        for path in compiler_sources():
            try:
                h.update(path.relative_to(package.parent).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
            except (OSError, ValueError):
                h.update(path.name.encode() + b"\0-\0")
        _digest.append(h.hexdigest())
    return _digest[0]
