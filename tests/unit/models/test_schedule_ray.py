"""pretrain_cells on a local Ray cluster of two node processes = the local backend (hashes).

The cluster: ``ray start --head --num-cpus 1`` plus ``ray start --address`` as a second node
process, on free ports, both stopped by the fixture's finalizer (``ray stop`` for this
cluster's temp dir), each command bounded in time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.registry import REGISTRY_FILE
from models.schedule import pretrain_cells
from simulator import pipeline
from simulator.config import load_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]

TINY = {
    "synth.days": 60,
    "synth.tickers": 10,
    "windows.initial": 30,
    "windows.step": 15,
    "features.seq_len": 5,
    "model.hidden": 8,
    "model.layers": 1,
    "model.embed_dim": 4,
    "train.max_epochs": 1,
    "train.warm_epochs": 1,
    "train.max_samples_per_epoch": 256,
}
CELLS = (("ridge", 0), ("ridge", 1), ("lstm", 0), ("lstm", 1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_bin() -> str:
    exe = Path(sys.executable).with_name("ray")
    return str(exe) if exe.exists() else (shutil.which("ray") or "ray")


def _wait_port(port: int, procs: list, limit_s: float = 90.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a ray node exited early: {[p.args for p in procs]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"ray head not listening on {port} after {limit_s} s")


def _stop(procs: list) -> None:
    """SIGTERM each node's own process group (started with a new session), then SIGKILL."""
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=8)  # a node that has not stopped by then is killed with its group
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray", reason="ray is not installed (pip install 'wfsim[ray]')")
    temp = Path("/tmp") / f"wfray{os.getpid()}"  # short: Ray's socket paths are length-limited
    port = _free_port()
    # a throwaway cluster of this test on this machine: Ray's token auth off (a real cluster
    # keeps it on, README), for nodes and driver alike (through the environment)
    auth = {"RAY_AUTH_MODE": "disabled"}
    saved = {k: os.environ.get(k) for k in auth}
    os.environ.update(auth)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": os.getcwd()}
    common = ["--num-cpus", "1", "--block", "--disable-usage-stats",
              "--node-manager-port", "0", "--object-manager-port", "0"]  # fmt: skip
    head = [_ray_bin(), "start", "--head", "--port", str(port), "--include-dashboard", "false",
            "--temp-dir", str(temp), *common]  # fmt: skip
    node = [_ray_bin(), "start", "--address", f"127.0.0.1:{port}", *common]
    procs: list[subprocess.Popen] = []
    logs = temp.with_suffix(".log").open("wb")
    try:
        procs.append(subprocess.Popen(head, env=env, stdout=logs, stderr=logs,
                                      start_new_session=True))  # fmt: skip
        _wait_port(port, procs)
        procs.append(subprocess.Popen(node, env=env, stdout=logs, stderr=logs,
                                      start_new_session=True))  # fmt: skip
        yield f"127.0.0.1:{port}"
    finally:
        _stop(procs)
        logs.close()
        shutil.rmtree(temp, ignore_errors=True)
        temp.with_suffix(".log").unlink(missing_ok=True)
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def _cells(root: Path):
    base = load_config(overrides=TINY)
    out = []
    for family, seed in CELLS:
        cfg = load_config(overrides={**TINY, "model.family": family, "seed": seed})
        out.append((root / f"{family}-{seed}", cfg.pretrain_config()))
    return base, out


def test_two_node_cluster_gives_the_local_registries(cluster, tmp_path):
    import ray

    base, _ = _cells(tmp_path)
    pipeline.synth(tmp_path / "eps", base)
    pipeline.ingest(tmp_path / "eps", tmp_path / "store")
    _, local = _cells(tmp_path / "local")
    _, remote = _cells(tmp_path / "ray")
    want = pretrain_cells(tmp_path / "store", local, backend="local")
    ray.init(address=cluster, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.getcwd()}})  # fmt: skip
    try:
        t0 = time.monotonic()  # the second node joins within a bounded time
        while sum(n["Alive"] for n in ray.nodes()) < 2 and time.monotonic() - t0 < 90:
            time.sleep(0.5)
        assert sum(n["Alive"] for n in ray.nodes()) == 2
        res = pretrain_cells(tmp_path / "store", remote, backend="ray", address=cluster)
    finally:
        ray.shutdown()
    assert [r.trained for r in res] == [r.trained for r in want]
    assert all(len(r.trained) == 2 for r in res)
    for (a, _), (b, _) in zip(local, remote, strict=True):
        assert (b / REGISTRY_FILE).read_text() == (a / REGISTRY_FILE).read_text()
    # rerun: everything done, nothing submitted, registries unchanged
    again = pretrain_cells(tmp_path / "store", remote, backend="local")
    assert all(r.trained == () for r in again)
