"""A model's named constants (`let NAME = NUMBER`): found, and set by rewriting the number in place."""

from __future__ import annotations

import pytest

from gdc.errors import GdcError
from gdc.language.constants import constants, with_constants
from gdc.language.frontend import check_text

TEXT = ("let lam = 0.01   # the penalty\nlet shift = -170\nlet h = (x + shift)/10\n"
        "model y = m*h + b\nloss mean((y - Y)^2) + lam*(m^2 + b^2)\n")


def test_only_plain_numbers_are_constants():
    assert constants(TEXT) == {"lam": 0.01, "shift": -170.0}   # h is an expression of data


@pytest.mark.parametrize("value", [0.5, -2.0, 1e-12, 3e20, 0])
def test_a_new_value_is_written_in_place_and_reads_back(value):
    text = with_constants(TEXT, {"lam": value})
    assert constants(text) == {"lam": float(value), "shift": -170.0}
    assert text.splitlines()[1:] == TEXT.splitlines()[1:] and "# the penalty" in text
    check_text(text)   # still a valid model


def test_several_constants_at_once():
    text = with_constants(TEXT, {"shift": 5, "lam": -0.25})
    assert constants(text) == {"lam": -0.25, "shift": 5.0}


@pytest.mark.parametrize("values, message", [
    ({"mu": 1.0}, "no constant 'mu'"),
    ({"h": 1.0}, "no constant 'h'"),
    ({"lam": "big"}, "must be a number"),
    ({"lam": float("inf")}, "must be finite"),
])
def test_wrong_values_are_user_errors(values, message):
    with pytest.raises(GdcError, match=message):
        with_constants(TEXT, values)
