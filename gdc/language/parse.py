"""Text to lark parse tree, with syntax errors turned into positioned, friendly messages."""

from __future__ import annotations

import functools
from contextvars import ContextVar
from importlib import resources
from pathlib import Path

from gdc.errors import GdcError, Span

_OPEN = {"LPAR": "RPAR", "LSQB": "RSQB"}
_CLOSE = {"RPAR": "LPAR", "RSQB": "LSQB"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "AT", "POW", "EQUAL", "COMMA", "COMPARE"}
_SHOW = {"_NL": "end of line", "SEMICOLON": "`;`", "$END": "end of file"}


def grammar_text() -> str:
    """The lark grammar, from the installed package or, in a source checkout, `grammars/`."""
    try:
        return resources.files("gdc.grammars").joinpath("gd.lark").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # running from a checkout, not installed
        return (Path(__file__).resolve().parents[2] / "grammars" / "gd.lark").read_text(encoding="utf-8")


class _Scan:
    """One parse's view of the brackets: what the post-lexer saw, kept for the error messages."""

    def __init__(self):
        self.stack = []   # open bracket tokens not yet closed
        self.intervals = set()   # ids of those that open an interval, `in (0, 1]`: either closes them
        self.seen = []  # the last two tokens handed to the parser
        self.unmatched = None  # a closing bracket with nothing to close

    def before(self, tok):
        """The token handed over before `tok` (or the last one, if `tok` never was)."""
        if self.seen and self.seen[-1] is tok:
            return self.seen[0] if len(self.seen) == 2 else None
        return self.seen[-1] if self.seen else None


# The scan of the parse running in this thread (or task): `parse_tree` sets a fresh one for
# each parse, so the post-lexer itself holds no state and one parser serves every caller.
_SCAN: ContextVar[_Scan] = ContextVar("gdc_parse_scan")


class _Brackets:
    """Post-lexer: drops newlines inside brackets, noting what it passes in the parse's _Scan."""

    always_accept = ("_NL",)

    def process(self, stream):
        scan = _SCAN.get()
        for tok in stream:
            if tok.type in _OPEN:
                scan.stack.append(tok)
                if scan.seen and scan.seen[-1].type == "IN":
                    scan.intervals.add(id(tok))
            elif tok.type in _CLOSE:
                if scan.stack and (scan.stack[-1].type == _CLOSE[tok.type] or id(scan.stack[-1]) in scan.intervals):
                    scan.stack.pop()
                else:
                    scan.unmatched = tok
            elif tok.type == "_NL" and scan.stack:
                continue
            scan.seen = [*scan.seen[-1:], tok]
            yield tok


@functools.lru_cache(maxsize=1)
def _parser():
    from lark import Lark
    return Lark(grammar_text(), parser="lalr", lexer="contextual", postlex=_Brackets(),
                propagate_positions=True, maybe_placeholders=True)


def token_span(tok) -> Span:
    """The span of a lark token."""
    end_line = tok.end_line or tok.line
    end_col = tok.end_column or (tok.column + max(1, len(str(tok))))
    if str(tok).startswith("\n") or str(tok).startswith("\r"):  # a newline token: point at the line end
        return Span(tok.line, tok.column, tok.line, tok.column + 1)
    return Span(tok.line, tok.column, end_line, end_col)


