"""The box a fit keeps its parameters in: each element's bounds or fixed value, and the projections.

The bounds come from the model (`param k in (0, inf)`, the module's BOUNDS) and from the fit
(`--bound k=0:10`, `bounds={"k": (0, 10)}`), which narrow them: the fit's interval is the
intersection of both. `--fix b=0` / `fixed={"b": 0}` holds a parameter (or one element) at a
value: its lower and upper ends are both that value, so every projection keeps it there and the
second-order steps leave it out of their systems. The kernels are the model's, unchanged.

An open end is never reached: the box stops OPEN_MARGIN (relative) inside it, so a model
undefined at the end itself (log(k) at k = 0) is never evaluated there.
Runtime only (numpy; no sympy, no lark).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from gdc.errors import GdcError
from gdc.runtime.intervals import Interval, end_text
from gdc.runtime.layout import Layout

OPEN_MARGIN = 1e-12   # an open end is held this far inside, relative to max(|end|, 1)

_ELEMENT = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*(?:\[([0-9,\s]*)\])?\s*")
_NUMBER_WORDS = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "": None}


@dataclass(frozen=True, eq=False)
class Box:
    """Per element of the flat parameter vector: where it may go (`lower` ≤ θ ≤ `upper`, open ends
    already moved inside), whether it is fixed, and its interval as stated (for the report)."""

    lower: np.ndarray
    upper: np.ndarray
    fixed: np.ndarray                         # bool: held at lower == upper
    intervals: tuple[Interval | None, ...]    # None: no bounds on that element

    def project(self, params: np.ndarray) -> np.ndarray:
        """Clip `params` into the box, in place (fixed elements go to their values); returns it."""
        np.clip(params, self.lower, self.upper, out=params)
        return params

    def binding(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """The elements the box holds where they are: fixed, or at an end with the gradient
        pushing outward (descent would leave the box)."""
        return self.fixed | ((params <= self.lower) & (grad > 0.0)) | ((params >= self.upper) & (grad < 0.0))

    def projected_gradient(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """The gradient with the binding elements zeroed: what must vanish at a minimum in the box."""
        return np.where(self.binding(params, grad), 0.0, grad)

    def at_bound(self, params: np.ndarray) -> np.ndarray:
        """Elements on an end of their interval (not fixed ones)."""
        return ~self.fixed & ((params <= self.lower) | (params >= self.upper))

    def held(self, params: np.ndarray) -> tuple[str, ...]:
        """Per element, why it has no standard error: "fixed", "at lower bound 0", or ""."""
        out = []
        for j, value in enumerate(params):
            if self.fixed[j]:
                out.append("fixed")
            elif value <= self.lower[j]:
                out.append(f"at lower bound {end_text(self.intervals[j].lower)}")
            elif value >= self.upper[j]:
                out.append(f"at upper bound {end_text(self.intervals[j].upper)}")
            else:
                out.append("")
        return tuple(out)

    def into(self, params: np.ndarray, drawn: np.ndarray) -> None:
        """Bring random starting values (`drawn`: a mask) inside the box by mirroring them at
        the ends they passed (keeping their spread), then clipping."""
        for j in np.flatnonzero(drawn):
            value, lo, hi = params[j], self.lower[j], self.upper[j]
            if value < lo:
                value = lo + (lo - value)
            elif value > hi:
                value = hi - (value - hi)
            params[j] = min(max(value, lo), hi)


def enter(box: Box, params: np.ndarray, drawn: np.ndarray, names: tuple[str, ...]) -> None:
    """Put the start inside the box, in place: fixed elements at their values, random draws
    (`drawn`) mirrored in; a start that was given (the model's value, --init) outside its bounds
    is an error."""
    params[box.fixed] = box.lower[box.fixed]
    box.into(params, drawn & ~box.fixed)
    for j in np.flatnonzero(~box.fixed & ~drawn):
        interval = box.intervals[j]
        if interval is not None and not interval.contains(params[j]):
            raise GdcError(f"the start {names[j]} = {params[j]:g} is outside its bounds {interval.text()}",
                           where="--init", hint=f"start inside them, e.g. --init {names[j]}={end_text(interval.inside())}")
    box.project(params)   # a start within OPEN_MARGIN of an open end moves that little inside


def by_name(what: str, given, example: str) -> None:
    """From Python, `init`, `bounds` and `fixed` are dicts keyed by parameter (or element) name."""
    if given is not None and not isinstance(given, Mapping):
        raise GdcError(f"{what} must be a dict by parameter name, not {type(given).__name__}",
                       where=what, hint=f"e.g. {what}={example}")
    for name in given or ():
        if not isinstance(name, str):
            raise GdcError(f"{what} must be a dict by parameter name; {name!r} is not a name",
                           where=what, hint=f"e.g. {what}={example}")


def make_box(kernels, layout: Layout, bounds: Mapping[str, object] | None,
             fixed: Mapping[str, float] | None) -> Box | None:
    """The box of a fit: the model's bounds narrowed by `bounds` (by parameter or element name),
    and `fixed` values; None when nothing bounds or fixes any element."""
    by_name("bounds", bounds, "{'k': (0, 10)}")
    by_name("fixed", fixed, "{'k': 0}")
    size = layout.size
    intervals: list[Interval | None] = [None] * size
    for name, interval in kernels.bounds.items():
        for j in _span(layout, name):
            intervals[j] = interval
    for name, spec in (bounds or {}).items():
        given = interval_of(spec, name)
        for j in elements(kernels, layout, name, "--bound"):
            narrowed = (intervals[j] or Interval()).intersect(given)
            if narrowed.empty or narrowed.lower == narrowed.upper:
                raise GdcError(f"the bounds {given.text()} given for {name!r} leave no room inside the "
                               f"model's {intervals[j].text()}", where="--bound",
                               hint="bounds given to the fit narrow the model's; they cannot widen them")
            intervals[j] = narrowed
    held = np.zeros(size, dtype=bool)
    values = np.zeros(size)
    for name, value in (fixed or {}).items():
        value = _finite(value, name, "--fix")
        for j in elements(kernels, layout, name, "--fix"):
            if intervals[j] is not None and not intervals[j].contains(value):
                raise GdcError(f"{name!r} is fixed at {value:g}, outside its bounds {intervals[j].text()}",
                               where="--fix", hint="fix it at a value inside its bounds")
            held[j], values[j] = True, value
    if not held.any() and all(i is None or i.unbounded for i in intervals):
        return None
    lower = np.array([-math.inf if i is None else _inner(i.lower, i.lower_open, +1) for i in intervals])
    upper = np.array([math.inf if i is None else _inner(i.upper, i.upper_open, -1) for i in intervals])
    lower[held], upper[held] = values[held], values[held]
    return Box(lower, upper, held, tuple(intervals))


def _inner(end: float, open_: bool, side: int) -> float:
    """An end as the box holds it: an open, finite end moved OPEN_MARGIN inside."""
    if not open_ or not math.isfinite(end):
        return end
    return end + side * OPEN_MARGIN * max(abs(end), 1.0)


def _span(layout: Layout, name: str) -> range:
    part = layout.span(name)
    return range(part.start, part.stop)


def elements(kernels, layout: Layout, name: str, where: str) -> range | list[int]:
    """The flat positions of a parameter (`W`) or of one element (`W[1, 2]`); a GdcError naming
    the parameters for anything else."""
    found = _ELEMENT.fullmatch(name)
    base = found.group(1) if found else name
    if found is None or base not in layout.names:
        if base in kernels.data_names:
            raise GdcError(f"{base!r} is data, not a parameter", where=where,
                           hint=f"the parameters are {', '.join(layout.names)}")
        guess = difflib.get_close_matches(base, layout.names, n=1)
        raise GdcError(f"the model has no parameter {name!r}", where=where,
                       hint=(f"did you mean {guess[0]!r}? " if guess else "")
                       + f"the parameters are {', '.join(layout.names)}")
    if found.group(2) is None:
        return _span(layout, base)
    index = tuple(int(part) for part in found.group(2).replace(" ", "").split(",") if part)
    shape = layout.shapes[layout.names.index(base)]
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape)):
        raise GdcError(f"{name!r} is not an element of {base}, whose shape is "
                       f"[{', '.join(map(str, shape))}]" if shape else f"{base} is a number, not a vector",
                       where=where, hint="elements are numbered from 0")
    return [layout.span(base).start + int(np.ravel_multi_index(index, shape))]


# --- what the user writes -----------------------------------------------------------------------

def interval_of(spec, name: str = "") -> Interval:
    """A bound as given to the fit: (lo, hi) with None or ±inf for no end (closed ends), the text
    of --bound (`0:10`, `0:`, `:10`, `-inf:0`, or `(0, 10]` with open ends), or an Interval."""
    if isinstance(spec, Interval):
        return _checked(spec, name)
    if isinstance(spec, str):
        return _checked(parse_interval(spec, name), name)
    try:
        lo, hi = spec
    except (TypeError, ValueError):
        raise GdcError(f"the bounds of {name!r} must be a pair (lower, upper), not {spec!r}", where="bounds",
                       hint="e.g. bounds={'k': (0, 10)}; None or inf for no bound on a side") from None
    lower = -math.inf if lo is None else _number(lo, name)
    upper = math.inf if hi is None else _number(hi, name)
    return _checked(Interval(lower, upper), name)


def parse_interval(text: str, name: str = "") -> Interval:
    """`0:10` (closed), `0:` / `:10` (one side), `(0, 10]` (each end open or closed)."""
    stripped = text.strip()
    if stripped[:1] in "([" and stripped[-1:] in ")]" and "," in stripped:
        lo, hi = stripped[1:-1].split(",", 1)
        return Interval(_end(lo, -math.inf, name, text), _end(hi, math.inf, name, text),
                        stripped[0] == "(", stripped[-1] == ")")
    lo, colon, hi = stripped.partition(":")
    if not colon:
        raise GdcError(f"{name}={text!r} is not a range", where="--bound",
                       hint="write NAME=LOW:HIGH (e.g. k=0:10, k=0: for k ≥ 0), or NAME='(LOW, HIGH]' "
                            "for open ends")
    return Interval(_end(lo, -math.inf, name, text), _end(hi, math.inf, name, text))


def _end(text: str, missing: float, name: str, whole: str) -> float:
    word = text.strip().lower()
    if word in _NUMBER_WORDS:
        value = _NUMBER_WORDS[word]
        return missing if value is None else value
    try:
        return float(word)
    except ValueError:
        raise GdcError(f"{name}={whole!r}: {text.strip()!r} is not a number", where="--bound",
                       hint="an end is a number, inf or -inf, or left empty for no bound") from None


def _number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GdcError(f"a bound of {name!r} must be a number, not {value!r}", where="bounds") from None
    if math.isnan(number):
        raise GdcError(f"a bound of {name!r} is NaN", where="bounds")
    return number


def _finite(value, name: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GdcError(f"{name!r} must be fixed at a number, not {value!r}", where=where) from None
    if not math.isfinite(number):
        raise GdcError(f"{name!r} must be fixed at a finite number, not {number}", where=where)
    return number


def _checked(interval: Interval, name: str) -> Interval:
    if interval.lower == math.inf or interval.upper == -math.inf or math.isnan(interval.lower) \
            or math.isnan(interval.upper):
        raise GdcError(f"the bounds {interval.text()} of {name!r} hold no number", where="--bound",
                       hint="the lower end may be -inf, the upper inf")
    if interval.empty or interval.lower == interval.upper:
        raise GdcError(f"the bounds {interval.text()} of {name!r} leave no room: the lower end must be "
                       "below the upper", where="--bound",
                       hint=f"to hold {name} at one value, use --fix {name}=VALUE" if interval.lower == interval.upper
                       else "write the lower end first")
    # an infinite end is open however it was written (`0:inf`, `[0, inf]`), so equal bounds compare equal
    return Interval(interval.lower, interval.upper, interval.lower_open or interval.lower == -math.inf,
                    interval.upper_open or interval.upper == math.inf)


def split_items(text: str) -> list[str]:
    """`a=1,W[0, 1]=2,k=(0, 1]` → its items: commas inside brackets do not split."""
    items, depth, current = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def parse_bounds(texts: list[str]) -> dict[str, Interval]:
    """`--bound k=0:10 --bound 'b=(0, 1]'` or `--bound k=0:10,b=0:` → intervals by name."""
    given = assignments(texts, "--bound", "NAME=LOW:HIGH",
                        "e.g. --bound k=0:10 (inf, -inf, or an empty end for no bound)")
    return {name: _checked(parse_interval(value, name), name) for name, value in given.items()}


def parse_fixed(texts: list[str]) -> dict[str, float]:
    """`--fix b=0 --fix w=1` or `--fix b=0,w[2]=1` → values by name."""
    given = assignments(texts, "--fix", "NAME=VALUE", "e.g. --fix b=0")
    return {name: _finite(value, name, "--fix") for name, value in given.items()}


def assignments(texts: list[str], where: str, form: str, example: str) -> dict[str, str]:
    """The NAME=VALUE items of a repeated option, each a comma list: the value text by name.
    A name given twice is refused (argparse would keep the last without a word)."""
    out: dict[str, str] = {}
    for item in (item for text in texts for item in split_items(text)):
        name, equals, value = (s.strip() for s in item.partition("="))
        if not equals or not name:
            raise GdcError(f"{item!r} is not of the form {form}", where=where, hint=example)
        if name in out:
            raise GdcError(f"{name!r} is given twice ({out[name]!r} and {value!r})", where=where,
                           hint="give each name once")
        out[name] = value
    return out
