"""Column statistics and ridge's normal equations read ``CHUNK_ROWS`` rows at a time.

A window's training rows (``n`` points x ``F`` features) are never held at once: a reader
``read(lo, hi)`` returns the rows ``lo:hi`` (``models.mapped.take``: paged on a spilled ``x``) and
the sums are carried from chunk to chunk. ``CHUNK_ROWS`` is fixed: it does not depend on the
budget ``features.memory_mb``, so results never do.

Exactness. numpy reduces an ``[n, F]`` C-contiguous float64 array over axis 0 row after row
(``0 + r0 + r1 + ...`` per column, no pairwise summation: that is for a reduction along the
contiguous axis). ``column_moments`` carries that accumulator exactly (the running sum is the
first row of the next chunk's reduction), so mean and standard deviation are the bytes of
``x.mean(axis=0)`` / ``x.std(axis=0)`` for any ``n`` when ``F >= 2`` (property test over chunk
sizes). With ``F == 1`` numpy sums pairwise: exact up to ``CHUNK_ROWS`` rows (one chunk, the
one-shot code), deterministic above. ``normal_equations`` (BLAS products) is the one-shot code up
to ``CHUNK_ROWS`` rows and a fixed-chunk sum above (deterministic, equal to rounding).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["CHUNK_ROWS", "Reader", "column_moments", "normal_equations", "spans"]

CHUNK_ROWS = 2**16  # rows per chunk: 65,536 x 50 features = 13 MB float32, 26 MB float64

Reader = Callable[[int, int], np.ndarray]  # read(lo, hi) -> rows lo:hi, [hi - lo, F]


def spans(n: int, chunk_rows: int | None = None) -> list[tuple[int, int]]:
    """``(lo, hi)`` of the chunks of ``range(n)``, the last one partial.

    >>> spans(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
    return [(lo, min(lo + chunk_rows, n)) for lo in range(0, n, chunk_rows)]


def _carried_sum(read: Reader, n: int, chunk_rows: int, shift: np.ndarray | None) -> np.ndarray:
    """Column sums of the rows (``(row - shift) ** 2`` with ``shift``), numpy's order carried."""
    acc: np.ndarray | None = None
    buf: np.ndarray | None = None
    for lo, hi in spans(n, chunk_rows):
        part = np.asarray(read(lo, hi))
        if buf is None:
            buf = np.empty((min(chunk_rows, n) + 1, part.shape[1]), dtype=np.float64)
            acc = np.zeros(part.shape[1], dtype=np.float64)
        m = hi - lo
        buf[0] = acc  # 0 + acc == acc (a sum that starts at +0.0 is never -0.0)
        rows = buf[1 : m + 1]
        rows[...] = part  # float32 -> float64, as np.asarray(x, dtype=np.float64)
        if shift is not None:
            np.subtract(rows, shift, out=rows)
            np.square(rows, out=rows)
        acc = np.add.reduce(buf[: m + 1], axis=0)
    assert acc is not None
    return acc


def column_moments(
    read: Reader, n: int, chunk_rows: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` (float64 [F], ``ddof=0``) of the ``n`` rows ``read`` returns.

    Two passes (the sum, then the squared deviations from the mean), as numpy's ``mean`` and
    ``std``; the same bytes for ``F >= 2`` (module doc). Raises ``ValueError`` when ``n == 0``.
    """
    if n <= 0:
        raise ValueError(f"column_moments: no rows (n={n}, expected >= 1)")
    chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
    if n <= chunk_rows:  # one chunk: numpy's own code
        rows = np.asarray(read(0, n), dtype=np.float64)
        return rows.mean(axis=0), rows.std(axis=0)
    mean = _carried_sum(read, n, chunk_rows, None) / n
    return mean, np.sqrt(_carried_sum(read, n, chunk_rows, mean) / n)


def normal_equations(
    read: Reader,
    n: int,
    y: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    chunk_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(Z'Z, Z'y)`` of the standardised rows ``Z = (x - mean) / std`` (float64).

    Up to ``chunk_rows`` rows: ``z.T @ z`` and ``z.T @ y`` on the whole ``z``; above, the sums of
    the chunks' products in chunk order (the same fixed chunks for any budget).
    """
    gram: np.ndarray | None = None
    zty: np.ndarray | None = None
    for lo, hi in spans(n, chunk_rows):
        z = (np.asarray(read(lo, hi), dtype=np.float64) - mean) / std
        g, v = z.T @ z, z.T @ y[lo:hi]
        gram, zty = (g, v) if gram is None else (gram + g, zty + v)
    if gram is None or zty is None:
        raise ValueError(f"normal_equations: no rows (n={n}, expected >= 1)")
    return gram, zty
