"""Issue 13 points 1, 2, 3, 8, 10: honest gaps, the Python API and its name clash, one consistent
CLI, benchmarks without ../shared, a clear error for a missing Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "synth": {"days": 60, "tickers": 12},
    "windows": {"initial": 30, "step": 15},
    "features": {"seq_len": 5},
    "model": {"hidden": 8, "layers": 1, "embed_dim": 4},
    "train": {"max_epochs": 1, "warm_epochs": 1, "max_samples_per_epoch": 128},
}


def _run(*args, ok=True):
    res = CliRunner().invoke(main, [str(a) for a in args])
    out = res.output + (res.stderr if res.stderr_bytes is not None else "")
    if ok:
        assert res.exit_code == 0, out
    return res, out


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """synth -> ingest -> pretrain of TINY (2 windows), plus the llm replay."""
    root = tmp_path_factory.mktemp("api")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    _run("--log-level", "warning", "episodes", "synth", "--out", root / "eps", "--config", cfg)
    _run("--log-level", "warning", "episodes", "ingest", root / "eps", "--store", root / "store")
    _run("--log-level", "warning", "pretrain", "--store", root / "store", "--models",
         root / "models", "--config", cfg)  # fmt: skip
    _run("--log-level", "warning", "replay", "--strategy", "llm", "--store", root / "store",
         "--out", root / "runs/llm")  # fmt: skip
    return root, cfg


# --- point 3: one consistent CLI ------------------------------------------------------------


def _walk(cmd: click.Command, path: list[str]):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _walk(sub, [*path, name])


def test_every_help_has_an_example():
    missing = []
    for path, _ in _walk(main, []):
        res = CliRunner().invoke(main, [*path, "--help"])
        assert res.exit_code == 0, res.output
        if "Example" not in res.output:
            missing.append(" ".join(["wfsim", *path]))
    assert missing == []


def test_quiet_and_verbose_after_the_subcommand(tmp_path):
    _, loud = _run("episodes", "synth", "--days", "5", "--tickers", "5", "--out", tmp_path / "a",
                   "-v")  # fmt: skip
    assert "episodes_synthesized" in loud
    _, quiet = _run("episodes", "synth", "--days", "5", "--tickers", "5", "--out", tmp_path / "b",
                    "-q")  # fmt: skip
    assert "episodes_synthesized" not in quiet


def test_store_option_everywhere_and_deprecated_spellings(chain, tmp_path):
    root, _ = chain
    _, info = _run("episodes", "info", "--store", root / "store")
    assert "days         60" in info
    _, new = _run("audit", "--store", root / "store", "--info-set", "strict", "--table",
                  tmp_path / "a.csv")  # fmt: skip
    assert "deprecated" not in new and (tmp_path / "a.csv").is_file()
    _, old = _run("audit", root / "store", "--info-set", "strict", "--out", tmp_path / "b.csv")
    assert "STORE (positional) is deprecated, use --store" in old
    assert "--out is deprecated, use --table" in old and (tmp_path / "b.csv").is_file()
    res, both = _run("audit", root / "store", "--store", root / "store", ok=False)
    assert res.exit_code == 2 and "give one" in both
    runs = root / "runs/llm"
    _run("compare", runs, "--table", tmp_path / "c.csv")
    assert (tmp_path / "c.csv").is_file()
    _, old = _run("report", runs, "--out", tmp_path / "r.html")
    assert "--out is deprecated, use --html" in old and (tmp_path / "r.html").is_file()
    _run("report", runs, "--html", tmp_path / "r2.html")
    assert (tmp_path / "r2.html").is_file()


# --- point 8: benchmarks beside synthetic episodes, aligned not dropped -----------------------


def test_synthetic_benchmarks_travel_to_the_comparison(chain):
    root, _ = chain
    for where in ("eps", "store", "runs/llm"):
        folder = root / where / "benchmarks"
        assert sorted(p.name for p in folder.iterdir()) == [
            "daily_risk_free_rate.csv",
            "spy_returns.csv",
        ]
    _, out = _run("compare", root / "runs/llm")
    assert "\nSPY " in out and "SPY benchmark omitted" not in out
    assert "risk-free rate omitted" not in out and "no risk-free rate" not in out
    from simulator.results.compare import load_run
    from simulator.results.export import verify_run

    assert verify_run(root / "runs/llm") == []  # the copied CSVs are in the run's manifest
    assert load_run(root / "runs/llm").returns.size == 60


# --- point 10: Ray missing -----------------------------------------------------------------------


def test_ray_backend_without_ray_fails_before_writing(chain, tmp_path, monkeypatch):
    root, cfg = chain
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    res, out = _run("pretrain", "--store", root / "store", "--models", tmp_path / "m",
                    "--config", cfg, "--backend", "ray", ok=False)  # fmt: skip
    assert res.exit_code == 1 and "Traceback" not in out
    assert "--backend: ray is not installed" in out and "pip install 'wfsim[ray]'" in out
    assert not (tmp_path / "m").exists()


# --- point 1: incomplete runs say so -------------------------------------------------------


def _interrupt(models: Path, dst: Path) -> Path:
    """A copy of the registry whose last window is still `planned` (a killed pretrain)."""
    import shutil

    shutil.copytree(models, dst)
    reg = json.loads((dst / "registry.json").read_text())
    reg["windows"][-1]["status"] = "planned"
    (dst / "registry.json").write_text(json.dumps(reg))
    return dst


def test_replay_with_unserved_days_fails_unless_allow_gaps(chain, tmp_path):
    root, cfg = chain
    models = _interrupt(root / "models", tmp_path / "models")
    args = ["replay", "--strategy", "lstm", "--store", root / "store", "--models", models,
            "--config", cfg]  # fmt: skip
    res, out = _run(*args, "--out", tmp_path / "gap", ok=False)
    assert res.exit_code == 1 and "no model serves 15 of 30 days" in out and "--allow-gaps" in out
    assert not (tmp_path / "gap").exists()
    _run(*args, "--out", tmp_path / "gap", "--allow-gaps")
    cov = json.loads((tmp_path / "gap/summary.json").read_text())["coverage"]
    assert cov["served_days"] == 15 and cov["days"] == 30
    _, comp = _run("compare", tmp_path / "gap", root / "runs/llm")
    assert "gap: INCOMPLETE, coverage 15/30 days served by a model" in comp
    _run("report", tmp_path / "gap", "--html", tmp_path / "r.html")
    assert "INCOMPLETE, coverage 15/30" in (tmp_path / "r.html").read_text()


def test_models_report_says_when_a_window_kept_its_predecessor(chain, tmp_path):
    root, _ = chain
    import shutil

    models = tmp_path / "models"
    shutil.copytree(root / "models", models)
    reg = json.loads((models / "registry.json").read_text())
    reg["windows"][1]["metrics"] |= {"warm": True, "best_epoch": 0}
    (models / "registry.json").write_text(json.dumps(reg))
    _, out = _run("models", "report", "--models", models)
    lines = out.splitlines()
    assert "kept predecessor" in lines[2] and "trained" in lines[1]


# --- point 2: the Python API -------------------------------------------------------------------


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_a_models_folder_in_the_working_directory_does_not_shadow_wfsim(tmp_path):
    for name in ("models", "simulator", "episodes", "agents"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise RuntimeError('user {name}')\n")
    code = "import wfsim, models; print(wfsim.__all__[0], models.__file__)"
    res = _python(code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["configure_logging", str(ROOT / "models/__init__.py")]
    clash = _python("import sys; sys.path.insert(0, '.'); import models", tmp_path)
    assert "user models" in clash.stderr  # the folder does shadow without wfsim's loader
    (tmp_path / "models/__init__.py").write_text("X = 1\n")
    res = _python("import models, wfsim", tmp_path)
    assert res.returncode == 1 and "a module named 'models' is already imported" in res.stderr


def test_api_mirrors_the_cli_and_is_silent(chain, tmp_path):
    root, cfg = chain
    code = f"""
