"""Numba's CPU target, set up once without importing ``scipy.linalg`` (issue 13, replay time).

Numba loads a cached kernel only after its CPU target has installed every implementation
registry; one of them (``numba.np.arraymath``) probes ``scipy.linalg.cython_blas`` at import,
which imports the whole of ``scipy.linalg``: ``refresh()`` took 0.35-0.39 s CPU with it and
0.15-0.21 s without (``time.process_time``, 3 runs each, load ~2). No kernel of
``simulator.kernels`` calls BLAS, so :func:`init_cpu_target` (``Books`` calls it) runs that
setup with ``scipy.linalg`` marked absent (``sys.modules[name] = None`` makes its import raise
``ImportError``, the path numba takes on a machine without scipy) and unmarks it at once:
``scipy.linalg`` stays importable for everyone else. The one effect left in the process: numba
functions compiled later that take an inner product (``np.correlate``/``np.convolve``) use
numba's loop instead of BLAS. Where ``scipy.linalg`` is imported already, nothing is hidden.
``cffi`` is hidden the same way (numba's cffi typing imports it and pycparser: ~25 ms; no kernel
calls a cffi function; numba cannot type cffi functions later in the process).
"""

from __future__ import annotations

import sys

__all__ = ["init_cpu_target"]

_HIDDEN = ("scipy.linalg", "cffi")
_done = False


def init_cpu_target() -> None:
    """Install numba's CPU implementations (once per process) without importing
    ``scipy.linalg`` or ``cffi``; a dispatcher called before it sets them up the usual way."""
    global _done
    if _done:
        return
    from numba.core.registry import cpu_target

    hidden = [name for name in _HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        cpu_target.target_context.refresh()
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    _done = True
