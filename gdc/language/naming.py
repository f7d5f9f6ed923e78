"""Which undeclared names are data: the naming rule and the data's own names, and the messages
that say what was decided when the two disagree or leave nothing to fit.

One rule for every command (`gdc derive`, `gdc fit`, `gdc.fit`): in a file that declares neither
`param` nor `data`, a name the naming rule calls data (vocabulary.looks_like_data: an uppercase
first letter, or x or t) is data; so is any name among the data's columns (a CSV header, --data,
--map, a mapping's keys). When the data's names are known, a name the rule calls data must be
one of them: a header that lacks `Y` is an error that says so, never a silent third parameter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable

from . import ir
from .vocabulary import looks_like_data


class How(enum.Enum):
    """How a name came to be a parameter or data."""

    DECLARED = "declared"                      # `param m`, `data x`
    NOT_A_PARAMETER = "not declared a parameter"   # data: the file declares its parameters only
    NOT_DATA = "not declared as data"              # a parameter: the file declares its data only
    NAMING_RULE = "naming rule"                # vocabulary.looks_like_data
    NAMED = "named"                            # among the data's names (a CSV header, --data)
    NOT_NAMED = "not named"                    # not among them: a parameter


@dataclass(frozen=True)
class Origin:
    """Why a name is a parameter or data: how, and for NAMED/NOT_NAMED where the data's names came
    from ("--data", "the CSV header"). Its text is what `gdc derive --format json` writes."""

    how: How
    source: str = ""

    def __str__(self) -> str:
        if self.how is How.NAMED:
            return self.source
        if self.how is How.NOT_NAMED:
            return f"not in {self.source}"
        return self.how.value


DECLARED, NAMING_RULE = Origin(How.DECLARED), Origin(How.NAMING_RULE)


def decide(free: dict, declares_params: bool, declares_data: bool, data_names: frozenset[str] | None,
           data_origin: str, error) -> list[tuple[str, ir.Span, bool, Origin]]:
    """(name, span, is data, why) for each undeclared name, in order of first use; raises the
    missing-columns error when the rule calls names data that the data's names lack."""
    decided, missing = [], []
    for name, span in free.items():
        if declares_params:
            decided.append((name, span, True, Origin(How.NOT_A_PARAMETER)))
        elif declares_data:
            decided.append((name, span, False, Origin(How.NOT_DATA)))
        elif data_names is not None and name in data_names:
            decided.append((name, span, True, Origin(How.NAMED, data_origin)))
        elif looks_like_data(name):
            if data_names is not None:
                missing.append((name, span))
            decided.append((name, span, True, NAMING_RULE))
        else:
            origin = Origin(How.NOT_NAMED, data_origin) if data_names is not None else NAMING_RULE
            decided.append((name, span, False, origin))
    if missing:
        raise missing_columns(missing, data_names, data_origin, error)
    return decided


def missing_columns(missing: list[tuple[str, ir.Span]], data_names: frozenset[str], data_origin: str,
                    error) -> Exception:
    """The error for names the rule calls data that the data do not have."""
    names = [name for name, _ in missing]
    listed = ", ".join(f"`{name}`" for name in names)
    verb = "is" if len(names) == 1 else "are"
    columns = ", ".join(sorted(data_names)) or "none"
    params = ", ".join(f"{name} = 1" for name in names)
    maps = ",".join(f"{name}=COLUMN" for name in names)
    return error(f"{listed} {verb} data by the naming rule (an uppercase first letter, or x or t), "
                 f"but not in {data_origin} ({columns})", missing[0][1],
                 f"map a column to it: --map {maps}; or, if {'it is a parameter' if len(names) == 1 else 'they are parameters'}, "
                 f"declare {'it' if len(names) == 1 else 'them'}: `param {params}`")


def no_parameters(rule_data: Iterable[str], in_loss: set[str], where: str, error_class) -> Exception:
    """The error for a model whose undeclared names all came out as data; `in_loss`, the names
    the loss statement uses (a target such as Y, not a parameter to suggest)."""
    names = list(rule_data)
    if not names:
        return error_class("the model has no parameters to fit", where=where,
                           hint="declare them with `param m, b`, or give data names with --data")
    candidates = [n for n in names if n not in in_loss and not looks_like_input(n)]
    longer = [n for n in candidates if len(n) > 1]
    example = ", ".join(f"{n} = 1" for n in (longer or candidates or names))
    return error_class(f"the model has no parameters to fit: the naming rule took {', '.join(names)} "
                       "as data", where=where,
                       hint=f"declare the parameters, e.g. `param {example}` (or declare the data "
                            "with `data`, and every other name is a parameter)")


def looks_like_input(name: str) -> bool:
    """x, x2, t_0: the rule's names for inputs, never suggested as parameters."""
    return looks_like_data(name) and name[0] in "xt"
