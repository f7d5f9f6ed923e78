"""numba's start-up for a gdc command: its compiler set up without importing SciPy.

numba sets up its compiler on the first compile or cached load of a process, and checks then
whether BLAS is there by importing `scipy.linalg.cython_blas`. That import runs all of
`scipy.linalg` and, through SciPy's array-API layer, `numpy.f2py` and `numpy.testing`: 0.2–0.3 s
of CPU on the development machine (benchmarks/README.md, start-up), a third of a warm
`gdc fit`. No gdc kernel and no gdc helper calls BLAS (`np.dot`, `@`, `np.linalg`) in compiled
code: the generated kernels are loops, and gdc's linear algebra runs in NumPy, outside numba.
So a gdc command sets numba up with `scipy.linalg` hidden; numba then records that it has no
BLAS, and would use its own loop for an `np.dot` of two vectors, in this process only.

Only the command line does this: a user's own process (`import gdc`) may run numba code of its
own that needs BLAS, and there numba starts as usual.
"""

from __future__ import annotations

import sys

_HIDDEN = "scipy.linalg"


def start_numba() -> None:
    """Set up numba's compiler now, with scipy.linalg hidden; nothing when numba is set up already
    or SciPy's linear algebra is imported already (then hiding it would save nothing)."""
    if _HIDDEN in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    sys.modules[_HIDDEN] = None   # an import of it, or of a module inside it, raises ImportError
    try:
        from numba.core.registry import cpu_target
        cpu_target.target_context.refresh()
    finally:
        del sys.modules[_HIDDEN]
