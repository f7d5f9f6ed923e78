"""The frame of every generated module: its opening, its joining, and the check of its names.

The opening is the model's text as comments, the docstring, the imports, the constants the
runtime reads and the jit options; the check parses the module and allows only gdc's names.
"""

from __future__ import annotations

import ast
import re

from gdc.version import __version__
from gdc.errors import InternalError
from gdc.runtime.intervals import Interval, bounds_source
from .printer import HELPER_NAMES

# Chunks of the parallel kernel: fixed, so its sums do not depend on the number of threads.
N_CHUNKS = 64

# Keeps NaN and inf (divergence detection needs them) but lets LLVM vectorize the sums.
FASTMATH = "{'contract', 'reassoc'}"

# The decorators of the generated functions (the dicts are defined in `module_options`).
JIT = "@numba.njit(**_JIT)"
JIT_PARALLEL = "@numba.njit(**_JIT_PARALLEL)"

# Names every generated module uses; each generator adds its own, and user names are always
# a prefix (`p_`, `d_`, ...) + a checked name (printer.py).
FIXED_NAMES = frozenset({
    "math", "numba", "np", "_JIT", "_JIT_PARALLEL", "_JIT_EXACT", "N_CHUNKS", "GDC_VERSION", "MODEL_HASH",
    "PARAM_NAMES", "DATA_NAMES", "INPUT_NAMES", "INITIAL", "BOUNDS", "LSQ_SCALE", "LSQ_MEAN", "KINKS",
    "MODEL_NAME", "MODEL_FORMULA", "params", "grad_out",
    "grad", "lr", "order", "batch_size", "n", "m", "i", "c", "lo", "hi", "chunks", "total", "inv_n", "out",
    "abs", "range", "min", "max", "dict", "ValueError", "IndexError", "loss", "loss_grad",
    "loss_grad_parallel", "sgd_epoch", "minibatch_epoch", "predict", "_loss_sums", "_loss_finish", "_sums",
    "_sums_at", "_finish", "jtj_out", "jtr_out", "r_out", "jac_out", "jtj_jtr", "residuals_jacobian",
}) | HELPER_NAMES


# ------------------------------------------------------------------ the opening

def comment_line(line: str) -> str:
    """A line that cannot end a Python comment early: control characters are escaped."""
    return "".join(ch if ch.isprintable() or ch == "\t" else ascii(ch)[1:-1] for ch in line)


def model_comment(source: str, where: str) -> str:
    """The model's text as comment lines, opening the module."""
    model = "\n".join("# " + comment_line(line) for line in source.splitlines())
    return f"#\n# model ({comment_line(where)}):\n{model}\n"


def header(comment: str, doc: str, constants: dict[str, object], lsq_scale, lsq_mean: bool,
           kinks: tuple[str, ...] = (), bounds: dict[str, Interval] | None = None) -> str:
    """Comment lines, the docstring, the imports, then `constants` (and BOUNDS, only for a model
    with bounds: other modules stay as they were) and the module options."""
    values = "".join(f"{name} = {value!r}\n" for name, value in constants.items())
    values += bounds_source(bounds) if bounds else ""
    return (f'{comment}"""{doc}"""\n\nimport math\n\nimport numba\nimport numpy as np\n\n'
            f"GDC_VERSION = {__version__!r}\n{values}" + module_options(lsq_scale, lsq_mean, kinks))


def module_options(lsq_scale, lsq_mean: bool, kinks: tuple[str, ...] = ()) -> str:
    """The last constants of every generated module: chunks, least-squares form, kinks, jit options."""
    return f'''N_CHUNKS = {N_CHUNKS}
LSQ_SCALE = {lsq_scale!r}  # loss = LSQ_SCALE·Σr² (÷N when LSQ_MEAN); None: not least squares
LSQ_MEAN = {lsq_mean!r}
KINKS = {kinks!r}  # the parameters inside an abs, max or min of the loss

_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath={FASTMATH})
_JIT_PARALLEL = dict(_JIT, parallel=True)
_JIT_EXACT = dict(_JIT, fastmath={{'contract'}})
'''


# ------------------------------------------------------------------ the whole

def join(parts: list[str]) -> str:
    """The module text: its parts, one blank line apart."""
    return "\n\n".join(part.rstrip("\n") + "\n" for part in parts)


def _walk_generated(tree: ast.AST, helpers: frozenset):
    """Every node outside the fixed helper functions (whose text never changes); without
    recursion, since a long sum is as deep as it has terms."""
    todo = list(ast.iter_child_nodes(tree))[::-1]
    while todo:
        node = todo.pop()
        yield node
        if not (isinstance(node, ast.FunctionDef) and node.name in helpers):
            todo.extend(list(ast.iter_child_nodes(node))[::-1])


def check_module(body: str, fixed: frozenset, mangled: re.Pattern,
                 attributes: frozenset = frozenset({"shape"}), helpers: frozenset = HELPER_NAMES) -> None:
    """The module parses, and every name in it is gdc's own (`fixed`, the helpers) or a
    mangled user name; attributes only of math, numba and np, or those in `attributes`."""
    try:
        tree = ast.parse(body)
    except SyntaxError as exc:
        raise InternalError(f"codegen produced invalid Python: {exc}") from None
    for node in _walk_generated(tree, helpers):
        name = (node.id if isinstance(node, ast.Name) else node.arg if isinstance(node, ast.arg)
                else node.name if isinstance(node, ast.FunctionDef) else None)
        if name is not None and name not in fixed and not mangled.fullmatch(name):
            raise InternalError(f"codegen produced the unexpected name {name!r}")
        if isinstance(node, ast.Attribute) and not (
                isinstance(node.value, ast.Name) and node.value.id in ("math", "numba", "np")
                or node.attr in attributes):
            raise InternalError(f"codegen produced an unexpected attribute {node.attr!r}")
