"""Numba books: array-only `*_nb` kernels, record dtypes and reason codes. Imports numpy/numba only."""
