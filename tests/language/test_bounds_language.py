"""Bounds in the language, `param k = 0.5 in (0, inf)`: parsed with open and closed ends, printed
back, checked (the error messages are golden files: tests/bad/bounds_*.gd), kept in the generated
module as BOUNDS, and listed by gdc derive."""

from __future__ import annotations

import math

import pytest

from gdc.api import compile as compile_model, derive, source
from gdc.explain import render
from gdc.language.frontend import check_text
from gdc.language.lower import lower
from gdc.language.unparse import unparse
from gdc.runtime.intervals import Interval

BOUNDED = """param k = 0.5 in (0, inf), p in [0, 1], c = -2 in [-inf, -1)
param W[2, 3] in [-1, 1), v[2] = 0.5 in (0, 2*pi]
data x, Y
model y = k*x + p + c + sum(W) + sum(v)
loss mean((y - Y)^2)
"""


def test_every_kind_of_end_is_read():
    checked = check_text(BOUNDED, "m.gd")
    bounds = {p.name: p.bounds for p in checked.params}
    assert bounds == {"k": Interval(0.0, math.inf, True, True), "p": Interval(0.0, 1.0, False, False),
                      "c": Interval(-math.inf, -1.0, False, True), "W": Interval(-1.0, 1.0, False, True),
                      "v": Interval(0.0, 2 * math.pi, True, False)}


def test_bounds_print_back_to_the_same_program():
    program = lower(BOUNDED)
    assert lower(unparse(program)) == program
    assert "k = 0.5 in (0, inf)" in unparse(program) and "W[2, 3] in [-1, 1)" in unparse(program)


def test_a_mixed_bracket_closes_only_an_interval():
    lower("param k in [0, 1)\nmodel y = k*x\nloss mean((y - Y)^2)\n")   # newlines still end statements
    with pytest.raises(Exception, match="unbalanced|unexpected"):
        lower("model y = (k*x]\nloss mean((y - Y)^2)\n")


def test_in_is_still_a_name_elsewhere():
    checked = check_text("model y = in*x\nloss mean((y - Y)^2)\n", "m.gd")
    assert checked.param_names == ("in",)


def test_the_module_keeps_the_bounds_and_a_model_without_them_has_no_bounds_constant():
    assert "BOUNDS" not in source("param k = 0.5\ndata x, Y\nmodel y = k*x\nloss mean((y - Y)^2)\n")
    kernels = compile_model("param k = 0.5 in (0, inf), b in [-1, 1]\ndata x, Y\nmodel y = k*x + b\n"
                            "loss mean((y - Y)^2)\n")
    assert kernels.bounds == {"k": Interval(0.0, math.inf, True, True), "b": Interval(-1.0, 1.0)}


def test_derive_lists_the_bounds_where_it_lists_the_parameters():
    text = render(derive("param k = 0.5 in (0, inf), b\ndata x, Y\nmodel y = k*x + b\nloss mean((y - Y)^2)\n"),
                  "text")
    assert "Parameters: k in (0, inf), b (declared with param)" in text
    plain = render(derive("param k = 0.5, b\ndata x, Y\nmodel y = k*x + b\nloss mean((y - Y)^2)\n"), "text")
    assert "Parameters: k, b (declared with param)" in plain
