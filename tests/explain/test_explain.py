"""gdc.explain and `gdc derive`: golden derivations in every format, and the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gdc.calculus import rules
from gdc.cli import main
from gdc.cli.derive import use_color
from gdc.calculus.derive import derive
from gdc.explain import FORMATS, render
from gdc.language.frontend import check_text
from gdc.calculus.symbolic import symbolic
from locations import TESTS, EXAMPLES

NAMES = sorted(p.stem for p in EXAMPLES.glob("*.gd"))


@pytest.fixture(scope="module")
def derivations():
    out = {}
    for name in NAMES:
        text = (EXAMPLES / f"{name}.gd").read_text(encoding="utf-8")
        out[name] = derive(symbolic(check_text(text, f"examples/{name}.gd")))
    return out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", NAMES)
def test_golden(derivations, golden, name, fmt):
    golden(f"derive/{name}.{fmt}", render(derivations[name], fmt))


def test_text_uses_unicode_math(derivations):
    text = render(derivations["linear"], "text")
    for piece in ("J = 1/N Σᵢ (yᵢ − Yᵢ)²", "∂J/∂m = 2/N Σᵢ (m·xᵢ + b − Yᵢ)·xᵢ", "u₁ = yᵢ − Yᵢ",
                  "power rule: d/du₁ u₁² = 2u₁ ✓", "m ← m − α·Errorᵢ·xᵢ", "\u2713"):
        assert piece in text, piece
    assert "\x1b[" not in text
    logistic = render(derivations["logistic"], "text")
    assert "∂J/∂w₁ = 1/N Σᵢ (σ(w₁·x₁ᵢ + w₂·x₂ᵢ + b) − Yᵢ)·x₁ᵢ" in logistic
    assert "stable form: log(1 − σ(z)) = −softplus(z)" in logistic


def test_bold_rule_names_only_on_request(derivations):
    bold = render(derivations["origin"], "text", color=True)
    assert "\x1b[1mpower rule\x1b[0m" in bold


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(_Stream(True)) and not use_color(_Stream(False))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(_Stream(True))


def _balanced(text: str) -> bool:
    depth = 0
    for k, c in enumerate(text):
        if c in "{}" and k and text[k - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("name", NAMES)
def test_latex_is_balanced_and_plain(derivations, name):
    tex = render(derivations[name], "latex")
    assert _balanced(tex)
    assert tex.count(r"\left(") == tex.count(r"\right)")
    assert all(ord(c) < 128 for c in tex), "LaTeX output must be ASCII"
    assert tex.count("$") % 2 == 0


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles(derivations, tmp_path):
    body = "\n".join(render(derivations[name], "latex") for name in NAMES)
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath}\n"
                                      "\\begin{document}\n" + body + "\\end{document}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]


@pytest.mark.parametrize("name", NAMES)
def test_markdown_math_is_delimited(derivations, name):
    lines = render(derivations[name], "markdown").splitlines()
    assert lines.count("$$") % 2 == 0
    display = False
    for line in lines:
        if line == "$$":
            display = not display
        elif not display:
            assert line.count("$") % 2 == 0, line


# ---------------------------------------------------------------- the command line


def test_cli_text(capsys):
    assert main(["derive", str(EXAMPLES / "linear.gd")]) == 0
    out = capsys.readouterr().out
    assert "Parameters: m, b (by the naming rule" in out and "Data: x, Y" in out
    assert "∂J/∂m = 2/N Σᵢ (m·xᵢ + b − Yᵢ)·xᵢ" in out


def test_cli_one_liner(capsys):
    assert main(["derive", "model y = m*x + b; loss mean((y - Y)^2)"]) == 0
    assert "∂J/∂b = 2/N Σᵢ (m·xᵢ + b − Yᵢ)" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_formats(capsys, fmt):
    assert main(["derive", str(EXAMPLES / "origin.gd"), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n") and len(out) > 200
    if fmt == "json":
        data = json.loads(out)
        assert data["partials"] == {"w": "2*mean(x*(-Y + x*w))"}
        assert set(data) >= {"parameters", "data", "loss", "partials", "updates", "steps"}
        step = data["steps"][0]
        assert {"rule", "before", "after", "verified"} <= set(step)


def test_cli_wrt(capsys):
    assert main(["derive", str(EXAMPLES / "linear.gd"), "--wrt", "m", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["partials"]) == ["m"] and list(data["updates"]) == ["m"]


@pytest.mark.parametrize("name", ["k", ""])   # --wrt '' showed every parameter, as if left out
def test_cli_wrt_unknown(capsys, name):
    assert main(["derive", str(EXAMPLES / "linear.gd"), "--wrt", name]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"`{name}` is not a parameter" in captured.err and "the parameters are m, b" in captured.err
    assert "Traceback" not in captured.err


def test_cli_data_override(capsys):
    assert main(["derive", "model y = a*h + c; loss mean((y - w)^2)", "--data", "h,w",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["data"] == ["h", "w"] and data["parameters"] == ["a", "c"]
    assert data["origins"] == {"a": "not in --data", "c": "not in --data", "h": "--data", "w": "--data"}


def test_cli_user_error(capsys, tmp_path):
    bad = tmp_path / "bad.gd"
    bad.write_text("model y = m*x + b\nloss mean((y - Y)^2\n")
    assert main(["derive", str(bad)]) == 1
    assert "bad.gd:" in capsys.readouterr().err


def test_cli_internal_error_prints_nothing_as_verified(capsys, monkeypatch):
    monkeypatch.setattr(rules.PowerRule, "outer_derivative", lambda self, e: e.base)
    assert main(["derive", str(EXAMPLES / "linear.gd")]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "internal error" in captured.err and "power rule" in captured.err


# ---------------------------------------------------------------- width and order


@pytest.mark.parametrize("width", [60, 80, 100])
@pytest.mark.parametrize("name", ["linear", "logistic", "network", "huber"])
def test_text_lines_fit_the_width_and_lose_nothing(derivations, name, width):
    """Every line fits (the examples have no unbreakable run that long), and joining the
    continuation lines gives back exactly the unbroken text."""
    wrapped = render(derivations[name], "text", width=width)
    assert max(len(line) for line in wrapped.splitlines()) <= width
    whole = render(derivations[name], "text", width=None)
    assert max(len(line) for line in whole.splitlines()) > 100   # so the wrapping was needed
    assert " ".join(wrapped.split()) == " ".join(whole.split())


def test_wrapping_prefers_an_operator_outside_brackets():
    from gdc.explain.wrap import wrap
    line = "   rule: ∂J/∂m = 1/N Σᵢ (yᵢ − Yᵢ + a − b + c − d)·xᵢ = 2/N Σᵢ (m·xᵢ + b − Yᵢ)·xᵢ ✓"
    first, second = wrap(line, 70)
    assert first.endswith("(yᵢ − Yᵢ + a − b + c − d)·xᵢ") and second.startswith("       = 2/N")
    assert wrap("\x1b[1mbold\x1b[0m " + "word " * 10, 60) == ["\x1b[1mbold\x1b[0m " + "word " * 10]
    assert wrap("x" * 150, 80) == ["x" * 150]   # nothing to break at: left whole, never cut


def test_the_cli_wraps_to_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "72")
    assert main(["derive", str(EXAMPLES / "logistic.gd")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 72 and any(len(line) > 60 for line in lines)


def test_textbook_order_puts_each_result_after_its_justification(derivations, golden):
    text = render(derivations["linear"], "text", order="textbook")
    golden("derive/linear.textbook.text", text)
    section = text.split("3. Shared by every parameter")[1].split("4. ")[0]
    order = [section.index(piece) for piece in ("let: u₁ = yᵢ − Yᵢ", "power rule: d/du₁ u₁² = 2u₁ ✓",
                                                "difference rule:", "chain rule: ∂ℓᵢ/∂yᵢ")]
    assert order == sorted(order)
    partial = text.split("4. ∂J/∂m")[1].split("5. ")[0]
    assert partial.index("constant multiple rule") < partial.index("sum rule") < partial.index("linearity:")
    assert "where u₁" not in text   # the inner name is introduced before its first use instead
    tree = render(derivations["linear"], "text")
    assert sorted(tree.splitlines()) != sorted(text.splitlines())   # a different order ...
    assert {line.strip() for line in tree.splitlines() if "✓" in line} - {
        line.strip() for line in text.splitlines() if "✓" in line} <= {  # ... of the same steps
        line.strip() for line in tree.splitlines() if "where u" in line}


def test_the_cli_takes_the_order(capsys):
    assert main(["derive", str(EXAMPLES / "linear.gd"), "--order", "textbook"]) == 0
    assert "let: u₁ = yᵢ − Yᵢ" in capsys.readouterr().out
