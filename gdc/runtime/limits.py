"""Limits the compiler and the runtime share (plain numbers, no imports: the command line's help reads them)."""

# Second-order kernels (jtj_jtr, residuals_jacobian, loss_grad_hess) are generated for scalar
# models of at most this many parameters: each pass accumulates p(p+1)/2 sums.
MAX_SECOND_ORDER = 50
