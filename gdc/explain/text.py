"""Derivation to terminal text: Unicode math (xᵢ, ∂, Σ, σ, ², ·), rule names bold on request."""

from __future__ import annotations

import sympy
from sympy.printing.conventions import split_super_sub
from sympy.printing.pretty.pretty_symbology import greek_unicode
from sympy.printing.str import StrPrinter

from gdc.calculus.catalog import BY_CLASS
from gdc.calculus.derivation import Derivation
from gdc.calculus.rules import Fresh
from gdc.calculus.functions import PerSample, mean
from .layout import Layout, decimal, is_reduction
from .outline import Display, Heading, Line, Math, Paragraph, outline
from .wrap import DEFAULT_WIDTH, wrap

_SUPER = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
# The letters Unicode has as subscripts, for element indices (xᵢⱼ, Wⱼₖ, Σₖ).
_SUB_LETTERS = dict(zip("aehijklmnoprstuvx", "ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_NAMES = {"ell": "ℓ", "lamda": "λ", "lambda": "λ"}


def unicode_name(name: str) -> str:
    """x1 → x₁, u_1 → u₁, theta → θ; other names as written."""
    base, sups, subs = split_super_sub(name)
    if sups or not all(s.isdigit() for s in subs):
        base, subs = name, []
    base = _NAMES.get(base) or greek_unicode.get(base) or base
    return base + "".join(s.translate(_SUB) for s in subs)


def subscript(indices: list[str]) -> str:
    """ᵢⱼ for letters Unicode can lower, ₁,₂ for numbers; [q] where it cannot."""
    if all(k in _SUB_LETTERS or k.isdigit() for k in indices):
        parts = [_SUB_LETTERS[k] if k in _SUB_LETTERS else k.translate(_SUB) for k in indices]
        numbers = any(k.isdigit() for k in indices) and len(indices) > 1
        return ("," if numbers else "").join(parts)
    return "[" + ", ".join(indices) + "]"


class UnicodePrinter(Layout, StrPrinter):
    """sympy expressions as one line of Unicode math."""

    printmethod = "_gdc_text"
    minus = "−"
    times = "·"

    def fraction(self, num, den, num_compound, den_compound):
        return f"{self.paren(num) if num_compound else num}/{self.paren(den) if den_compound else den}"

    def reduction(self, kind, coeff, den, body):
        if kind is mean:
            den = f"{den}N" if den.isdigit() or not den else f"{den}·N"
            prefix = f"{coeff or '1'}/{self.paren(den) if len(den) > 1 else den}"
        else:
            prefix = f"{coeff or '1'}/{self.paren(den) if len(den) > 1 else den}" if den else coeff
        return f"{prefix} Σᵢ {body}".lstrip()

    def _print_Symbol(self, expr, **kwargs):
        name = unicode_name(expr.name)
        return name + "ᵢ" if isinstance(expr, PerSample) else name

    def _print_Integer(self, expr, **kwargs):
        return str(expr.p).replace("-", self.minus)

    def element_sum(self, index, body):
        return f"Σ{subscript([index])} {body}"

    def log_sum_exp(self, index, body):
        return f"logsumexp{subscript([index])}({body})"

    def _print_Indexed(self, expr, **kwargs):
        return unicode_name(expr.base.label.name) + subscript(self.indices(expr))

    def _print_KroneckerDelta(self, expr, **kwargs):
        return "δ" + subscript([str(a) for a in expr.args])

    def _print_Rational(self, expr, **kwargs):
        text = decimal(expr) or f"{expr.p}/{expr.q}"
        return text.replace("-", self.minus)

    def _print_Float(self, expr, **kwargs):
        return StrPrinter._print_Float(self, expr).replace("-", self.minus)

    def _print_Exp1(self, expr, **kwargs):
        return "e"

    def _print_Pi(self, expr, **kwargs):
        return "π"

    def _print_Pow(self, expr, **kwargs):
        base, exp = expr.args
        if exp == sympy.S.Half:
            return "√" + self.atom(base)
        if exp.is_Number and exp.is_negative:
            return self.product(sympy.S.One, (expr,))
        if exp.is_Integer and exp > 1 and getattr(BY_CLASS.get(type(base)), "power_name", False):  # tanh²(u)
            name, rest = self._print(base).split("(", 1)
            return f"{name}{str(exp).translate(_SUPER)}({rest}"
        text = self.atom(base)
        if exp.is_Integer:
            return text + str(exp).translate(_SUPER)
        return f"{text}^{self.atom(exp)}"

    def atom(self, expr) -> str:
        """An expression as an operand of a power or a root: bracketed unless it is one piece."""
        text = self._print(expr)
        if expr.is_Symbol or isinstance(expr, sympy.Indexed) or (expr.is_Function and not is_reduction(expr)) or \
                (expr.is_Integer and expr >= 0):
            return text
        return self.paren(text)

    def _print_Function(self, expr, **kwargs):
        entry = BY_CLASS.get(type(expr))
        name = entry.text or entry.name if entry is not None else ""
        name = name or type(expr).__name__
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    _print_Max = _print_Min = _print_Function

    def _print_Heaviside(self, expr, **kwargs):
        return f"H({self._print(expr.args[0])})"

    def _print_where(self, expr, **kwargs):
        # as the language writes it (≤ and ≥ are accepted there too); a derivative's average on
        # the boundary is stated by the where rule's note
        left, relation, right, a, b = expr.shown
        relation = {"<=": "≤", ">=": "≥"}.get(relation, relation)
        return f"where({self._print(left)} {relation} {self._print(right)}, {self._print(a)}, {self._print(b)})"

    def _print_Abs(self, expr, **kwargs):
        return f"|{self._print(expr.args[0])}|"

    def _print_Derivative(self, expr, **kwargs):
        inner, (var, _) = expr.expr, expr.variable_count[0]
        d = "d" if isinstance(var, Fresh) else "∂"
        if inner.is_Symbol:
            return f"{d}{self._print(inner)}/{d}{self._print(var)}"
        return f"{d}/{d}{self._print(var)} {self.atom(inner) if not inner.is_Pow else self._print(inner)}"


_PRINTER = UnicodePrinter()


def show(expr) -> str:
    return _PRINTER.doprint(expr)


def math(m: Math) -> str:
    return _PRINTER.relation(m, " = ", " ← ")


def parts(items) -> str:
    return "".join(math(p) if isinstance(p, Math) else p for p in items)


def render(d: Derivation, color: bool = False, order: str = "tree", width: int | None = DEFAULT_WIDTH) -> str:
    """The whole derivation as terminal text; `color` makes headings and rule names bold; lines
    longer than `width` columns are broken at operators (None: never)."""
    bold = (lambda s: f"\x1b[1m{s}\x1b[0m") if color else (lambda s: s)
    lines: list[str] = []
    for block in outline(d, order):
        if isinstance(block, Heading):
            if block.level > 1:
                lines.append("")
            lines.append(bold(parts(block.parts)))
        elif isinstance(block, Paragraph):
            lines.append("   " + parts(block.parts))
        elif isinstance(block, Line):
            mark = (" ✓" if block.verified else "") + (f" — {block.note}" if block.note else "")
            lines.append("   " + "  " * block.depth + bold(parts(block.label)) + ": " + parts(block.body) + mark)
        elif isinstance(block, Display):
            lines.append("      " + math(block.math) + parts(block.remark))
    if width is not None:
        lines = [piece for line in lines for piece in wrap(line, width)]
    return "\n".join(lines) + "\n"
