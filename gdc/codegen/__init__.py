"""Stage 4, sympy → numba source: the kernel plans, printers and generators of a model's module."""
