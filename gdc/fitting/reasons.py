"""Why a fit stopped: one enum for every method, so that `converged` means one thing everywhere."""

from __future__ import annotations

from enum import StrEnum


class Stop(StrEnum):
    """The reason a fit stopped. A str, so `result.reason == "gtol"` and JSON output keep working.

    A fit is converged only when a test that the method cannot fool holds at the parameters it
    returns, with a finite loss and gradient (gdc.fitting.verdict): the stop rule that ended the
    loop is the first half of the reason, the certificate checked there the second."""

    GTOL = "gtol"                # the gradient norm fell to --gtol (lm: J ⟂ r to working precision)
    TOL = "tol"                  # the loss stopped changing (--tol), and the certificate holds
    XTOL = "xtol"                # second order: the step became negligible beside the parameters
    FTOL = "ftol"                # second order: actual and predicted reductions negligible
    NEAR_MINIMUM = "near_minimum"  # stochastic: the best iterate's estimated gap is within the tolerance
    SUBGRADIENT = "subgradient"  # bundle: a small subgradient with a small linearization error
    MAX_EPOCHS = "max_epochs"    # the epoch (iteration) limit, before any test held
    STALLED = "stalled"          # the steps stopped lowering the loss, but no test holds
    NOISY = "noisy"              # stochastic: the loss did not settle near a minimum
    SADDLE = "saddle"            # some partials are exactly zero at the start and stay zero
    PLATEAU = "plateau"          # the model saturated (a column of J vanished), or the loss is flat in a parameter
    AT_INFINITY = "at_infinity"  # the loss keeps falling as the parameters grow: no finite minimum
    UNBOUNDED = "unbounded"      # the loss goes to −∞
    NOT_FINITE = "not_finite"    # the loss or the gradient at the parameters found is inf or NaN
    UNDEFINED = "undefined"      # the loss or its gradient is not finite at the start
    DIVERGED = "diverged"        # the loss grew without bound or became NaN during the fit
    INTERRUPTED = "interrupted"  # Ctrl-C
    LOADED = "loaded"            # a result read back from a file that does not say why it stopped

    @property
    def converged(self) -> bool:
        return self in _CONVERGED

    @property
    def failed(self) -> bool:
        """No parameters worth reporting: gdc.fit raises FitFailed, `gdc fit` exits with status 1."""
        return self in _FAILED


_CONVERGED = frozenset({Stop.GTOL, Stop.TOL, Stop.XTOL, Stop.FTOL, Stop.NEAR_MINIMUM, Stop.SUBGRADIENT})
_FAILED = frozenset({Stop.DIVERGED, Stop.UNBOUNDED, Stop.UNDEFINED, Stop.SADDLE})
