"""The front end: parsing, checking, error messages (golden), classification, round trip."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdc.language import ir
from gdc.cli import main
from gdc.errors import GdcError
from gdc.language.frontend import check_source, check_text
from gdc.language.lower import lower
from gdc.calculus.symbolic import symbolic
from gdc.language.unparse import unparse
from locations import TESTS

HERE = TESTS
BAD = sorted((HERE / "bad").glob("*.gd"))


def front_end(path: Path):
    """Every stage up to the sympy model, where all user errors in a model file are found."""
    return symbolic(check_text(path.read_text(encoding="utf-8"), path.name))


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_model_message(path, golden):
    with pytest.raises(GdcError) as info:
        front_end(path)
    golden(f"errors/{path.stem}.txt", info.value.render() + "\n")


def test_every_positioned_error_points_into_the_file():
    for path in BAD:
        with pytest.raises(GdcError) as info:
            front_end(path)
        text = info.value.render()
        assert text.startswith(f"{path.name}:"), text
        if info.value.span is not None:
            assert f"{path.name}:{info.value.span.line}:{info.value.span.col}: error: " in text
            assert "^" in text


@pytest.mark.parametrize("content, expected", [
    (None, "no such file"),
    (b"model y = m*x\0", "is not a text file"),
    (b"model y = \xff\xfe m*x\n", "is not UTF-8 text"),
])
def test_unreadable_files_exit_nonzero_without_traceback(tmp_path, capsys, content, expected):
    path = tmp_path / "model.gd"
    if content is not None:
        path.write_bytes(content)
    assert main(["derive", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: error: ") and expected in err
    assert "Traceback" not in err


def test_directory_is_not_a_model(tmp_path, capsys):
    assert main(["derive", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["", "  "])
def test_blank_model_text_is_an_empty_model_not_the_current_folder(text, capsys):
    """'' named the current folder (Path('') is '.'): 'is a directory, not a model file'."""
    assert main(["derive", text]) == 1
    err = capsys.readouterr().err
    assert err.startswith("<string>: error: the model file is empty") and "directory" not in err


def test_design_card_one_liner():
    model = check_source("model y = m*x + b; loss mean((y - Y)^2)")
    assert model.param_names == ("m", "b")
    assert model.data_names == ("x", "Y")
    assert [str(p.origin) for p in model.params] == ["naming rule", "naming rule"]


@pytest.mark.parametrize("text, params, data", [
    # declaring one kind makes every other undeclared name the other kind
    ("param m, b\nmodel y = m*height + b\nloss mean((y - weight)^2)", ("m", "b"), ("height", "weight")),
    ("data height, weight\nmodel y = m*height + b\nloss mean((y - weight)^2)", ("m", "b"), ("height", "weight")),
    # the naming rule: uppercase initial, or x / t with an optional suffix, is data
    ("model y = a*exp(-k*t) + c; loss mean((y - Y)^2)", ("a", "k", "c"), ("t", "Y")),
    ("model y = w1*x1 + w2*x_2 + b; loss mean((y - Target)^2)", ("w1", "w2", "b"), ("x1", "x_2", "Target")),
])
def test_classification(text, params, data):
    model = check_source(text)
    assert model.param_names == params
    assert model.data_names == data


def test_data_names_override_the_naming_rule():
    model = check_source("model y = m*height + b; loss mean((y - weight)^2)", data_names=["height", "weight"],
                         data_origin="the CSV header")
    assert model.param_names == ("m", "b")
    assert model.data_names == ("height", "weight")
    assert str(model.data[0].origin) == "the CSV header"


def test_initial_values_and_definitions():
    model = check_source("param m = 2*pi, b = -.5e1\nlet r = y - Y\nmodel y = m*x + b\nloss mean(r^2)".replace(
        "let r = y - Y\nmodel y = m*x + b", "model y = m*x + b\nlet r = y - Y"))
    assert [p.init for p in model.params] == [pytest.approx(6.283185307179586), -5.0]
    assert [d.name for d in model.definitions] == ["y", "r"]


def test_newlines_inside_brackets_and_comments():
    text = "model y = m*(x +   # a comment\n   1) + b\n\n; ; loss mean((y -\n Y)^2) # end\n"
    assert lower(text) == lower("model y = m*(x + 1) + b; loss mean((y - Y)^2)")


def test_power_and_unary_minus_bind_like_mathematics():
    (stmt,) = lower("model y = -x^2^-1").statements
    assert stmt.expr == ir.Neg(ir.BinOp("^", ir.Var("x"), ir.BinOp("^", ir.Num(2), ir.Neg(ir.Num(1)))))
    (stmt,) = lower("model y = a - b - c / d / e").statements
    assert stmt.expr.left == ir.BinOp("-", ir.Var("a"), ir.Var("b"))
    assert stmt.expr.right == ir.BinOp("/", ir.BinOp("/", ir.Var("c"), ir.Var("d")), ir.Var("e"))


@pytest.mark.parametrize("literal, value", [("5", 5), ("5.", 5), (".5", Fraction(1, 2)),
                                            ("2.5e-3", Fraction(25, 10000)), ("1E3", 1000), ("0.1", Fraction(1, 10))])
def test_number_literals_are_exact(literal, value):
    (stmt,) = lower(f"loss {literal}").statements
    assert stmt.expr.value == value


# ------------------------------------------------------------------ properties

_names = st.sampled_from(["m", "b", "x", "Y", "w_1", "t", "r2"])
_funcs1 = st.sampled_from(["exp", "log", "sqrt", "abs", "sin", "tanh", "sigmoid", "softplus"])


def _numbers():
    return st.fractions(min_value=0, max_value=1000, max_denominator=1).map(ir.Num) | \
        st.sampled_from(["0.5", "0.25", "1.5", "0.001"]).map(lambda t: ir.Num(Fraction(t)))


_elements = st.tuples(st.sampled_from(["w", "W"]), st.lists(st.integers(0, 12), min_size=1, max_size=2)) \
    .map(lambda t: ir.Element(t[0], tuple(t[1])))

_exprs = st.recursive(
    _numbers() | _names.map(ir.Var) | _elements,
    lambda inner: st.one_of(
        inner.map(ir.Neg),
        st.tuples(st.sampled_from("+-*/^@"), inner, inner).map(lambda t: ir.BinOp(*t)),
        st.tuples(inner, inner).map(lambda t: ir.Call("dot", t)),
        st.tuples(_funcs1, inner).map(lambda t: ir.Call(t[0], (t[1],))),
        st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(lambda t: ir.Call(t[0], (t[1], t[2]))),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(_exprs, _exprs)
def test_printing_and_parsing_back_gives_the_same_model(model_expr, loss_expr):
    program = ir.Program((
        ir.ParamDecl((ir.ParamItem("m", (), ir.Num(1)), ir.ParamItem("b", (), None))),
        ir.ModelDef("y", model_expr),
        ir.LossDef(ir.Call("mean", (loss_expr,))),
    ))
    assert lower(unparse(program)) == program


_TOKENS = ["model", "loss", "param", "data", "let", "y", "=", "m", "x", "Y", "*", "+", "-", "/", "^", "**",
           "(", ")", "[", "]", ",", ";", "\n", "mean", "exp", "2", ".5", "1e3", "#c\n", " ", "$", "max", "sigmod",
           "@", "dot", "sum", "w[0]", "x[d]", "W[2, d]"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(_TOKENS), max_size=30).map(" ".join)))
def test_random_text_fails_only_with_a_gdc_error(text):
    try:
        check_text(text, "fuzz.gd")
    except GdcError as exc:
        assert exc.render().startswith("fuzz.gd")


def test_typographic_operators_from_papers():
    assert lower("model y = m×x − b·c ÷ d; loss mean((y − Y)^2)") == \
        lower("model y = m*x - b*c/d; loss mean((y - Y)^2)")


def test_typographic_comparisons_are_the_ascii_ones():
    """The README: a condition may be written with ≤ and ≥ (of pasted formulas), as <= and >=."""
    typographic = lower("model y = where(x ≤ c, a, where(x ≥ d, b, 0)); loss mean((y - Y)^2)")
    ascii_form = lower("model y = where(x <= c, a, where(x >= d, b, 0)); loss mean((y - Y)^2)")
    assert unparse(typographic) == unparse(ascii_form)
    assert "where(x <= c, a, where(x >= d, b, 0))" in unparse(typographic)


_SHAPED_TOKENS = ["w", "x", "W", "b", "Y", "@", "dot(", "sum(", "mean(", "tanh(", ")", ",", "+", "*", "-",
                  "w[0]", "W[1, 2]", "x[5]", "2", "(", "y"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_SHAPED_TOKENS), max_size=14).map(" ".join))
def test_random_shaped_formulas_fail_only_with_a_gdc_error(body):
    text = f"data x[d], Y\nparam w[d], W[3, d], b\nmodel y = {body}\nloss mean((y - Y)^2)\n"
    try:
        symbolic(check_text(text, "fuzz.gd"))
    except GdcError as exc:
        assert exc.render().startswith("fuzz.gd")


@pytest.mark.parametrize("text, data_names, expected", [
    ("param m\nmodel y = m*x\nloss mean((y - Y)^2)", None,
     {"m": "declared", "x": "not declared a parameter", "Y": "not declared a parameter"}),
    ("data x, Y\nmodel y = m*x\nloss mean((y - Y)^2)", None,
     {"m": "not declared as data", "x": "declared", "Y": "declared"}),
    ("model y = m*x + b\nloss mean((y - Y)^2)", None, {"m": "naming rule", "b": "naming rule", "x": "naming rule"}),
    ("model y = m*h + b\nloss mean((y - W)^2)", ["h", "W"], {"m": "not in --data", "h": "--data", "W": "--data"}),
])
def test_each_name_says_why_it_is_a_parameter_or_data(text, data_names, expected):
    from gdc.explain.outline import origin_words
    from gdc.language.naming import How
    model = check_text(text, "<test>", data_names)
    origins = {v.name: v.origin for v in model.params + model.data}
    assert {name: str(origins[name]) for name in expected} == expected
    kinds = {("parameter", p.origin) for p in model.params} | {("data", d.origin) for d in model.data}
    assert len({origin_words(*kind) for kind in kinds}) == len(kinds)   # each reason has words of its own
    assert all(isinstance(o.how, How) for o in origins.values())
