"""`--method auto`: which method a fit runs, chosen from the loss's structure and its size."""

from __future__ import annotations

from gdc.runtime.kernels import Kernels
from .options import MAX_BUNDLE, MAX_NEWTON, MAX_STATISTICS, METHODS, Options


def choose_method(kernels: Kernels, options: Options) -> tuple[str, str | None]:
    """The method to run, and why when --method auto chose it (from the loss's structure).

    `kernels` counts one parameter per element: pass `problem.flat_kernels`."""
    if options.method != "auto":
        return options.method, None
    if options.lr is not None or options.schedule.kind != "constant":
        return "gd", "a learning rate or schedule was given, so gradient descent"
    method, why = _by_structure(kernels)
    if options.tolerances_given and method != "gd" and not METHODS[method].takes_tolerances:
        return "gd", f"--tol/--gtol were given, which {method} does not take, so gradient descent"
    return method, why


def _by_structure(kernels: Kernels) -> tuple[str, str]:
    size = len(kernels.param_names)   # kernels.flat(...): one name per element
    some = f"{size} parameter{'s' if size != 1 else ''}"
    if size > MAX_STATISTICS and kernels.kinks:
        return "gd", (f"{some}: too many for second-order steps (at most {MAX_STATISTICS}), so gradient "
                      "descent with automatic steps")
    if size > MAX_STATISTICS:
        return "lbfgs", (f"the loss is smooth; {some}: too many for second-order steps (at most "
                         f"{MAX_STATISTICS}), so L-BFGS")
    if kernels.kinks and size <= MAX_BUNDLE:
        return "bundle", (f"the loss has kinks (abs, max or min of {', '.join(kernels.kinks)}), where "
                          f"Newton and Levenberg–Marquardt stall; {some}")
    if kernels.jtj_jtr is not None:
        return "lm", f"the loss is a sum of squared residuals; {some}"
    if kernels.loss_grad_hess is not None and size <= MAX_NEWTON:
        return "newton", f"the loss is not a sum of squares; {some}, so its Hessian is cheap"
    if not kernels.kinks:
        return "lbfgs", (f"the loss is smooth and not a sum of squares; {some} and no Hessian kernel "
                         f"(shaped models, or more than {MAX_NEWTON} parameter values), so L-BFGS")
    return "gd", f"{some} and no second-derivative kernels, so gradient descent with automatic steps"
