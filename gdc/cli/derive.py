"""`gdc derive`: show the calculus, step by step, every step verified."""

from __future__ import annotations

import argparse
import math
import os
import sys

from gdc.errors import GdcError


def add_parser(sub) -> None:
    p = sub.add_parser("derive", help="show the derivation of every partial derivative, step by step")
    p.add_argument("model", help="the model file (.gd), or the model itself in quotes")
    p.add_argument("--data", metavar="NAMES", help="comma-separated names to take as data columns")
    p.add_argument("--format", choices=("text", "latex", "markdown", "json", "html"), default="text",
                   help="html: a fragment whose math is MathML (gdc report makes a whole page)")
    p.add_argument("--wrt", metavar="PARAM", help="only the partial derivative with respect to PARAM")
    p.add_argument("--order", choices=("tree", "textbook"), default="tree",
                   help="tree: each result first, its justification indented beneath (default); "
                        "textbook: the smallest steps first, each from the expression to its result")
    p.add_argument("--hessian", action="store_true",
                   help="also the second derivatives (and, for least squares, the Gauss–Newton "
                        "approximation), each checked against sympy.diff (text and json formats)")
    p.set_defaults(run=run)


def data_names_option(text: str | None) -> list[str] | None:
    """Parse a `--data x,Y` option."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise GdcError("--data needs at least one name, e.g. --data x,Y")
    return names


def count(least: int, most: int | None = None):
    """An argparse type: a whole number from `least` to `most` (a seed ≥ 0, rows ≥ 1, ...)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, not {value}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most:,}, not {value:,}")
        return value
    parse.__name__ = "whole number"
    return parse


def positive_number(text: str) -> float:
    """An argparse type: a finite number > 0 (a tolerance)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, not {text}")
    return value


def use_color(stream) -> bool:
    """Bold rule names only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def terminal_width() -> int:
    """$COLUMNS when it is a sensible number, else the default: text lines are broken to it."""
    from gdc.explain.wrap import DEFAULT_WIDTH
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return DEFAULT_WIDTH
    return columns if columns >= 40 else DEFAULT_WIDTH


def run(args) -> int:
    from gdc.calculus.derive import derive
    from gdc.explain import render
    from gdc.language.frontend import check_source
    from gdc.calculus.symbolic import symbolic

    model = symbolic(check_source(args.model, data_names_option(args.data)))   # front end, then sympy
    derivation = derive(model, None if args.wrt is None else [args.wrt])       # every step checked
    text = render(derivation, args.format, color=args.format == "text" and use_color(sys.stdout),
                  order=args.order, width=terminal_width())
    if args.hessian:                                                           # second derivatives, checked
        text = _with_hessian(text, model, derivation, args.format)
    sys.stdout.write(text)                                                     # only once all is verified
    return 0


def _with_hessian(text: str, model, derivation, fmt: str) -> str:
    """The derivation's output with the second derivatives appended (JSON: key `hessian`)."""
    import json

    from gdc.calculus.hessian import hessian_report
    from gdc.explain.hessian import hessian_json, hessian_text
    if fmt not in ("text", "json"):
        raise GdcError(f"--hessian is shown in the text and json formats, not {fmt}", where="--hessian")
    if model.shaped:
        raise GdcError("--hessian shows the second derivatives of scalar parameters; this model has "
                       "vectors or matrices", where="--hessian",
                       hint="fit it with gd, adam or lm, which need first derivatives only")
    from gdc.calculus.derive import derive
    # Every second derivative needs every first one, whatever --wrt chose to show.
    partials = dict(derivation.partials)
    if set(model.elements) - set(partials):
        partials = dict(derive(model, None).partials)
    report = hessian_report(model, partials)
    if fmt == "text":
        return text + hessian_text(report)
    doc = json.loads(text)
    doc["hessian"] = hessian_json(report)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
