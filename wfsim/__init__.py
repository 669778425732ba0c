"""wfsim: a walk-forward trading simulator, as a Python API for notebooks.

The functions mirror the `wfsim` command (``wfsim.api``) and return pandas DataFrames or small
result objects; nothing is logged unless you call ``wfsim.configure_logging()``.

>>> import wfsim
>>> sorted(set(wfsim.__all__) >= {"synth", "ingest", "pretrain", "replay", "compare", "report"})
[True]

The code ships as the top-level packages ``simulator``, ``models``, ``episodes`` and ``agents``
(the repository's folders). ``python`` puts the working directory first on ``sys.path``, so a
folder ``models/`` with an ``__init__.py`` there would shadow ours: importing ``wfsim`` therefore
loads those four packages from wfsim's own install location first (``_load_own_packages``); once
loaded, every submodule import resolves inside them. A package of yours with one of these four
names cannot be imported in the same Python process (one name, one module): rename it, or import
it as a subpackage (``myproject.models``). ``import wfsim`` raises ImportError naming the clash
when such a module is already imported.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

OWN_PACKAGES = ("simulator", "models", "episodes", "agents")
"""The top-level packages of the wfsim distribution besides ``wfsim`` itself."""


def _load_own_packages() -> None:
    """Import ``OWN_PACKAGES`` from the directory that holds this ``wfsim`` package (site-packages
    or the repository), whatever the working directory or ``sys.path`` order holds."""
    root = Path(__file__).resolve().parent.parent
    for name in OWN_PACKAGES:
        mod = sys.modules.get(name)
        if mod is not None and not _inside(mod, root):
            raise ImportError(
                f"wfsim: a module named {name!r} is already imported from "
                f"{getattr(mod, '__file__', None) or list(getattr(mod, '__path__', []))} "
                f"(expected wfsim's own, under {root}); wfsim ships top-level packages "
                f"{', '.join(OWN_PACKAGES)}: rename yours or import it as a subpackage"
            )
    missing = [n for n in OWN_PACKAGES if n not in sys.modules]
    if not missing:
        return
    sys.path.insert(0, str(root))
    try:
        for name in missing:
            importlib.import_module(name)
    finally:
        sys.path.remove(str(root))  # the first occurrence: the one inserted above
    for name in missing:
        if not _inside(sys.modules[name], root):  # pragma: no cover - a meta path hook won
            raise ImportError(f"wfsim: {name!r} was not loaded from {root}")


def _inside(mod, root: Path) -> bool:
    where = getattr(mod, "__file__", None)
    paths = [where] if where else list(getattr(mod, "__path__", []))
    return bool(paths) and all(Path(p).resolve().is_relative_to(root) for p in paths)


_load_own_packages()

from simulator.core.omp import bound_spin_waits  # noqa: E402

bound_spin_waits()  # before torch / lightgbm load libgomp (a notebook that imported them first
# keeps their setting): see simulator.core.omp

from wfsim.api import *  # noqa: E402,F403  (the public functions, after our packages loaded)
from wfsim.api import __all__ as __all__  # noqa: E402
