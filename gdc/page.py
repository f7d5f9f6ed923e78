"""The report page: one self-contained HTML file with the model, its derivation (math as MathML),
the fit table, the pictures (inline SVG) and the learning-rate experiment.

Nothing on the page comes from the network and nothing runs: no scripts, no fonts, no CDN. Its
Content-Security-Policy says so to the browser, which then refuses anything else. `gdc report`
writes it; `report_page` is its Python face.
"""

from __future__ import annotations

import dataclasses
import os
import re
from html import escape
from typing import Mapping, Sequence

from gdc.version import __version__

# The experiment's fits stop here at the latest: the slow rate is meant to look slow, not to finish.
SWEEP_EPOCHS = 2000

PAGE_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 62em;
       margin: 2em auto; padding: 0 1.2em; color: #1f2328; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 1.8em; }
pre { background: #f6f8fa; padding: .8em 1em; overflow-x: auto; border-radius: 6px; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption, .lead, footer { color: #59636e; }
footer { margin-top: 3em; font-size: .9em; }
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def report_page(model: str | os.PathLike, data, *, mapping: Mapping[str, str] | None = None,
                drop_nonfinite: bool = False, method: str = "auto", rates: Sequence[float] | None = None,
                epochs: int | None = None, seed: int = 0) -> str:
    """The page for `model` fitted to `data` (as gdc.fit takes them). `rates` are the
    experiment's learning rates (default: chosen around 2/λmax of the fitted minimum)."""
    from gdc import api
    from gdc.explain.html import render
    from gdc.fitting.html import result_html
    from gdc.fitting.plot import fit_figure, svg
    from gdc.fitting.report import preamble
    from gdc.fitting.run import run
    from gdc.io.source import read_model

    where, text = read_model(model)
    options = api.fit_options(method, None, seed=seed)
    problem = api.prepare(model, data, mapping=mapping, drop_nonfinite=drop_nonfinite)
    derivation = api.derive(model, data_names=problem.classified_by[0], data_origin=problem.classified_by[1])
    result = dataclasses.replace(run(problem, options), problem=problem)
    title = f"{os.path.basename(where) if where != '<string>' else 'the model'} on {os.path.basename(problem.source)}"
    sections = [
        f"<h1>gdc report: {escape(title)}</h1>",
        '<p class="lead">The model, its derivatives derived step by step (each step checked against '
        "sympy), the fit, and the learning-rate experiment of gradient descent.</p>",
        "<h2>The model</h2>", f"<pre>{escape(text.strip())}</pre>",
        "<h2>The derivation</h2>", render(derivation, style=False),
        "<h2>The fit</h2>", f"<pre>{escape(preamble(problem, options))}</pre>",
        result_html(result, style=False),
        _figure(svg(fit_figure(result, problem)), "The loss per iteration; where they apply, the data "
                "with the fitted curve and the loss surface with the path the method took."),
        "<h2>The learning-rate experiment</h2>",
        _experiment(problem, result, rates, epochs, seed),
        f"<footer>Made by gdc {escape(__version__)} from {escape(where)} and "
        f"{escape(problem.source)}.</footer>",
    ]
    return _page(f"gdc report: {title}", "\n".join(sections))


def write_report(path: str | os.PathLike, model, data, **options) -> None:
    """Write `report_page(model, data, **options)` to `path`, never over the model or the data."""
    from gdc.api import input_files
    from gdc.io.files import guard_output, write_atomic
    out = guard_output(path, input_files(model, data), "-o")
    write_atomic(out, report_page(model, data, **options))


def _experiment(problem, result, rates, epochs, seed) -> str:
    """Plain gradient descent at several fixed rates from one start: the table and the curves."""
    from gdc.fitting.html import sweep_html
    from gdc.fitting.options import Options
    from gdc.fitting.plot import svg, sweep_figure
    from gdc.fitting.sweep import RATE_FRACTIONS, run_sweep, suggested_rates

    how = ""
    if not rates:
        if result.reason == "diverged":
            return "<p>No experiment: the fit diverged, so there is no minimum to measure.</p>"
        flat = result.layout.flatten(result.params)
        rates, lam = suggested_rates(problem, flat)
        if not rates:
            return "<p>No experiment: the loss has no curvature at the fitted minimum to choose rates by.</p>"
        fractions = ", ".join(f"{f:g}" for f in RATE_FRACTIONS)
        how = (f" The rates are {fractions} times 2/λ<sub>max</sub> = {2 / lam:.3g}, where "
               f"λ<sub>max</sub> = {lam:.3g} is the largest curvature of the loss at the fitted minimum: "
               "near a minimum, gradient descent settles below that rate and cannot above it "
               "(on a quadratic loss it diverges).")
    limit = epochs or SWEEP_EPOCHS
    sweep = run_sweep(problem, Options(method="gd", lr=rates[0], epochs=limit, seed=seed), list(rates))
    lead = (f"<p>Plain gradient descent (<code>--method gd</code>) at each learning rate, from the "
            f"same start, for at most {limit} epochs.{how}</p>")
    return "\n".join([lead, sweep_html(sweep.results, style=False),
                      _figure(svg(sweep_figure(list(sweep.results), problem)),
                              "The loss per epoch at each rate (log scale where the loss is positive).")])


def _figure(svg_text: str, caption: str) -> str:
    """Inline SVG, less what only a standalone file needs: the XML prolog, the DOCTYPE and the
    RDF metadata (whose namespace URLs would be the page's only URLs)."""
    body = re.sub(r"<metadata>.*?</metadata>\s*", "", svg_text[svg_text.index("<svg"):], flags=re.S)
    return f"<figure>{body}<figcaption>{escape(caption)}</figcaption></figure>"


def _page(title: str, body: str) -> str:
    from gdc.explain.html import STYLE as DERIVATION_STYLE
    from gdc.fitting.html import STYLE as TABLE_STYLE
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{PAGE_STYLE}</style>\n{DERIVATION_STYLE}\n"
            f"{TABLE_STYLE}\n</head>\n<body>\n{body}\n</body>\n</html>\n")
