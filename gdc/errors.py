"""User-facing errors with source positions, kept apart from internal errors (bugs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file: 1-based line and column of its start and end."""

    line: int
    col: int
    end_line: int
    end_col: int

    def join(self, other: "Span") -> "Span":
        """The smallest span covering both."""
        start = min((self.line, self.col), (other.line, other.col))
        end = max((self.end_line, self.end_col), (other.end_line, other.end_col))
        return Span(start[0], start[1], end[0], end[1])


class GdcError(Exception):
    """A mistake in what the user gave us: printed without a traceback, exit status 1.

    `where` names the file (or "<string>"); `span` points into its text when known;
    `source` is that text, so the offending line can be shown with a caret.
    Data errors use `row`/`column` instead of a span.
    """

    def __init__(self, message: str, *, where: str | None = None, span: Span | None = None,
                 source: str | None = None, hint: str | None = None,
                 row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.span = span
        self.source = source
        self.hint = hint
        self.row = row
        self.column = column

    def located(self, where: str, source: str | None) -> "GdcError":
        """Attach the file name and text when the error was raised without them."""
        if self.where is None:
            self.where = where
        if self.source is None:
            self.source = source
        return self

    def render(self) -> str:
        """`file:line:col: error: message`, the source line, a caret, and a hint."""
        prefix = self.where or "gdc"
        if self.span is not None:
            prefix = f"{prefix}:{self.span.line}:{self.span.col}"
        elif self.row is not None:
            prefix = f"{prefix}: row {self.row}"
            if self.column is not None:
                prefix += f", column {self.column!r}"
        lines = [f"{prefix}: error: {self.message}"]
        if self.span is not None and self.source is not None:
            text_lines = self.source.splitlines()
            if 1 <= self.span.line <= len(text_lines):
                text = text_lines[self.span.line - 1].expandtabs(1)
                width = 1
                if self.span.end_line == self.span.line:
                    width = max(1, self.span.end_col - self.span.col)
                lines.append(f"    {text}")
                lines.append("    " + " " * (self.span.col - 1) + "^" * width)
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return printable("\n".join(lines))

    def __str__(self) -> str:
        return self.render()


class InternalError(Exception):
    """A bug in gdc (for example a derivation step that failed its check)."""

    def render(self) -> str:
        return printable(f"gdc: internal error: {self.args[0] if self.args else ''}\n"
                         "This is a bug in gdc, not in your input. Please report it with the model file.")


_noticed: set[str] = set()


def notice(message: str, hint: str | None = None) -> None:
    """Say something the user should know but that does not stop gdc (once per message, on stderr)."""
    import sys
    if message in _noticed:
        return
    _noticed.add(message)
    print(printable(f"gdc: note: {message}" + (f"\nhint: {hint}" if hint else "")), file=sys.stderr)


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f, *range(0x80, 0xa0)]}


def printable(text: str) -> str:
    """`text` with control characters (other than newline and tab) escaped: a name read from a
    file cannot move the terminal's cursor, change its colours or its title."""
    return text.translate(_CONTROL)
