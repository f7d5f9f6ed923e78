"""numba.njit for gdc's own compiled helpers: cached on disk where numba can, in memory where not."""

from __future__ import annotations

import numba

from gdc.errors import notice


def cached_njit(**options):
    """`numba.njit(cache=True, **options)`, or an in-memory compile, with a one-line notice,
    when numba has nowhere to write its cache (a read-only install and a read-only home):
    numba then refuses at decoration time ("no locator available"), which would stop every fit."""
    def decorate(func):
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError as exc:
            if "no locator available" not in str(exc):
                raise
            notice("numba has no writable folder for its cache (the install and the home folder are "
                   "read-only): gdc's helpers are compiled in memory for this run (set NUMBA_CACHE_DIR "
                   "to a folder you can write)")
            return numba.njit(**options)(func)
    return decorate
