"""One day's inference of a neural family against its FLOP floor (bench_families' infer rows).

The floor of a predict is the FLOPs of the network work it must do / the best torch.mm rate of
the recurrent GEMM shape ``[n, H] x [H, 4H]`` measured in the same process at the same thread
count (``bench_pretrain._gemm_rate``, ``n`` = sequences in the forward). The FLOPs:

* lstm, lstm-universe, lstm + SSL (a ``ModelBundle``): the LSTM of the day's ``n`` points
  (``bench_pretrain._lstm_flops``; the head and embedding are < 0.1 % of it and not counted);
* embed-gbm: its encoder's LSTM the same way (the ``encoder`` row times ``embeddings`` only; the
  ``infer`` row is the whole predict, LightGBM's trees included, against the same floor);
* lstm-portfolio: the LSTM plus the multi-head attention (q, k, v in-projections over the L
  steps, scores, weighted sum, out-projection: ``4 L H^2 + 4 H^2 + 4 L H`` per sequence) of the
  points it forwards; the weight map is not counted. A day's weights continue the path from the
  window's serve start (``models.families.lstm_portfolio``), and the predictor keeps the days it
  has computed: in a replay (days in order) a day costs its own points' forward and one map step.

Rows: ``<case>_infer_t<n>`` whole ``WalkForwardModelManager.predict(day)`` (ratio: median / floor);
``<case>_lstm_t<n>`` the bare LSTM op on that day's input, nothing else (lstm-portfolio: its
``nn.LSTM`` on a random input of one day's shape: the bound its own LSTM sets on the ratio);
``<case>_encoder_t<n>`` (embed-gbm) the embeddings. lstm-portfolio's ``infer`` row is the last
window's serve days predicted in order from a new path (per pass: time / days, floor: the passes'
points / days), and ``<case>_cold_t<n>`` the day 5 days into the window asked first (the path's 6
days, against their 6 days' floor). Notes give the floor, min / floor, points.
"""

from __future__ import annotations

from pathlib import Path

from _common import median, time_runs
from bench_pretrain import _gemm_rate, _lstm_flops


def _mha_flops(n: int, steps: int, hidden: int) -> float:
    """FLOPs of nn.MultiheadAttention with one query over ``steps`` keys, per the module doc."""
    return float(n * (4 * steps * hidden**2 + 4 * hidden**2 + 4 * steps * hidden))


def _check(mgr, models: Path, day: int, fs) -> None:
    """The live predict of ``day`` against the window's saved predictions (pretrain's batch)."""
    import numpy as np
    import pandas as pd

    _, pred = mgr.predict(day, fs)
    saved = pd.read_parquet(models / mgr.window_for(day).id / "predictions.parquet")
    np.testing.assert_allclose(pred, saved[saved["t"] == day]["pred"].to_numpy(), rtol=1e-5)


def _work(pred, n: int) -> tuple[int, int, float, str]:
    """(sequences in the forward, hidden, FLOPs, what is counted) of one day's predict."""
    enc = getattr(pred, "encoder", pred)  # embed-gbm: its encoder; ModelBundle: itself
    if hasattr(enc, "seq_len") and hasattr(enc, "model"):
        m = enc.model
        flops = _lstm_flops(n, enc.seq_len, m.n_features + 1, m.cfg.hidden, m.cfg.layers)
        return n, m.cfg.hidden, flops, "LSTM"
    raise TypeError(f"_work: no LSTM encoder in {type(pred).__name__}")


def _portfolio_flops(pred, seqs: int) -> float:
    """LSTM + attention FLOPs of ``seqs`` sequences of an lstm-portfolio net."""
    pc = pred.pc
    flops = _lstm_flops(seqs, pred.seq_len, pred.net.n_features + 1, pc.hidden, pc.layers)
    return flops + _mha_flops(seqs, pred.seq_len, pc.hidden)


