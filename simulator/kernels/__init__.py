"""Numba books: array-only `*_nb` kernels, record dtypes, reason codes (numpy/numba only)."""