import wfsim
cfg = {str(cfg)!r}
wfsim.synth("eps", config={{"synth.days": 40, "synth.tickers": 8}}, seed=3)
rep = wfsim.ingest("eps", "store")
run = wfsim.replay("llm", "store", "runs/llm")
lstm = wfsim.replay("lstm", {str(root / "store")!r}, "runs/lstm", models={str(root / "models")!r},
                    config=cfg)
frame = wfsim.compare(["runs/llm"])
mr = wfsim.models_report({str(root / "models")!r})
print(rep.n_days, len(run.equity), round(run.final_nav, 2) == round(run.equity.nav.iloc[-1], 2))
print(sorted(frame.index), frame.loc["llm", "sharpe_rf"] == frame.loc["llm", "sharpe_rf"])
print(list(mr["window"])[-2:], lstm.summary["strategy"])
"""
    res = _python(code, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # silent unless configure_logging() is called
    assert res.stdout.splitlines() == [
        "40 40 True",
        "['SPY', 'llm'] True",
        "['mean', 'pooled'] lstm",
    ]


def test_api_study_returns_the_table_and_resumes(chain, tmp_path):
    import pandas as pd

    import wfsim

    root, cfg = chain
    kw = {"families": "ridge", "seeds": 1, "config": cfg}
    frame = wfsim.study(root / "store", tmp_path / "study", **kw)
    csv = pd.read_csv(tmp_path / "study" / "study.csv").set_index("row")
    assert list(frame.index) == list(csv.index)
    assert {"ridge (x1)", "ridge-0", "llm"} <= set(frame.index)
    assert frame.loc["ridge-0", "total_return"] == pytest.approx(csv.loc["ridge-0", "total_return"])
    assert (frame.attrs["ran"], frame.attrs["skipped"]) == (3, 0)  # llm, ridge-0, random-0
    again = wfsim.study(root / "store", tmp_path / "study", **kw)
    assert (again.attrs["ran"], again.attrs["skipped"]) == (0, 3)
    pd.testing.assert_frame_equal(again, frame)
