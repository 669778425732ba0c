"""Every scripts/bench/bench_*.py runs standalone and takes the house flags (no timings)."""

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BENCH = ROOT / "scripts" / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("bench_*.py"))
COMMON_FLAGS = ("--repeat", "--warmup", "--seed", "--check", "--no-append")


def test_the_six_scripts_are_found():
    assert {
        "bench_books.py",
        "bench_lstm_replay.py",
        "bench_pretrain.py",
        "bench_replay.py",
        "bench_store.py",
        "bench_synth.py",
    } <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_lists_the_common_flags(script):
    """`python scripts/bench/<script> --help` exits 0 from any cwd and names every house flag."""
    res = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT.parent,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    missing = [f for f in COMMON_FLAGS if f not in res.stdout]
    assert not missing, f"{script} --help lacks {missing}"


def _common():
    spec = importlib.util.spec_from_file_location("bench_common", BENCH / "_common.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_common_module_declares_the_same_flags():
    assert _common().COMMON_FLAGS == COMMON_FLAGS


def test_time_runs_warms_up_then_times_repeat_calls():
    calls = []
    times = _common().time_runs(lambda: calls.append(1), repeat=3, warmup=2)
    assert len(calls) == 5 and len(times) == 3 and all(t >= 0 for t in times)


def test_table_rows_have_the_house_columns():
    """case, median_s, min_s, ratio, the script's columns, cores, torch threads."""
    c = _common()
    text = c.table("title", [("a", [3.0, 1.0, 2.0], 0.5, "x")], extra=("note",), threads=1)
    lines = text.splitlines()
    assert lines[0] == "title"
    assert lines[1] == "| case | median_s | min_s | ratio | note | cores | torch threads |"
    assert lines[3] == f"| a | 2.0000 | 1.0000 | 0.500 | x | {c.cores()} | 1 |"
    with pytest.raises(ValueError, match="wrong number of extra values"):
        c.table(None, [("a", [1.0], 1.0)], extra=("note",))


def test_append_results_adds_heading_once_then_text_and_environment(tmp_path):
    c, path = _common(), tmp_path / "RESULTS.md"
    c.append_results("first table", path)
    c.append_results("second table", path)
    text = path.read_text()
    assert text.startswith(c.HEADING) and text.count(c.HEADING) == 1
    assert text.index("first table") < text.index("second table")
    assert text.count("python ") == 2 and text.count("load average ") == 2


def test_lstm_flop_count_is_two_per_weight_per_step_and_sequence(monkeypatch):
    """bench_pretrain's FLOP floor counts 2 FLOPs (multiply + add) per LSTM weight per step."""
    from torch import nn

    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_pretrain", BENCH / "bench_pretrain.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for n_in, hidden, layers in ((51, 128, 2), (7, 16, 3), (5, 8, 1)):
        lstm = nn.LSTM(n_in, hidden, layers)
        weights = sum(p.numel() for name, p in lstm.named_parameters() if "weight" in name)
        assert mod._lstm_flops(73, 20, n_in, hidden, layers) == 2 * weights * 73 * 20


def test_families_floor_counts_the_sample_passes_run(monkeypatch):
    """bench_families' training floor: epochs x min(n_train, budget) passes at 3x the forward,
    plus validation forwards (one more epoch for a warm start), per window."""
    from types import SimpleNamespace as NS

    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_families", BENCH / "bench_families.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = NS(train=NS(max_samples_per_epoch=100, max_val_samples=10),
             model=NS(hidden=8, layers=1), features=NS(seq_len=5))  # fmt: skip
    metas = [{"features": ["a", "b"], "val": {"n_train": 50, "n_val": 40, "epochs": 2,
                                             "warm": False}},
             {"features": ["a", "b"], "val": {"n_train": 500, "n_val": 5, "epochs": 3,
                                             "warm": True}}]  # fmt: skip
    fwd = mod._lstm_flops(1, 5, 3, 8, 1)
    seconds, note = mod._floor_s(metas, cfg, rate=1e9)
    train, val = 2 * 50 + 3 * 100, 2 * 10 + 4 * 5
    assert seconds == pytest.approx((3 * fwd * train + fwd * val) / 2 / 1e9)
    assert note.startswith(f"{train} train, {val} val sample-passes")


def test_every_family_floor_counts_its_own_passes(monkeypatch):
    """_train_floor: SSL views, universe fine-tune (forward only when frozen), embed-gbm's encoder
    epochs and embedding forwards, lstm-portfolio's every point each epoch with attention."""
    from types import SimpleNamespace as NS

    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("_train_floor", BENCH / "_train_floor.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = NS(train=NS(max_samples_per_epoch=100, max_val_samples=10), features=NS(seq_len=5),
             model=NS(ssl=NS(method="contrastive", max_samples_per_epoch=30),
                      universe=NS(epochs=2)))  # fmt: skip

    def counts(train=0, fwd_only=0, val=0, ssl=0, embed=0):
        return {"train": train, "fwd_only": fwd_only, "val": val, "ssl": ssl, "embed": embed}

    v = {"n_train": 500, "n_val": 40, "epochs": 3, "warm": False, "ssl_loss": [1.0, 0.5]}
    assert mod.passes("lstm+contrastive", v, cfg, n_ssl=1000) == counts(300, 0, 30, 2 * 30 * 2)
    assert mod.passes("lstm+contrastive", v, cfg, n_ssl=7)["ssl"] == 2 * 7 * 2
    u = {"n_train": 5000, "n_val": 400, "epochs": 2, "warm": False, "finetune": "frozen",
         "ft_n_train": 50, "ft_n_val": 8}  # fmt: skip
    assert mod.passes("lstm-universe", u, cfg, 0) == counts(200, 100, 20 + 2 * 8)
    u["finetune"] = "progressive"
    assert mod.passes("lstm-universe", u, cfg, 0) == counts(200 + 100, 0, 20 + 3 * 8)
    e = {"n_train": 500, "n_val": 40, "encoder_epochs": 4, "rounds": 9}
    assert mod.passes("embed-gbm", e, cfg, 0) == counts(400, 0, 40, embed=540)
    p = {"n_train": 500, "n_val": 40, "epochs": 4, "best_epoch": 2}
    assert mod.passes("lstm-portfolio", p, cfg, 0) == counts(2000, 0, 160)
    lstm, attn = mod.Shape(3, 8, 1), mod.Shape(3, 8, 1, attention=True)
    assert attn.forward(5) - lstm.forward(5) == 4 * 5 * 64 + 4 * 64 + 4 * 5 * 8  # the MHA's
    sec, note = mod.floor_s("lstm-portfolio", [{"val": p}], cfg, attn, 1e9, [0])
    assert sec == pytest.approx(attn.forward(5) * (3 * 2000 + 160) / 1e9)
    assert note.startswith("2000 train, 160 val sample-passes")
