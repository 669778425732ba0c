"""One day's inference of a neural family against its FLOP floor (bench_families' infer rows).

The floor of a predict is the FLOPs of the network work it must do / the best torch.mm rate of
the recurrent GEMM shape ``[n, H] x [H, 4H]`` measured in the same process at the same thread
count (``bench_pretrain._gemm_rate``, ``n`` = sequences in the forward). The FLOPs:

* lstm, lstm-universe, lstm + SSL (a ``ModelBundle``): the LSTM of the day's ``n`` points
  (``bench_pretrain._lstm_flops``; the head and embedding are < 0.1 % of it and not counted);
* embed-gbm: its encoder's LSTM the same way (the ``encoder`` row times ``embeddings`` only; the
  ``infer`` row is the whole predict, LightGBM's trees included, against the same floor);
* lstm-portfolio: a day's predict runs the weight path from the window's serve start to the day
  (``models.families.lstm_portfolio``), so its forward covers every point of those days: the LSTM
  plus the multi-head attention (q, k, v in-projections over the L steps, scores, weighted sum,
  out-projection: ``4 L H^2 + 4 H^2 + 4 L H`` per sequence). The weight map is not counted.

Rows: ``<case>_infer_t<n>`` whole ``WalkForwardModelManager.predict(day)`` (ratio: median / floor);
``<case>_lstm_t<n>`` the bare LSTM op on that day's input, nothing else (lstm-portfolio: its
``nn.LSTM`` on a random input of the path's shape: the bound its own LSTM sets on the ratio);
``<case>_encoder_t<n>`` (embed-gbm) the embeddings. Notes give the floor, min / floor, points.
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


def _work(pred, fs, day: int, n: int) -> tuple[int, int, float, str]:
    """(sequences in the forward, hidden, FLOPs, what is counted) of one day's predict."""
    import numpy as np

    enc = getattr(pred, "encoder", pred)  # embed-gbm: its encoder; ModelBundle: itself
    if hasattr(enc, "seq_len") and hasattr(enc, "model"):
        m = enc.model
        flops = _lstm_flops(n, enc.seq_len, m.n_features + 1, m.cfg.hidden, m.cfg.layers)
        return n, m.cfg.hidden, flops, "LSTM"
    pc, steps = pred.pc, pred.seq_len  # lstm-portfolio: the path's points
    span = slice(min(pred.serve_start, day), day + 1)
    seqs = int(np.count_nonzero(fs.sample[span]))
    flops = _lstm_flops(seqs, steps, pred.net.n_features + 1, pc.hidden, pc.layers)
    flops += _mha_flops(seqs, steps, pc.hidden)
    return seqs, pc.hidden, flops, f"LSTM + attention of {span.stop - span.start} days' points"


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
    n, reps = len(k_idx), args.repeat * 20
    pred = mgr.model_for(day)
    seqs, hidden, flops, what = _work(pred, data.fs, day, n)
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
    if hasattr(pred, "net"):  # lstm-portfolio: its LSTM op alone on an input of the path's shape
        x = torch.randn(seqs, pred.seq_len, pred.net.n_features + 1)
        with torch.inference_mode():
            bare = time_runs(lambda: pred.net.lstm(x), reps, args.warmup)
        rows.append(row("lstm", bare, f", its nn.LSTM alone on a random [{seqs}, L, F+1] input"))
    return rows