def _portfolio_rows(case: str, mgr, pred, fs, args, threads: int) -> list[tuple]:
    """lstm-portfolio: a replay's days in order (infer), a cold day (cold), its bare LSTM."""
    import dataclasses
    import time

    import numpy as np
    import torch

    e = mgr.registry.entries[-1]
    days = np.arange(e.serve[0], e.serve[1])
    pc, reps = pred.pc, args.repeat * 20
    # the days whose points a pass forwards: the first and every rebalancing day
    fwd = days[(days == days[0]) | (days % pc.rebalance == 0)]
    seqs = int(np.count_nonzero(fs.sample[fwd]))
    per_day = max(1, round(seqs / len(fwd)))

    def timed(day_list) -> float:  # a new FeatureSet object: the predictor starts a new path
        fresh = dataclasses.replace(fs)
        t0 = time.perf_counter()
        for d in day_list:
            mgr.predict(int(d), fresh)
        return time.perf_counter() - t0

    for _ in range(max(1, args.warmup)):
        timed(days)
    seq = [timed(days) / len(days) for _ in range(max(3, reps // len(days)))]
    cold_day = days[:6]
    cold = [timed(cold_day[-1:]) for _ in range(reps)]
    x = torch.randn(per_day, pred.seq_len, pred.net.n_features + 1)
    with torch.inference_mode():
        bare = time_runs(lambda: pred.net.lstm(x), reps, args.warmup)
    n6 = int(np.count_nonzero(fs.sample[cold_day]))
    rate, rate6 = (_gemm_rate(n, pc.hidden, max(reps, 200)) for n in (per_day, n6))

    def row(name: str, ts: list[float], seqs: float, what: str, r: float = rate) -> tuple:
        fl = _portfolio_flops(pred, seqs) / r
        mm = f"{round(seqs)}x{pc.hidden}x{4 * pc.hidden}"
        note = (
            f"{what}; floor {fl * 1e3:.3f} ms = LSTM + attention of {seqs:.1f} points at "
            f"{r / 1e9:.1f} GFLOP/s (best torch.mm {mm}); min/floor {min(ts) / fl:.3f}"
        )
        return (f"{case}_{name}_t{threads}", ts, median(ts) / fl, note), threads

    what = f"{len(days)} serve days in order, per day"
    return [
        row("infer", seq, seqs / len(days), what),
        row("cold", cold, n6, f"day {int(cold_day[-1])} asked first: its path's 6 days", rate6),
        row("lstm", bare, per_day, f"its nn.LSTM alone on a random [{per_day}, L, F+1] input"),
    ]


def infer_rows(case: str, models: Path, data, args, threads: int) -> list[tuple]:
    """The infer rows of one pretrained registry ``models`` at ``threads`` torch threads."""
    import numpy as np
    import torch

    from models.manager import WalkForwardModelManager

    torch.set_num_threads(threads)
    mgr = WalkForwardModelManager(models)
    day = mgr.registry.entries[-1].serve[0] + 5
    if args.check:
        _check(mgr, models, day, data.fs)
    k_idx, _ = mgr.predict(day, data.fs)
    if hasattr(mgr.model_for(day), "net"):
        return _portfolio_rows(case, mgr, mgr.model_for(day), data.fs, args, threads)
    n, reps = len(k_idx), args.repeat * 20
    pred = mgr.model_for(day)
    seqs, hidden, flops, what = _work(pred, n)
    times = time_runs(lambda: mgr.predict(day, data.fs), reps, args.warmup)
    rate = _gemm_rate(seqs, hidden, max(reps, 200))
    floor = flops / rate

    def row(name: str, ts: list[float], extra: str = "") -> tuple:
        note = (f"{n} points{extra}; floor {floor * 1e3:.2f} ms = {flops / 1e6:.0f} MFLOP ({what})"
                f" at {rate / 1e9:.1f} GFLOP/s (best torch.mm {seqs}x{hidden}x{4 * hidden}); "
                f"min/floor {min(ts) / floor:.3f}")  # fmt: skip
        return (f"{case}_{name}_t{threads}", ts, median(ts) / floor, note), threads

    rows = [row("infer", times)]
    t_idx = np.full(n, day, dtype=np.int64)
    if hasattr(pred, "scaler") and hasattr(pred, "model"):  # a ModelBundle: its bare LSTM op
        from models.lstm_infer import lstm_eval, lstm_input

        inp, _ = lstm_input(data.fs, pred.scaler, t_idx, k_idx, pred.seq_len)
        with torch.inference_mode():
            bare = time_runs(lambda: lstm_eval(pred.model.lstm, inp), reps, args.warmup)
        rows.append(row("lstm", bare, ", the LSTM op alone on the built input"))
    if getattr(pred, "encoder", None) is not None:
        from models.families.embed_gbm import embeddings

        enc = time_runs(
            lambda: embeddings(pred.encoder, pred.proj, data.fs, t_idx, k_idx), reps, args.warmup
        )
        rows.append(row("encoder", enc, ", the encoder's embeddings alone"))
    return rows
