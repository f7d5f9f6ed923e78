"""The Python interface: `gdc.compile(model)` gives the kernels, `gdc.api.source(model)` their code.

The compiler runs here, one pass after another; a cached model skips all of them (load.py).
"""

from __future__ import annotations

import os
from typing import Iterable

from .runtime.kernels import Kernels
from .runtime.cache import load_kernels, model_key, read_model


def compile(source: str | os.PathLike, data_names: Iterable[str] | None = None) -> Kernels:  # noqa: A001
    """The compiled kernels of a model, given as a `.gd` path or as model text (cached on disk)."""
    return load_kernels(source, data_names)


def source(source: str | os.PathLike, data_names: Iterable[str] | None = None,
           data_origin: str = "--data") -> str:
    """The generated module's text: what `gdc compile` writes and `compile` imports."""
    where, text = read_model(source)
    names = None if data_names is None else tuple(data_names)
    return generate_source(text, where, names, data_origin, model_key(text, names))


def generate_source(text: str, where: str, data_names: Iterable[str] | None, data_origin: str,
                    model_hash: str) -> str:
    """Model text to module text, through every stage of the compiler."""
    from .codegen.scalar import generate
    from .language.frontend import check_text
    from .calculus.symbolic import symbolic

    checked = check_text(text, where, data_names, data_origin)  # parse, lower, check
    model = symbolic(checked)                                    # sympy expressions
    return generate(model, model_hash)                           # derive, stabilize, print
