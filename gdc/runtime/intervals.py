"""The interval a parameter is bounded to: `in (0, inf)` in a model, `--bound k=0:10`, `bounds=`.

One definition for every stage: the checker builds it from the model text, the generated
module keeps it as a constant (BOUNDS), the fit reads it back and intersects it with the bounds
given on the command line or in Python. Numbers only (no numpy, no sympy, no lark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Interval:
    """Lower and upper ends (±inf for none), each open (the end itself excluded) or closed."""

    lower: float = -math.inf
    upper: float = math.inf
    lower_open: bool = False
    upper_open: bool = False

    @property
    def unbounded(self) -> bool:
        return self.lower == -math.inf and self.upper == math.inf

    def contains(self, value: float) -> bool:
        above = value > self.lower if self.lower_open else value >= self.lower
        below = value < self.upper if self.upper_open else value <= self.upper
        return above and below

    @property
    def empty(self) -> bool:
        """No number lies inside: lower above upper, or equal ends not both closed."""
        return self.lower > self.upper or (self.lower == self.upper and (self.lower_open or self.upper_open))

    def intersect(self, other: "Interval") -> "Interval":
        """The numbers inside both (the tighter end on each side; open wins at a tie)."""
        if self.lower != other.lower:
            lower, lower_open = max((self.lower, self.lower_open), (other.lower, other.lower_open),
                                    key=lambda end: end[0])
        else:
            lower, lower_open = self.lower, self.lower_open or other.lower_open
        if self.upper != other.upper:
            upper, upper_open = min((self.upper, self.upper_open), (other.upper, other.upper_open),
                                    key=lambda end: end[0])
        else:
            upper, upper_open = self.upper, self.upper_open or other.upper_open
        return Interval(lower, upper, lower_open, upper_open)

    def inside(self) -> float:
        """A round number inside (for hints): 0 if it is, else the middle, or one step in from
        the one finite end."""
        if self.contains(0.0):
            return 0.0
        if math.isfinite(self.lower) and math.isfinite(self.upper):
            return (self.lower + self.upper) / 2.0
        if math.isfinite(self.lower):
            return self.lower + max(1.0, abs(self.lower))
        return self.upper - max(1.0, abs(self.upper))

    def text(self) -> str:
        """`(0, inf)`, `[0, 1]`: as the model language writes it (an infinite end is open)."""
        left = "(" if self.lower_open or self.lower == -math.inf else "["
        right = ")" if self.upper_open or self.upper == math.inf else "]"
        return f"{left}{end_text(self.lower)}, {end_text(self.upper)}{right}"

    def constant(self) -> tuple:
        """The tuple a generated module's BOUNDS holds for it."""
        return (self.lower, self.upper, self.lower_open, self.upper_open)


def end_text(value: float) -> str:
    if value == math.inf:
        return "inf"
    if value == -math.inf:
        return "-inf"
    return f"{value:g}" if float(f"{value:g}") == value else repr(value)


def bounds_source(bounds: dict[str, Interval]) -> str:
    """The BOUNDS line of a generated module (infinite ends as math.inf: repr gives `inf`)."""
    def number(value: float) -> str:
        return "math.inf" if value == math.inf else "-math.inf" if value == -math.inf else repr(float(value))
    items = ", ".join(f"{name!r}: ({number(b.lower)}, {number(b.upper)}, {b.lower_open!r}, {b.upper_open!r})"
                      for name, b in bounds.items())
    return f"BOUNDS = {{{items}}}  # per parameter: lower, upper, lower open, upper open\n"


def from_constant(values) -> Interval:
    lower, upper, lower_open, upper_open = values
    return Interval(float(lower), float(upper), bool(lower_open), bool(upper_open))
