"""Numba kernel of the fused LSTM's backward step (``models.lstm_fused``): the gate derivatives
of one time step in one pass over ``[B, H]``, float32 throughout.

Only multiplications and additions (no BLAS, no transcendental functions), so the loop
vectorises and its result does not depend on any thread count. Gate blocks are in the fused
kernel's order o, i, f, g along the last axis of ``gates`` / ``dgates`` (``4H`` wide).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lstm_bwd_step_nb"]

_ONE = np.float32(1.0)


@njit(cache=True)
def lstm_bwd_step_nb(gates, tc, c, dy, dhn, dc, dgates, t):  # pragma: no cover - numba
    """Step ``t`` of the backward: ``dgates[t]`` from ``dh = dy[t] + dhn`` and ``dc``; then
    ``dc <- dc * f`` (the cell gradient passed to step ``t - 1``).

    ``gates`` [L, B, 4H] activations (o, i, f, g), ``tc`` [L, B, H] tanh of the cell,
    ``c`` [L+1, B, H] cells (``c[t]`` is the cell before step ``t``), ``dy`` [L, B, H] output
    gradient, ``dhn`` [B, H] the recurrent gradient from step ``t + 1``, ``dc`` [B, H] in/out.
    """
    n_b, hid = dc.shape
    for b in range(n_b):
        for j in range(hid):
            o = gates[t, b, j]
            i = gates[t, b, hid + j]
            f = gates[t, b, 2 * hid + j]
            g = gates[t, b, 3 * hid + j]
            tcv = tc[t, b, j]
            dh = dy[t, b, j] + dhn[b, j]
            dcv = dc[b, j] + dh * o * (_ONE - tcv * tcv)
            dgates[t, b, j] = dh * tcv * o * (_ONE - o)
            dgates[t, b, hid + j] = dcv * g * i * (_ONE - i)
            dgates[t, b, 2 * hid + j] = dcv * c[t, b, j] * f * (_ONE - f)
            dgates[t, b, 3 * hid + j] = dcv * i * (_ONE - g * g)
            dc[b, j] = dcv * f
