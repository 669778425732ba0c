"""Shared fixtures: paths to the real recordings in ../shared (golden tests skip when absent)."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from simulator.core.omp import bound_spin_waits
from tests.ci_guard import in_ci, skip_is_failure

bound_spin_waits()  # as the wfsim entry points do, before any test imports torch

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "mas-hedge-fund"
EPISODES_TAR = SHARED_DATA / "episodes-2022-2024.tar.xz"
BENCHMARKS = SHARED_DATA / "benchmarks"
IN_CI = in_ci()


def pytest_collection_modifyitems(config, items):
    gpu = None  # torch.cuda asked only when a cuda test was collected
    for item in items:
        if "golden" in item.keywords and not EPISODES_TAR.exists():
            item.add_marker(pytest.mark.skip(reason=f"real episodes not found at {EPISODES_TAR}"))
        if "cuda" in item.keywords:
            if gpu is None:
                import torch

                gpu = torch.cuda.is_available()
            if not gpu:
                item.add_marker(pytest.mark.skip(reason="no CUDA device visible"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skip that would hide a regression is a failure (``tests/ci_guard.py``)."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and not hasattr(rep, "wasxfail"):
        why = skip_is_failure(item.nodeid, IN_CI, SHARED_DATA.is_dir(), "cuda" in item.keywords)
        if why is not None:
            reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
            rep.outcome, rep.longrepr = "failed", f"{why}; it skipped: {reason}"


@pytest.fixture(scope="session")
def real_episode_dir(tmp_path_factory) -> Path:
    """The 691 real episode JSON files, unpacked once per test session."""
    if not EPISODES_TAR.exists():
        pytest.skip(f"real episodes not found at {EPISODES_TAR}")
    out = tmp_path_factory.mktemp("real")
    with tarfile.open(EPISODES_TAR, "r:xz") as tar:
        tar.extractall(out, filter="data")
    return out / "episodes"


@pytest.fixture(scope="session")
def real_store(real_episode_dir, tmp_path_factory) -> Path:
    """The real episodes ingested once per test session into a Parquet store (no reasoning)."""
    from episodes.store import ingest

    path = tmp_path_factory.mktemp("real_store") / "store"
    ingest(real_episode_dir, path)
    return path


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance (2 CPUs) for one test module; skips where the ray extra is absent."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'wfsim[ray]')")
    # a throwaway instance: token auth off, as the two-node cluster test has it. Ray keeps the
    # auth mode of the first cluster a process joined, so a later local instance started with
    # the default (token) mode refuses this driver (InvalidAuthToken) unless both agree.
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield ray
        ray.shutdown()
    finally:
        os.environ.pop("RAY_AUTH_MODE") if saved is None else os.environ.update(RAY_AUTH_MODE=saved)
