"""`gdc report`: one self-contained HTML page with the model, its derivation, the fit and the
learning-rate experiment (gdc.page)."""

from __future__ import annotations

import argparse
import sys

from .derive import count

REPORT_HELP = """\
Write one HTML file that needs nothing else: the model, its derivation with rendered math
(MathML), the fit table, the pictures (inline SVG) and the learning-rate experiment of
plain gradient descent. With no --lr, the rates are chosen around 2/λmax, the largest
stable rate near the fitted minimum, so that one is slow, two converge and one diverges."""


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report: derivation, fit, pictures",
                       description=REPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="the model file (.gd)")
    p.add_argument("data", help="the data file (.csv, .npy, .npz, .parquet)")
    p.add_argument("-o", "--output", metavar="REPORT.html", help="write here (default: standard output)")
    p.add_argument("--map", metavar="NAME=COLUMN,...", help="feed model data NAME from COLUMN, as in gdc fit")
    p.add_argument("--drop-nonfinite", action="store_true", help="skip rows holding NaN, inf or an empty cell")
    p.add_argument("--method", default="auto", help="the fit's method, as in gdc fit (default auto)")
    p.add_argument("--lr", type=_rates, metavar="R1,R2,...",
                   help="the experiment's learning rates (default: chosen around 2/λmax)")
    p.add_argument("--epochs", type=int, metavar="N",
                   help="the experiment's fits stop after N epochs (default 2000)")
    p.add_argument("--seed", type=count(0), default=0, help="seed of random initial values (default 0)")
    p.set_defaults(run=run)


def _rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, not {text!r}") from None
    if not rates or not all(rate > 0 for rate in rates):
        raise argparse.ArgumentTypeError("give one or more positive learning rates")
    return rates


def run(args) -> int:
    from gdc.io.data import parse_mapping
    from gdc.page import report_page, write_report

    options = dict(mapping=parse_mapping(args.map) if args.map else None,
                   drop_nonfinite=args.drop_nonfinite, method=args.method, rates=args.lr,
                   epochs=args.epochs, seed=args.seed)
    if args.output is None:
        sys.stdout.write(report_page(args.model, args.data, **options))
        return 0
    write_report(args.output, args.model, args.data, **options)
    print(f"wrote the report to {args.output}", file=sys.stderr)
    return 0
