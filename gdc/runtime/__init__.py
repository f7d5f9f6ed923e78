"""Below the compiler: the generated module on disk (the cache) and its calling convention (numpy + numba only)."""
