"""The `gdc` command line: one subcommand per job, user errors printed without tracebacks."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings

from gdc.errors import GdcError, InternalError, printable
from . import compile as _compile
from . import derive as _derive
from . import fit as _fit
from . import report as _report

# Each command module defines add_parser(subparsers) and run(args) -> exit status.
COMMANDS = (_derive, _compile, _fit, _report)


class UsageError(Exception):
    """A command line argparse cannot read; reported like any bad input, with exit status 1."""


class _Parser(argparse.ArgumentParser):
    """argparse, except that a usage error is bad input like any other: exit status 1, not 2."""

    def error(self, message: str):
        raise UsageError(f"{self.format_usage()}{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gdc", description="Derive, compile and fit gradient-descent models written in the gd language.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `gdc` script; returns the exit status (0 done, 1 bad input, 3 a bug)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(printable(str(exc)), file=sys.stderr)
        return 1
    try:
        with warnings.catch_warnings():
            # numpy's overflow and invalid-value warnings: the fit reports a non-finite loss itself.
            warnings.simplefilter("ignore", RuntimeWarning)
            return args.run(args)
    except GdcError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except InternalError as exc:
        print(exc.render(), file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("gdc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so plainly; the traceback only on request
        print(InternalError(f"{type(exc).__name__}: {exc}").render(), file=sys.stderr)
        if os.environ.get("GDC_DEBUG"):
            traceback.print_exc()
        else:
            print("Set GDC_DEBUG=1 to see the traceback.", file=sys.stderr)
        return 3
