"""Derivation to a LaTeX fragment (amsmath only): sections, one paragraph per step, \\[ \\] displays."""

from __future__ import annotations

import sympy
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter

from gdc.calculus.catalog import BY_CLASS
from gdc.calculus.derivation import ERROR, Derivation
from gdc.calculus.rules import Fresh
from gdc.calculus.functions import PerSample, mean
from .layout import Layout, decimal, is_reduction
from .outline import Display, Heading, Line, Math, Paragraph, outline


class MathPrinter(Layout, LatexPrinter):
    """sympy expressions as LaTeX math, sums and products laid out as in the text format."""

    printmethod = "_gdc_latex"
    minus = "-"
    times = r" \cdot "

    def __init__(self):
        super().__init__({"mul_symbol": "dot"})

    def paren(self, text):
        # Fixed-size brackets, not \left( \right): TeX may break a long line inside them.
        if r"\frac" in text or r"\sum" in text:
            return rf"\bigl({text}\bigr)"
        return f"({text})"

    def fraction(self, num, den, num_compound, den_compound):
        return rf"\frac{{{num}}}{{{den}}}"

    def reduction(self, kind, coeff, den, body):
        if kind is mean:
            prefix = rf"\frac{{{coeff or '1'}}}{{{den}N}}"
        else:
            prefix = rf"\frac{{{coeff or '1'}}}{{{den}}}" if den else coeff
        return rf"{prefix}\sum_{{i}} {body}"

    def _print_Symbol(self, expr, style="plain"):
        if expr == ERROR:
            return r"\mathrm{Error}_{i}"
        text = self._deal_with_super_sub(expr.name, style)
        name = split_super_sub(expr.name)[0]
        if len(name) > 1 and text.startswith(name):
            text = rf"\mathit{{{name}}}" + text[len(name):]
        if isinstance(expr, PerSample):
            if text.endswith("}") and "_{" in text:
                return text[:-1] + ",i}"
            return text + "_{i}"
        return text

    def _print_Integer(self, expr):
        return str(expr.p)

    def log_sum_exp(self, index, body):
        return rf"\operatorname{{logsumexp}}_{{{index}}}\left({body}\right)"

    def element_sum(self, index, body):
        return rf"\sum_{{{index}}} {body}"

    def _print_Indexed(self, expr):
        name = self._print(sympy.Symbol(expr.base.label.name))
        indices = self.indices(expr)
        sep = "," if any(k.isdigit() for k in indices) and len(indices) > 1 else ""
        return f"{name}_{{{sep.join(indices)}}}"

    def _print_KroneckerDelta(self, expr, exp=None):
        text = rf"\delta_{{{''.join(str(a) for a in expr.args)}}}"
        return text if exp is None else f"{text}^{{{exp}}}"

    def _print_Rational(self, expr):
        text = decimal(expr)
        if text is not None:
            return text
        sign = "-" if expr.p < 0 else ""
        return rf"{sign}\frac{{{abs(expr.p)}}}{{{expr.q}}}"

    def _print_Pow(self, expr, **kwargs):
        if is_reduction(expr.base):
            return rf"{self.paren(self._print(expr.base))}^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr, **kwargs)

    def _print(self, expr, **kwargs):
        entry = BY_CLASS.get(type(expr))
        if entry is not None and entry.latex:   # gdc's names: σ(z), softplus(z), sign(u), H(u)
            # (H shows one argument: its second is its value at 0, which the step's note states)
            args = expr.args[:1] if isinstance(expr, sympy.Heaviside) else expr.args
            inner = rf"{entry.latex}\left({', '.join(self._print(a) for a in args)}\right)"
            return inner if kwargs.get("exp") is None else rf"{inner}^{{{kwargs['exp']}}}"
        return super()._print(expr, **kwargs)

    def _print_where(self, expr, exp=None):
        left, relation, right, a, b = expr.shown
        condition = f"{self._print(left)} {_RELATION[relation]} {self._print(right)}"
        rows = [rf"{self._print(a)} & \text{{if }} {condition}"]
        t = expr.args[4]
        if t in (a, b):
            rows.append(rf"{self._print(b)} & \text{{otherwise}}")
        else:   # a derivative: the average on the boundary, by the kink convention
            other = f"{self._print(left)} {_RELATION[_OPPOSITE[relation]]} {self._print(right)}"
            rows += [rf"{self._print(b)} & \text{{if }} {other}",
                     rf"{self._print(t)} & \text{{if }} {self._print(left)} = {self._print(right)}"]
        text = r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
        return text if exp is None else rf"\left({text}\right)^{{{exp}}}"

    def _print_Derivative(self, expr):
        inner, (var, _) = expr.expr, expr.variable_count[0]
        d = "d" if isinstance(var, Fresh) else r"\partial"
        if inner.is_Symbol:
            return rf"\frac{{{d} {self._print(inner)}}}{{{d} {self._print(var)}}}"
        body = self._print(inner)
        if not (inner.is_Pow or (inner.is_Function and not is_reduction(inner))):
            body = self.paren(body)
        return rf"\frac{{{d}}}{{{d} {self._print(var)}}} {body}"


_RELATION = {"<": "<", "<=": r"\le", ">": ">", ">=": r"\ge"}
_OPPOSITE = {"<": ">", ">": "<"}

_PRINTER = MathPrinter()

_TEXT = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
         "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
         "<": r"\textless{}", ">": r"\textgreater{}", "−": "-", "·": r"$\cdot$", "—": "---"}


def words(text: str) -> str:
    """Plain words, escaped for LaTeX."""
    return "".join(_TEXT.get(c, c) for c in text)


def show(expr) -> str:
    return _PRINTER.doprint(expr)


def math(m: Math) -> str:
    return _PRINTER.relation(m, " = ", r" \leftarrow ")


def parts(items) -> str:
    return "".join(f"${math(p)}$" if isinstance(p, Math) else words(p) for p in items)


def render(d: Derivation, order: str = "tree") -> str:
    """A fragment to \\input into a document that loads amsmath."""
    lines = [f"% {words(f'gdc derive {d.model.checked.program.where}')}: "
             "a LaTeX fragment; it needs \\usepackage{amsmath}."]
    for block in outline(d, order):
        if isinstance(block, Heading):
            command = "subsection" if block.level == 1 else "subsubsection"
            lines.append(f"\\{command}*{{{parts(block.parts)}}}")
        elif isinstance(block, Paragraph):
            lines.append(f"\\noindent {parts(block.parts)}\\par")
        elif isinstance(block, Line):
            mark = (r"\quad$\surd$" if block.verified else "") + \
                (f" --- {words(block.note)}" if block.note else "")
            indent = f"\\hspace*{{{1.5 * block.depth:g}em}}" if block.depth else ""
            lines.append(f"\\noindent{indent}\\textbf{{{parts(block.label)}}}: {parts(block.body)}{mark}\\par")
        elif isinstance(block, Display):
            remark = f"\\quad\\text{{{parts(block.remark).strip()}}}" if block.remark else ""
            lines.append(f"\\[ {math(block.math)}{remark} \\]")
    return "\n".join(lines) + "\n"
