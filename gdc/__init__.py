"""gdc: a symbolic-to-numeric derivation compiler for gradient descent.

    gdc.derive(model)          the verified derivation (print it with gdc.explain.render)
    gdc.compile(model)         the numba kernels of a model (cached on disk)
    gdc.fit(model, data, ...)  fit the model to data (a file, a DataFrame, named arrays): a FitResult
    gdc.sweep(model, data, lr) the learning-rate experiment: one fit per rate
    gdc.load_result(path)      a FitResult read back from result.save / gdc fit --save

Importing gdc is cheap: sympy, lark and numba load only when a model is derived, compiled or fitted.
"""

from .api import compile, derive, fit, load_result, prepare, sweep  # cheap: api imports the stages inside its functions
from .version import __version__

__all__ = ["compile", "derive", "fit", "load_result", "prepare", "sweep", "FitResult", "__version__"]


def __getattr__(name: str):
    # The result type lives with the fitting stage, which loads numpy; it is imported on first use.
    if name == "FitResult":
        from .fitting.problem import FitResult
        return FitResult
    if name == "sklearn":   # the estimators load scikit-learn, so only when asked for
        import importlib
        return importlib.import_module("gdc.sklearn")
    raise AttributeError(f"module 'gdc' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
