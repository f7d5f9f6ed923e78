"""A fit as HTML: the table `gdc fit` prints, for a notebook and the report page (the same rows
as the text report, from report.py)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Sequence

from .report import parameter_rows, summary_rows, sweep_rows
from .uncertainty import correlation_table

if TYPE_CHECKING:
    from .problem import FitResult

STYLE = ("<style>.gdc-fit{border-collapse:collapse;margin:.4em 0}"
         ".gdc-fit th,.gdc-fit td{padding:.15em .8em;text-align:left;vertical-align:top}"
         ".gdc-fit .num{text-align:right;font-variant-numeric:tabular-nums}"
         ".gdc-fit td.num{font-family:ui-monospace,monospace}"
         ".gdc-fit thead th{border-bottom:1px solid #888}"
         ".gdc-fit tbody.how th{font-weight:normal;color:#555}</style>")


def result_html(result: FitResult, style: bool = True) -> str:
    """The parameters (values and standard errors), then how the fit went."""
    lines = [STYLE if style else "", '<table class="gdc-fit">']
    if result.reason != "diverged":
        errors = result.stats is not None or any(result.held)
        head = '<th>parameter</th><th class="num">value</th>' + ('<th class="num">standard error</th>'
                                                                 if errors else "")
        lines.append(f"<thead><tr>{head}</tr></thead><tbody>")
        for name, value, error, listed in parameter_rows(result):
            if listed:
                cells = f'<td class="num">{escape(value)}</td>' + (
                    f'<td class="num">{escape(error or "")}</td>' if errors else "")
            else:
                cells = f'<td colspan="{2 if errors else 1}">{escape(value)}</td>'
            lines.append(f"<tr><th>{escape(name)}</th>{cells}</tr>")
        lines.append("</tbody>")
    lines.append('<tbody class="how">')
    for key, value in summary_rows(result):
        lines.append(f'<tr><th>{escape(key)}</th><td colspan="2">{escape(value)}</td></tr>')
    lines.append("</tbody></table>")
    lines.extend(_correlation_html(result))
    return "\n".join(line for line in lines if line)


def _correlation_html(result: FitResult) -> list[str]:
    """The correlation table of the text report (lower triangle, free parameters), as HTML."""
    table = correlation_table(result)
    if table is None:
        return []
    columns, rows = table
    lines = ['<table class="gdc-fit gdc-correlation">', "<thead><tr><th>correlation</th>"
             + "".join(f'<th class="num">{escape(name)}</th>' for name in columns) + "</tr></thead><tbody>"]
    for name, cells in rows:
        lines.append(f"<tr><th>{escape(name)}</th>" + "".join(f'<td class="num">{value:.3f}</td>' for value in cells)
                     + "</tr>")
    lines.append("</tbody></table>")
    return lines


def sweep_html(results: Sequence[FitResult], style: bool = True) -> str:
    """The learning-rate experiment: one row per rate, as `gdc lr-sweep` prints it."""
    header, *rows = sweep_rows(results)
    lines = [STYLE if style else "", '<table class="gdc-fit">',
             "<thead><tr>" + "".join(f"<th>{escape(cell)}</th>" for cell in header) + "</tr></thead><tbody>"]
    for row in rows:
        lr, outcome, epochs, loss = (escape(cell) for cell in row)
        lines.append(f'<tr><td class="num">{lr}</td><td>{outcome}</td><td class="num">{epochs}</td>'
                     f'<td class="num">{loss}</td></tr>')
    lines.append("</tbody></table>")
    return "\n".join(line for line in lines if line)
