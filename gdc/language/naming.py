"""Which undeclared names are data: the naming rule and the data's own names, and the messages
that say what was decided when the two disagree or leave nothing to fit.

One rule for every command (`gdc derive`, `gdc fit`, `gdc.fit`): in a file that declares neither
`param` nor `data`, a name the naming rule calls data (vocabulary.looks_like_data: an uppercase
first letter, or x or t) is data; so is any name among the data's columns (a CSV header, --data,
--map, a mapping's keys). When the data's names are known, a name the rule calls data must be
one of them: a header that lacks `Y` is an error that says so, never a silent third parameter.
"""

from __future__ import annotations

from typing import Iterable

from . import ir
from .vocabulary import looks_like_data


def decide(free: dict, declares_params: bool, declares_data: bool, data_names: frozenset[str] | None,
           data_origin: str, error) -> list[tuple[str, ir.Span, bool, str]]:
    """(name, span, is data, why) for each undeclared name, in order of first use; raises the
    missing-columns error when the rule calls names data that the data's names lack."""
    decided, missing = [], []
    for name, span in free.items():
        if declares_params:
            decided.append((name, span, True, "not declared a parameter"))
        elif declares_data:
            decided.append((name, span, False, "not declared as data"))
        elif data_names is not None and name in data_names:
            decided.append((name, span, True, data_origin))
        elif looks_like_data(name):
            if data_names is not None:
                missing.append((name, span))
            decided.append((name, span, True, "naming rule"))
        else:
            origin = f"not in {data_origin}" if data_names is not None else "naming rule"
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
