"""replay.predictions = saved: the replay serves pretrain's per-window batches, checked per day."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from structlog.testing import capture_logs

from models.features import build_features
from models.lstm import ModelBundle, load_checkpoint
from models.pretrain import PretrainData, pretrain, serve_predictions, window_data_hash
from models.registry import Registry, sha256_file
from models.serve import PREDICTIONS
from simulator.config import ReplayConfig, load_config
from simulator.core.errors import RegistryError
from simulator.loop import run_replay
from simulator.strategies import make_strategy, model_predictor
from tests.stub_panel import make_panel
from tests.unit.simulator.test_loop import orders_upto, perturb

TINY = {
    "windows.initial": 40, "windows.step": 15, "model.hidden": 4, "model.layers": 1,
    "model.embed_dim": 2, "train.max_epochs": 1, "train.warm_epochs": 1,
    "train.max_samples_per_epoch": 128, "features.seq_len": 5, "decision.max_positions": 8,
}  # fmt: skip
CFG = load_config(overrides=TINY)  # replay.predictions: saved (the default)
LIVE = load_config(overrides=TINY | {"replay.predictions": "live"})
PANEL = make_panel(n_days=70, n_stocks=30, seed=2)
DAYS = range(40, 70)  # w000 serves 40..54, w001 55..69
# later-day inputs that leave the prediction points (the batch shape) unchanged
MOVED = ("open", "close", "confidence", "risk_limit")


def pretrained(tmp_path_factory):
    """PANEL pretrained with CFG into a fresh directory (one torch thread: deterministic)."""
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("models")
    pretrain(PANEL, path, CFG)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return pretrained(tmp_path_factory)


@pytest.fixture
def copy(models, tmp_path):
    """A writable copy of the registry (the module's one stays untouched)."""
    return shutil.copytree(models, tmp_path / "models")


def lstm(panel, models, cfg=CFG):
    pred = model_predictor(panel, models, cfg)
    return run_replay(panel, make_strategy("lstm", cfg), cfg, predictor=pred), pred


def resave(models, panel) -> None:
    """Write each window's predictions for ``panel`` with its unchanged weights, as pretrain does
    (``serve_predictions``), and record the new data hash and file sha256."""
    reg = Registry.load(models)
    fs = build_features(panel, CFG.features)
    tickers = [str(x) for x in panel.tickers]
    data = PretrainData(fs, tickers, panel.dates)
    for e in reg.entries:
        bundle = ModelBundle.from_checkpoint(load_checkpoint(models / e.path / "model.pt"))
        tt, kk, pred = serve_predictions(bundle, range(*e.serve), fs, tickers)
        frame = pd.DataFrame({"t": tt.astype(np.int32), "date": panel.dates[tt],
                              "ticker": np.asarray(tickers, dtype=object)[kk], "pred": pred,
                              "y": fs.y[tt, kk]})  # fmt: skip
        path = models / e.path / PREDICTIONS
        frame.to_parquet(path, index=False)
        files = {**e.files, PREDICTIONS: sha256_file(path)}
        dh = window_data_hash(data, e.serve[1])
        reg.replace(dataclasses.replace(e, data_hash=dh, files=files))
    reg.save()


def drop_first_row(models, window: str, record_sha: bool) -> pd.Series:
    path = models / window / PREDICTIONS
    frame = pd.read_parquet(path)
    frame.iloc[1:].to_parquet(path, index=False)
    if record_sha:
        doc = json.loads((models / "registry.json").read_text())
        w = next(w for w in doc["windows"] if w["id"] == window)
        w["files"][PREDICTIONS] = sha256_file(path)
        (models / "registry.json").write_text(json.dumps(doc))
    return frame.iloc[0]


def test_config_key():
    assert ReplayConfig().predictions == "saved" and LIVE.replay.predictions == "live"
    with pytest.raises(ValueError, match="predictions='cached'"):
        ReplayConfig(predictions="cached")


def test_saved_agrees_with_live_on_the_same_points(models, monkeypatch):
    saved, live = model_predictor(PANEL, models, CFG), model_predictor(PANEL, models, LIVE)
    want = {t: live(t) for t in DAYS}
    monkeypatch.setattr(saved.manager, "predict", lambda *a: pytest.fail("live inference"))
    for t in DAYS:
        k, p = saved(t)
        assert k.dtype == np.int32 and p.dtype == np.float64 and len(k) > 0
        np.testing.assert_array_equal(k, want[t][0])
        np.testing.assert_allclose(p, want[t][1], rtol=1e-5, atol=1e-5)
    assert sorted(saved._saved) == ["w000", "w001"] and None not in saved._saved.values()
    assert saved.manager.loads == 0  # no model was even loaded


@pytest.mark.parametrize("t", [44, 55])
def test_day_t_is_a_row_later_days_of_the_batch_cannot_move(models, t):
    """Pretrain's window batch recomputed with inputs at or after open(t) perturbed (same shape):
    the rows of days <= t are bit for bit those of the saved file, the later ones moved."""
    pred = model_predictor(PANEL, models, CFG)
    fs2 = build_features(perturb(PANEL, t, MOVED), CFG.features)
    fs = pred.fs
    np.testing.assert_array_equal(fs2.sample, fs.sample)  # the batch keeps its shape
    np.testing.assert_array_equal(fs2.x[: t + 1], fs.x[: t + 1])  # features are built pre-open
    e, bundle = pred.manager.window_for(t), pred.manager.model_for(t)
    tt, kk, p0 = serve_predictions(bundle, range(*e.serve), fs, pred.tickers)
    tt2, kk2, p1 = serve_predictions(bundle, range(*e.serve), fs2, pred.tickers)
    file = pd.read_parquet(models / e.path / PREDICTIONS)
    np.testing.assert_array_equal(file["pred"].to_numpy(), p0)  # the file is that batch
    np.testing.assert_array_equal(tt2, tt)
    np.testing.assert_array_equal(kk2, kk)
    upto = tt <= t
    np.testing.assert_array_equal(p1[upto], p0[upto])
    assert not np.array_equal(p1[~upto], p0[~upto])  # the test has teeth
    np.testing.assert_array_equal(pred(t)[1], p1[tt == t].astype(np.float64))


@pytest.mark.parametrize("t", [44, 55])
def test_saved_decisions_up_to_t_ignore_inputs_at_or_after_the_open(models, copy, t):
    moved = perturb(PANEL, t, MOVED)
    resave(copy, moved)  # the saved batches of the moved store, same weights
    base, _ = lstm(PANEL, models)
    res, pred = lstm(moved, copy)
    assert None not in pred._saved.values() and pred.manager.loads == 0  # served from files
    assert orders_upto(base, t) == orders_upto(res, t)
    assert orders_upto(base, t + 1) != orders_upto(res, t + 1)


def test_tampered_file_fails_the_registry_sha256(copy):
    drop_first_row(copy, "w000", record_sha=False)
    with pytest.raises(RegistryError, match="predictions file differs from the registry"):
        model_predictor(PANEL, copy, CFG)(40)


def test_missing_row_raises_naming_window_date_and_fix(copy):
    row = drop_first_row(copy, "w000", record_sha=True)
    pred = model_predictor(PANEL, copy, CFG)
    n = int(pred.fs.sample[int(row["t"])].sum())
    with pytest.raises(RegistryError) as err:
        pred(int(row["t"]))
    msg = str(err.value)
    assert "saved tickers differ from the day's prediction points" in msg
    assert f"window=w000, date={str(row['date'])[:10]}" in msg
    assert f"saved={n - 1}, live={n}, missing=['{row['ticker']}'], extra=[]" in msg
    assert "replay.predictions: live" in msg and "re-pretrain" in msg
    with pytest.raises(RegistryError, match="saved tickers differ"):  # the replay stops
        lstm(PANEL, copy)


def test_missing_file_serves_that_window_live_and_says_so_once(models, copy):
    (copy / "w001" / PREDICTIONS).unlink()
    pred, live = model_predictor(PANEL, copy, CFG), model_predictor(PANEL, models, LIVE)
    with capture_logs() as logs:
        got = {t: pred(t) for t in DAYS}
    events = [x for x in logs if x["event"] == "predictions_missing"]
    assert len(events) == 1 and events[0]["window"] == "w001"
    assert pred._saved["w001"] is None and pred._saved["w000"] is not None
    for t in range(55, 70):  # w001: live, bit for bit
        np.testing.assert_array_equal(got[t][0], live(t)[0])
        np.testing.assert_array_equal(got[t][1], live(t)[1])
    assert lstm(PANEL, copy)[0].skipped == {}


def test_stale_window_is_served_live(models):
    moved = perturb(PANEL, 50, MOVED)  # w000's and w001's data hashes no longer match
    pred, live = model_predictor(moved, models, CFG), model_predictor(moved, models, LIVE)
    with capture_logs() as logs:
        got = {t: pred(t) for t in (45, 60)}
    assert sorted(x["window"] for x in logs if x["event"] == "predictions_stale") == [
        "w000",
        "w001",
    ]
    for t, (k, p) in got.items():
        np.testing.assert_array_equal(k, live(t)[0])
        np.testing.assert_array_equal(p, live(t)[1])
    fresh = model_predictor(perturb(PANEL, 60, MOVED), models, CFG)
    fresh(45), fresh(60)
    assert fresh._saved["w000"] is not None and fresh._saved["w001"] is None


def test_saved_predictions_path_never_imports_torch(models, tmp_path):
    """Serving saved predictions needs no torch (issue 13, replay performance): a fresh process
    that builds the predictor and serves every day has not imported it; live serving does."""
    import subprocess
    import sys

    panel = tmp_path / "panel.pkl"
    pd.to_pickle(PANEL, panel)
    code = (
        "import sys, pandas as pd\n"
        "from simulator.config import load_config\n"
        "from simulator.strategies import model_predictor\n"
        f"cfg = load_config(overrides={TINY!r} | {{'replay.predictions': sys.argv[1]}})\n"
        f"pred = model_predictor(pd.read_pickle({str(panel)!r}), {str(models)!r}, cfg)\n"
        f"[pred(t) for t in range({DAYS.start}, {DAYS.stop})]\n"
        "print('torch' in sys.modules)\n"
    )
    got = {
        mode: subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True,
                             check=True).stdout.split()[-1]
        for mode in ("saved", "live")
    }  # fmt: skip
    assert got == {"saved": "False", "live": "True"}
