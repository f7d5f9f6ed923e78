"""The derivation as HTML with MathML math, and as a notebook shows it (gdc.derive's result)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

import gdc
from gdc.calculus.derivation import Derivation
from gdc.cli import main
from gdc.explain import render
from gdc.explain.outline import Display, Heading, Line, Math, Paragraph, outline
from locations import EXAMPLES

MODELS = ["linear", "logistic", "breast_cancer", "network"]   # scalar, stable forms, index form, matrices


class Elements(HTMLParser):
    """Counts the elements of a fragment and checks that every one that opens also closes."""

    VOID = {"br", "hr", "img", "meta", "link", "input", "mspace", "none", "mprescripts"}

    def __init__(self):
        super().__init__()
        self.count: dict[str, int] = {}
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def math_parts(d: Derivation) -> int:
    """How many pieces of math the outline holds: each becomes one <math> element."""
    count = 0
    for block in outline(d):
        if isinstance(block, Display):
            count += 1 + sum(isinstance(p, Math) for p in block.remark)
        elif isinstance(block, (Heading, Paragraph)):
            count += sum(isinstance(p, Math) for p in block.parts)
        elif isinstance(block, Line):
            count += sum(isinstance(p, Math) for p in block.label + block.body)
    return count


@pytest.fixture(scope="module", params=MODELS)
def derivation(request):
    return gdc.derive(EXAMPLES / f"{request.param}.gd")


def test_every_piece_of_math_is_one_mathml_element(derivation):
    html = render(derivation, "html")
    parser = Elements()
    parser.feed(html)
    parser.close()
    assert not parser.open
    assert parser.count["math"] == math_parts(derivation) > 10
    assert "merror" not in parser.count          # latex2mathml understood every command
    assert parser.count.get("mfrac", 0) > 0 and parser.count.get("msub", 0) > 0
    steps = sum(isinstance(b, Line) for b in outline(derivation))
    assert html.count('class="step"') == steps and html.count("✓") == sum(
        b.verified for b in outline(derivation) if isinstance(b, Line))


def test_words_are_escaped_and_the_text_is_the_outlines(derivation):
    parser = Elements()
    parser.feed(render(derivation, "html"))
    words = "".join(parser.text)
    assert "Parameters:" in words and "Update rules, with learning rate" in words
    assert "<" not in words.replace("&lt;", "")


def test_notebooks_see_rendered_math_and_print_sees_text(derivation):
    assert isinstance(derivation, Derivation)
    assert derivation._repr_html_() == render(derivation, "html")
    assert derivation._repr_markdown_() == render(derivation, "markdown")
    assert str(derivation) == render(derivation, "text")
    latex = derivation._repr_latex_()
    assert latex.startswith("$$\\begin{gathered}") and latex.count("\\partial J") >= len(derivation.params)
    assert repr(derivation).startswith("<Derivation of ") and len(repr(derivation)) < 400


def test_derive_format_html_on_the_command_line(capsys):
    assert main(["derive", str(EXAMPLES / "linear.gd"), "--format", "html"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<style>") and out.count("<math") > 10
