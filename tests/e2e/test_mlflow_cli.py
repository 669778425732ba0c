"""Issue 13 point 9: `--mlflow URI` logs pretrain/replay/study to a local MLflow store, read back
with ``MlflowClient``; a missing mlflow stops the command before it writes anything, and an MLflow
failure after the outputs leaves them intact."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main
from tests.e2e.test_api_cli import TINY

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # ~17 s CPU; ~50 s wall on 2 loaded cores

mlflow = pytest.importorskip("mlflow")  # the test extra installs it: CI never skips this
ROOT = Path(__file__).resolve().parents[2]


def _run(*args, ok=True):
    res = CliRunner().invoke(main, ["--log-level", "warning", *map(str, args)])
    out = res.output + (res.stderr if res.stderr_bytes is not None else "")
    if ok:
        assert res.exit_code == 0, out
    return res, out


def _flat(doc, prefix=""):
    """Dotted keys of a nested dict (written here again, independent of simulator.tracking)."""
    out = {}
    for k, v in doc.items():
        out |= _flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
    return out


def _numbers(doc):
    return {k: float(v) for k, v in _flat(doc).items()
            if type(v) in (int, float) and v == v}  # fmt: skip


def _params_equal(params: dict[str, str], config: dict) -> None:
    flat = _flat(config)
    assert set(params) >= set(flat)
    for k, v in flat.items():
        assert (params[k] if isinstance(v, str) else json.loads(params[k])) == v, k


def _runs(client, command):
    exp = client.get_experiment_by_name("wfsim")
    return client.search_runs([exp.experiment_id], f"tags.`wfsim.command` = '{command}'")


def _artifacts(client, run_id, path=None):
    files = []
    for f in client.list_artifacts(run_id, path):
        files += _artifacts(client, run_id, f.path) if f.is_dir else [f.path]
    return files


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """tiny store; pretrain (ridge), replay lstm and a 1-family study, each with --mlflow."""
    root = tmp_path_factory.mktemp("mlflow")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY | {"model": TINY["model"] | {"family": "ridge"}}))
    track = root / "mlruns"
    _run("episodes", "synth", "--out", root / "eps", "--config", cfg)
    _run("episodes", "ingest", root / "eps", "--store", root / "store")
    _run("pretrain", "--store", root / "store", "--models", root / "models", "--config", cfg,
         "--mlflow", track)  # fmt: skip
    _run("replay", "--strategy", "lstm", "--store", root / "store", "--models", root / "models",
         "--out", root / "run", "--config", cfg, "--mlflow", track)  # fmt: skip
    _run("study", "--store", root / "store", "--out", root / "study", "--families", "ridge",
         "--seeds", "1", "--config", cfg, "--benchmarks", root / "store" / "benchmarks",
         "--mlflow", track)  # fmt: skip
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{track / 'mlflow.db'}")
    return root, client


def test_replay_run_has_the_config_summary_numbers_windows_and_files(logged):
    root, client = logged
    (run,) = [
        r
        for r in _runs(client, "replay")
        if r.data.tags["wfsim.out"] == str((root / "run").resolve())
    ]
    summary = json.loads((root / "run" / "summary.json").read_text())
    _params_equal(run.data.params, summary["config"])
    want = _numbers({k: v for k, v in summary.items() if k not in ("config", "versions")})
    windows = pd.read_csv(root / "run" / "windows.csv")
    got = {k: v for k, v in run.data.metrics.items() if not k.startswith("window.")}
    assert got == want and want["metrics.total_return"] == summary["metrics"]["total_return"]
    history = client.get_metric_history(run.info.run_id, "window.rank_ic")
    assert [(m.step, m.value) for m in history] == list(enumerate(windows["rank_ic"]))
    files = {p.relative_to(root / "run").as_posix() for p in (root / "run").rglob("*")
             if p.suffix in (".json", ".csv")}  # fmt: skip
    assert set(_artifacts(client, run.info.run_id)) == files
    assert run.info.status == "FINISHED" and run.data.tags["wfsim.strategy"] == "lstm"


def test_pretrain_run_has_the_config_oos_quality_and_registry(logged):
    from simulator.config import config_to_dict, load_config
    from simulator.study_quality import model_metrics

    root, client = logged
    (run,) = _runs(client, "pretrain")
    cfg = load_config(root / "tiny.yaml")
    _params_equal(run.data.params, config_to_dict(cfg))
    registry = json.loads((root / "models" / "registry.json").read_text())
    for k, v in model_metrics(root / "models").items():
        assert run.data.metrics[k] == v, k
    assert run.data.metrics["windows_done"] == len(registry["windows"]) == 2
    history = client.get_metric_history(run.info.run_id, "window.oos.ic")
    assert [(m.step, m.value) for m in history] == [
        (i, e["metrics"]["oos"]["ic"]) for i, e in enumerate(registry["windows"])
    ]
    assert set(_artifacts(client, run.info.run_id)) == {
        "registry.json", "w000/metadata.json", "w001/metadata.json"}  # fmt: skip


def test_study_run_has_the_table_and_one_nested_run_per_replay(logged):
    root, client = logged
    (run,) = _runs(client, "study")
    table = pd.read_csv(root / "study" / "study.csv")
    assert run.data.params["study.families"] == "ridge" and run.data.params["study.seeds"] == "[0]"
    row = table.set_index("row").loc["ridge (x1)"]
    for key in ("ic_pooled", "rank_ic", "total_return", "sharpe_rf", "max_drawdown"):
        assert run.data.metrics[f"ridge_x1.{key}"] == row[key], key
    n_numbers = sum(pd.notna(v) for c in table.columns if pd.api.types.is_numeric_dtype(table[c])
                    for v in table[c])  # fmt: skip
    assert len(run.data.metrics) == n_numbers
    children = client.search_runs(
        [run.info.experiment_id], f"tags.`mlflow.parentRunId` = '{run.info.run_id}'"
    )
    dirs = sorted(p.name for p in (root / "study" / "runs").iterdir())
    assert sorted(c.info.run_name for c in children) == dirs == ["llm", "random-0", "ridge-0"]
    assert "study.csv" in _artifacts(client, run.info.run_id)


@pytest.mark.parametrize("command", ["replay", "pretrain", "study"])
def test_without_mlflow_installed_the_command_writes_nothing(
    logged, tmp_path, monkeypatch, command
):
    root, _ = logged
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        monkeypatch.setitem(sys.modules, name, None)  # `import mlflow...` raises ImportError
    out, track = tmp_path / "out", tmp_path / "mlruns"
    args = {
        "replay": ["replay", "--strategy", "random", "--out", out],
        "pretrain": ["pretrain", "--models", out, "--model", "ridge"],
        "study": ["study", "--out", out, "--families", "ridge", "--seeds", "1"],
    }[command]
    res, text = _run(*args, "--store", root / "store", "--mlflow", track, ok=False)
    assert res.exit_code == 1, text
    assert "--mlflow: mlflow is not installed" in text and "wfsim[mlflow]" in text, text
    assert not out.exists() and not track.exists()


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_an_mlflow_failure_after_the_outputs_leaves_them_intact(logged, tmp_path, monkeypatch):
    root, client = logged
    base = ["replay", "--strategy", "random", "--store", root / "store", "--out"]
    _run(*base, tmp_path / "plain")

    def broken(self, run_id, local_path, artifact_path=None):
        raise OSError("disk full")

    monkeypatch.setattr(mlflow.tracking.MlflowClient, "log_artifact", broken)
    track = root / "mlruns"
    res, text = _run(*base, tmp_path / "tracked", "--mlflow", track, ok=False)
    assert res.exit_code == 1 and "logging failed after the outputs were written" in text, text
    assert "OSError: disk full" in text
    assert _hashes(tmp_path / "tracked") == _hashes(tmp_path / "plain")
    (run,) = [r for r in _runs(client, "replay")
              if r.data.tags["wfsim.out"] == str((tmp_path / "tracked").resolve())]  # fmt: skip
    assert run.info.status == "FAILED"


def test_the_api_keyword_logs_a_replay(logged, tmp_path):
    import wfsim

    root, client = logged
    got = wfsim.replay("random", root / "store", tmp_path / "api", mlflow=str(root / "mlruns"))
    (run,) = [r for r in _runs(client, "replay")
              if r.data.tags["wfsim.out"] == str((tmp_path / "api").resolve())]  # fmt: skip
    assert run.data.metrics["final_nav"] == got.final_nav == got.summary["final_nav"]


def test_mlflow_is_imported_only_with_the_option():
    code = "import sys, simulator.cli, wfsim; assert not [m for m in sys.modules if 'mlflow' in m]"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    for command in ("replay", "pretrain", "study"):
        res = CliRunner().invoke(main, [command, "--help"])
        assert "--mlflow URI" in res.output and "Example: --mlflow mlruns" in res.output
