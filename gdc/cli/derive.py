"""`gdc derive`: show the calculus, step by step, every step verified."""

from __future__ import annotations

import json

from ..errors import GdcError


def add_parser(sub) -> None:
    p = sub.add_parser("derive", help="show the derivation of every partial derivative, step by step")
    p.add_argument("model", help="the model file (.gd)")
    p.add_argument("--data", metavar="NAMES", help="comma-separated names to take as data columns")
    p.add_argument("--format", choices=("text", "latex", "markdown", "json"), default="text")
    p.add_argument("--wrt", metavar="PARAM", help="only the partial derivative with respect to PARAM")
    p.set_defaults(run=run)


def data_names_option(text: str | None) -> list[str] | None:
    """Parse a `--data x,Y` option."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise GdcError("--data needs at least one name, e.g. --data x,Y")
    return names


def run(args) -> int:
    # Placeholder until the derivation engine lands: the gradient straight from sympy.diff.
    from ..frontend import check_source
    from ..symbolic import symbolic
    model = symbolic(check_source(args.model, data_names_option(args.data)))
    print(json.dumps({"parameters": [str(p) for p in model.params],
                      "data": [str(d) for d in model.data],
                      "loss": str(model.loss),
                      "partials": {str(p): str(g) for p, g in model.gradient().items()}}, indent=2))
    return 0
