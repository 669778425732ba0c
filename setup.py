"""Packages of the wfsim distribution (metadata and dependencies: setup.cfg).

The repository's top-level folders install as top-level packages (``simulator``, ``models``,
``episodes``, ``agents``) plus ``wfsim`` (the public Python API); ``configs/`` ships as package
data ``wfsim/configs/*.yaml`` (read by ``simulator.config``), so a non-editable install works
from any directory.
"""

from setuptools import find_packages, setup

TOP = ("simulator", "agents", "models", "episodes", "wfsim")

setup(
    packages=[*find_packages(include=[p for n in TOP for p in (n, f"{n}.*")]), "wfsim.configs"],
    package_dir={"wfsim.configs": "configs"},
    package_data={"simulator": ["py.typed"], "wfsim": ["py.typed"], "wfsim.configs": ["*.yaml"]},
)
