"""gdc: a symbolic-to-numeric derivation compiler for gradient descent.

Importing gdc is cheap: sympy and lark load only when a model has to be derived or compiled.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # `gdc.compile` and `gdc.fit` are imported on first use, so `import gdc` stays cheap.
    if name == "compile":
        from .api import compile
        return compile
    if name in ("fit", "FitResult"):
        from .fitting import run as fitting
        return getattr(fitting, name)
    raise AttributeError(f"module 'gdc' has no attribute {name!r}")
