"""A gdc command sets numba up without SciPy's linear algebra (gdc.runtime.numba_start), and that
changes nothing gdc computes: no compiled code of gdc calls BLAS, and a fit gives the same bits."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap

from locations import EXAMPLES, GOLDEN, ROOT

# The numba functions that BLAS would serve: np.dot, np.linalg, np.matmul and the @ operator.
BLAS = re.compile(r"np\.(dot|linalg|matmul|vdot|inner|outer)\b|\s@\s")

FIT = textwrap.dedent("""
    import io, json, sys, contextlib
    if sys.argv[1] == "with-scipy":
        import scipy.linalg   # numba then finds BLAS, as in a user's process
    from gdc.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["fit", sys.argv[2], sys.argv[3], "--map", "x=height,Y=weight", "--json"])
    result = json.loads(out.getvalue())
    print(json.dumps({"status": status, "params": [repr(v) for v in result["params"].values()],
                      "loss": repr(result["loss"]), "scipy_linalg": "scipy.linalg" in sys.modules,
                      "blas": __import__("numba.np.arraymath").np.arraymath._HAVE_BLAS}))
""")


def _fit(mode: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", FIT, mode, str(EXAMPLES / "linear.gd"),
                           str(EXAMPLES / "students.csv")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_fit_skips_scipy_linalg_and_gives_the_same_bits_as_with_it():
    hidden, usual = _fit("plain"), _fit("with-scipy")
    assert hidden["status"] == usual["status"] == 0
    assert not hidden["scipy_linalg"] and not hidden["blas"]   # the start-up saving happened
    assert usual["scipy_linalg"] and usual["blas"]
    assert hidden["params"] == usual["params"] and hidden["loss"] == usual["loss"]


def _compiled_functions(text: str) -> list[str]:
    """The source of every function of `text` decorated with a numba jit."""
    tree = ast.parse(text)
    return [ast.get_source_segment(text, node) for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and "jit" in " ".join(ast.unparse(d) for d in node.decorator_list)]


def _helper_texts() -> list[str]:
    """The numba helpers the generated modules carry (printer.HELPERS, loops.LOOP_HELPERS)."""
    from gdc.codegen.loops import LOOP_HELPERS
    from gdc.codegen.printer import HELPERS
    return [HELPERS, LOOP_HELPERS]


def test_no_compiled_code_of_gdc_calls_blas():
    """What makes hiding SciPy safe: the generated kernels (the golden module, the helpers every
    module carries) and gdc's own numba functions never reach for BLAS."""
    texts = [(GOLDEN / "codegen" / "linear.py").read_text(encoding="utf-8"), *_helper_texts()]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "gdc").rglob("*.py")]
    functions = [f for text in texts for f in _compiled_functions(text)]
    assert len(functions) > 20   # the scan sees the kernels and the helpers
    for source in functions:
        assert not BLAS.search(source), source
