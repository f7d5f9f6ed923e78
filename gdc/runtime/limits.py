"""Limits the compiler and the runtime share (plain numbers, no imports: the command line's help reads them)."""

# Second-order kernels (jtj_jtr, residuals_jacobian, loss_grad_hess) are generated for scalar
# models of at most this many parameters: each pass accumulates p(p+1)/2 sums.
MAX_SECOND_ORDER = 50

# The most values one vector or matrix parameter may hold (80 MB of float64): past it, a
# size from the data or a parameters file would allocate without bound. The language holds
# sizes written in the model to the same limit (here, so that `gdc derive` needs no numpy).
MAX_ELEMENTS = 10_000_000
