"""Library versions recorded next to artifacts (read from package metadata: nothing is imported)."""

from __future__ import annotations

import platform
from importlib import metadata

__all__ = ["library_versions"]


def library_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """``{"python": ..., pkg: version, ...}`` in the given order; "unknown" when not installed.

    Examples
    --------
    >>> list(library_versions(("no-such-package-xyz",)).items())[1]
    ('no-such-package-xyz', 'unknown')
    """
    out = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out