def parse_tree(text: str, where: str = "<string>"):
    """Parse `.gd` text into a lark tree; raises GdcError with a position on bad syntax."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput
    scan = _Scan()
    token = _SCAN.set(scan)
    try:
        return _parser().parse(text)
    except UnexpectedCharacters as exc:
        raise _bad_character(exc, text, where) from None
    except UnexpectedInput as exc:
        raise _bad_token(exc, scan, text, where) from None
    finally:
        _SCAN.reset(token)


def _bad_character(exc, text: str, where: str) -> GdcError:
    char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else "?"
    span = Span(exc.line, exc.column, exc.line, exc.column + 1)
    hint = None
    if char in "{}":
        hint = "use parentheses ( ) to group"
    elif char in "&|!<>≠":
        hint = ("a condition is one comparison (<, <=, > or >=) inside where(condition, a, b); "
                "nest where for more than one")
    elif char == "=":
        hint = "`=` only follows the name in `param`, `let` and `model`"
    return GdcError(f"unexpected character {char!r}", where=where, span=span, source=text, hint=hint)


def _bad_token(exc, post: _Scan, text: str, where: str) -> GdcError:
    tok = getattr(exc, "token", None)
    ttype = getattr(tok, "type", "$END")
    prev = post.before(tok)
    if post.unmatched is not None:
        closer = post.unmatched
        return GdcError(f"unbalanced {str(closer)!r}: there is no opening bracket for it",
                        where=where, span=token_span(closer), source=text,
                        hint="remove it, or add the missing opening bracket earlier")
    if post.stack and (ttype in ("$END", "_NL", "SEMICOLON") or (tok is not None and tok.line > post.stack[-1].line)):
        opener = post.stack[-1]
        closer = ")" if opener.type == "LPAR" else "]"
        return GdcError(f"{str(opener)!r} is never closed", where=where, span=token_span(opener),
                        source=text, hint=f"add the missing {closer!r}")
    if ttype in ("$END", "_NL", "SEMICOLON", "RPAR", "COMMA") and prev is not None and prev.type in _OPERATORS:
        return GdcError(f"expected an expression after {str(prev)!r}", where=where,
                        span=token_span(prev), source=text, hint="complete or remove the dangling operator")
    if tok is None or ttype == "$END":
        span = token_span(prev) if prev is not None else Span(1, 1, 1, 2)
        return GdcError("the file ends in the middle of a statement", where=where, span=span, source=text)
    if ttype in ("NAME", "NUMBER", "LPAR") and prev is not None and prev.type in ("NAME", "NUMBER", "RPAR"):
        return GdcError(f"missing operator between {str(prev)!r} and {str(tok)!r}", where=where,
                        span=token_span(tok), source=text,
                        hint=f"write `{prev}*{tok}` for a product; a statement starts on a new line or after `;`")
    if ttype == "COMPARE":
        return GdcError(f"a comparison (`{tok}`) can only be the condition of `where`", where=where,
                        span=token_span(tok), source=text,
                        hint="write where(a < b, value if true, value if false), one comparison "
                             "per condition (nest where for 0 < x < 1)")
    if ttype == "EQUAL" and post.stack:
        return GdcError("unexpected '=': a condition compares with <, <=, > or >=", where=where,
                        span=token_span(tok), source=text,
                        hint="where(x <= 0, a, b); there is no == (a computed value is rarely exactly equal)")
    index = _index_message(ttype, tok, prev, post)
    if index is not None:
        message, hint = index
        return GdcError(message, where=where, span=token_span(tok), source=text, hint=hint)
    shown = _SHOW.get(ttype, repr(str(tok)))
    return GdcError(f"unexpected {shown}{_expected(exc)}", where=where, span=token_span(tok), source=text,
                    hint=_statement_hint(prev))


def _index_message(ttype: str, tok, prev, post: _Scan) -> tuple[str, str] | None:
    """What went wrong inside (or right after) the brackets of an element such as w[2]."""
    in_element = bool(post.stack) and post.stack[-1].type == "LSQB"
    if in_element and ttype == "NAME":
        return (f"an index must be a number, not `{tok}`",
                "an element is picked by a fixed position, w[0]; for all of them use dot(w, x), "
                "sum(w * x) or W @ x, and gdc derive shows the generic element w_j")
    if in_element and ttype == "MINUS":
        return "a number in brackets cannot be negative", "elements are numbered from 0, and sizes are positive"
    if ttype == "LSQB" and prev is not None and prev.type == "RSQB":
        return "one pair of brackets picks an element of a matrix", "write W[0, 1], not W[0][1]"
    return None


def _expected(exc) -> str:
    expected = set(getattr(exc, "expected", ()) or ())
    if expected & {"NAME", "NUMBER", "LPAR"} and expected <= {"NAME", "NUMBER", "LPAR", "MINUS", "PLUS"}:
        return ": expected an expression"
    return ""


def _statement_hint(prev) -> str | None:
    if prev is None or prev.type in ("_NL", "SEMICOLON"):
        return "a statement starts with `param`, `data`, `let`, `model` or `loss`"
    return None
