"""Write issue 13's corpus of hostile files (models and data) and what gdc must say about each.

    python tests/corpus/make_corpus.py

The files are committed; this script says how each was made. `expected.json` maps a file to
"ok" (gdc derives it, or reads it) or to words its positioned user error must contain; the
test (tests/test_corpus.py) runs `gdc derive` and `gdc compile` on every model and reads
every data file, and holds gdc to exit 0 or 1, never 3, never a traceback.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LOSS = "\nloss mean((y - Y)^2)\n"


def models() -> dict[str, tuple[bytes | str, str]]:
    """name -> (file content, expected: "ok" or words of the error)."""
    line = lambda body: "model y = " + body + LOSS   # noqa: E731
    return {
        # Long sums and products: handled up to the stated limit, refused past it.
        "sum_1000_terms": (line("m*x + b + " + " + ".join(f"{k}e-6*x" for k in range(1, 999))), "ok"),
        "sum_1001_terms": (line("m*x + b + " + " + ".join(f"{k}e-6*x" for k in range(1, 1000))),
                           "this sum has more than 1,000 terms"),
        "sum_10000_terms": (line("m*x + " + " + ".join(["b"] * 10000)), "this sum has more than 1,000 terms"),
        "product_2000_factors": (line("m*" + "*".join(["x"] * 2000) + " + b"), "more than 1,000 factors"),
        # Nesting: handled to the stated depth, refused past it.
        "parens_500": (line("m*" + "(" * 500 + "x" + ")" * 500 + " + b"), "ok"),
        "parens_5000": (line("m*" + "(" * 5000 + "x" + ")" * 5000 + " + b"), "ok"),
        "calls_90": (line("m*" + "sin(" * 90 + "x" + ")" * 90 + " + b"), "ok"),
        "calls_200": (line("m*" + "sin(" * 200 + "x" + ")" * 200 + " + b"), "nests more than 100 levels"),
        "negations_10000": (line("m*x + " + "-" * 10000 + "b"), "nests more than 100 levels"),
        "powers_1000": (line("m*x + " + "^".join(["b"] * 1000)), "nests more than 100 levels"),
        "let_sin_chain_200": ("param a\ndata x, Y\nlet s0 = x\n" + "".join(
            f"let s{k + 1} = sin(s{k})\n" for k in range(200)) + "model y = a*s200" + LOSS,
            "nests more than 100 levels deep (counting the `let` definitions it uses)"),
        "let_square_chain_200": ("param a\ndata x, Y\nlet s0 = x\n" + "".join(
            f"let s{k + 1} = s{k}^2\n" for k in range(200)) + "model y = a*s200" + LOSS,
            "nests more than 100 levels deep (counting the `let` definitions it uses)"),
        "let_square_chain_70": ("param a\ndata x, Y\nlet s0 = x\n" + "".join(
            f"let s{k + 1} = s{k}^2\n" for k in range(70)) + "model y = a*s70" + LOSS,
            "holds the exponent 9223372036854775808, past what the kernels can compute in float64"),
        "matmul_chain_150": ("param W[3, 3]\ndata x[3], Y\nmodel y = sum(" + " @ ".join(["W"] * 150) + " @ x)"
                             + LOSS, "nests more than 100 levels"),
        # Many parameters.
        "poly_1000_params": (line(" + ".join(f"a{k}*x^{k}" for k in range(1000))), "1000 parameters; gdc derives at most 200"),
        "declare_1000_params": ("param " + ", ".join(f"p{k}" for k in range(1000)) + "\ndata x, Y\nmodel y = p0*x + p999"
                                + LOSS, "1000 parameters; gdc derives at most 200"),
        # Numbers float64 cannot hold.
        "number_1e-320": (line("m*x + 1e-320"), "too small for a float64"),
        "number_1e400": (line("m*x + 1e400"), "too large for a float64"),
        "number_2e308": (line("m*x + 2e308*b"), "too large for a float64"),
        "number_1e999999999": (line("m*x + 1e999999999"), "too large for a float64"),
        "number_exponent_990_digits": (line("m*x + 1e" + "9" * 990), "too large for a float64"),
        "number_5000_digits": (line("m*x + 1." + "0" * 5000), "gdc reads at most 1000"),
        "number_point_zeros_then_1": (line("m*x + 0." + "0" * 400 + "1"), "too small for a float64"),
        "power_2_1024": (line("m*x + 2^1024*b"), "`2^1024` overflows a float64"),
        "power_2_-1100": (line("m*x + 2^-1100*b"), "`2^-1100` underflows a float64"),
        "power_tower": (line("m*x + 2^2^2^2^2^2^2*b"), "overflows a float64"),
        "exp_1000": (line("m*x + exp(1000)*b"), "`exp(1000)` overflows"),
        "exp_-1000": (line("m*x + exp(-1000)*b"), "`exp(-1000)` underflows"),
        "product_of_huge_constants": (line("m*x + 1e200*1e200*b"), "overflows a float64"),
        "init_1e400": ("param a = 1e400, b\ndata x, Y\nmodel y = a*x + b" + LOSS, "too large for a float64"),
        "init_2_2000": ("param a = 2^2000, b\ndata x, Y\nmodel y = a*x + b" + LOSS, "overflows a float64"),
        "init_long_sum": ("param a = " + " + ".join(["1"] * 999) + ", b\ndata x, Y\nmodel y = a*x + b" + LOSS, "ok"),
        # Sizes and names.
        "size_1e20": ("size h = 1e20\nparam w[h]\ndata x, Y\nmodel y = sum(w)*x" + LOSS, "may hold at most 10,000,000"),
        "param_1e9": ("param w[1000000000]\ndata x, Y\nmodel y = sum(w)*x" + LOSS, "may hold at most 10,000,000"),
        "matrix_5000x5000": ("param W[5000, 5000]\ndata x[5000], Y\nmodel y = sum(W @ x)" + LOSS,
                             "would hold 25,000,000 values"),
        "index_1e30": ("param w[3]\ndata x, Y\nmodel y = w[1e30]*x" + LOSS, "may hold at most 10,000,000"),
        "name_100000": (line("a" * 100000 + "*x + b"), "this name has 100000 characters"),
        "name_255": (line("a" * 255 + "*x + b"), "ok"),
        # Bytes the lexer must refuse, and a continuation it refuses.
        "formfeed_after_continuation": ("model y = m*x + \\\f\n b" + LOSS, "unexpected character '\\\\'"),
        "escape_codes": (line("m*x + b\x1b[2J"), "unexpected character '\\x1b'"),
        "nul_byte": (line("m*x\0 + b").encode(), "not a text file"),
        "latin1": (line("m*x + b  # café").encode("latin-1"), "not UTF-8 text"),
        "bom_and_crlf": ("\ufeff" + line("m*x + b").replace("\n", "\r\n"), "ok"),
        "lone_surrogate_escape": (line("m*x + b").encode() + b"\xed\xa0\x80", "not UTF-8 text"),
    }


def data(folder: Path) -> dict[str, str]:
    """Write the hostile data files; name -> "ok" or words of the error."""
    expected = {}

    def csv(name: str, content: bytes, outcome: str) -> None:
        (folder / name).write_bytes(content)
        expected[name] = outcome

    csv("header_escape_codes.csv", b"x,Y,\x1b]0;owned\x07\n1,2,3\n2,4,5\n", "ok")
    csv("nul_bytes.csv", b"x,Y\n1,\0\n", "the file is binary")
    csv("latin1_header.csv", "x,Ÿ\n1,2\n".encode("cp1252"), "not UTF-8 text")
    csv("only_header.csv", b"x,Y\n", "no data rows")
    csv("numbers_as_header.csv", b"1,2\n3,4\n", "holds numbers, not column names")
    csv("duplicate_columns.csv", b"x,x\n1,2\n", "like column 1")
    csv("ragged_rows.csv", b"x,Y\n1,2\n3\n", "this row has 1 fields")
    csv("overflowing_cell.csv", b"x,Y\n1,1e400\n", "is infinite")
    csv("unclosed_quote.csv", b'x,Y\n1,"2\n', "ok")   # the quote ends with the file: "2\n" is 2
    csv("thousands_separator.csv", b"x,Y\n1,\"1,000\"\n", "not a number")
    csv("unicode_digits.csv", "x,Y\n1,١٢\n".encode(), "not a number")
    csv("empty.csv", b"", "the file is empty")
    with zipfile.ZipFile(folder / "members_not_arrays.npz", "w") as archive:
        archive.writestr("x.txt", "hello")
        archive.writestr("Y.npy", "not an array")
    expected["members_not_arrays.npz"] = "is not"
    (folder / "truncated.npz").write_bytes(b"PK\x03\x04" + b"\0" * 20)
    expected["truncated.npz"] = "not a valid .npz file"
    np.save(folder / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    expected["objects.npy"] = "not a valid .npy file"
    np.save(folder / "strings.npy", np.array([("a", 1.0)], dtype=[("x", "U1"), ("Y", "f8")]))
    expected["strings.npy"] = "holds <U1 values, not numbers"
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
        pq.write_table(pa.table({"x": pa.array([1, 2 ** 63 - 1], pa.int64()), "Y": pa.array([1.0, 2.0])}),
                       folder / "int64_max.parquet")
        expected["int64_max.parquet"] = "ok"
        pq.write_table(pa.table({"x": pa.array(["a", "b"]), "Y": pa.array([1.0, 2.0])}), folder / "text.parquet")
        expected["text.parquet"] = "holds string values, not numbers"
    except ImportError:
        pass
    (folder / "not_parquet.parquet").write_bytes(b"PAR1 nothing else")
    expected["not_parquet.parquet"] = "not a valid Parquet file"
    return expected


def main() -> None:
    model_folder, data_folder = HERE / "models", HERE / "data"
    model_folder.mkdir(exist_ok=True)
    data_folder.mkdir(exist_ok=True)
    expected = {}
    for name, (content, outcome) in models().items():
        path = model_folder / f"{name}.gd"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        expected[f"models/{path.name}"] = outcome
    expected.update({f"data/{name}": outcome for name, outcome in data(data_folder).items()})
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
