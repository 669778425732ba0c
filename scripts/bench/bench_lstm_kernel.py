"""Benchmark the LSTM kernels (``train.lstm_kernel: torch | fused``) against the GEMM FLOP floor.

Rows: case, median_s, min_s, ratio, note, cores, torch threads. Appended to RESULTS.md unless
--no-append. Every floor is FLOPs / the best torch.mm rate of the recurrent GEMM shape
[batch, H] x [H, 4H] measured in the same process at the same thread count (bench_pretrain's
``_gemm_rate``, the rate the floor rows of bench_families use).

  gemm_<shape>_t<n>        one torch.mm of a shape the fused kernel runs; ratio: its rate / the
                           floor rate (how far below the floor's rate the kernel's GEMMs run)
  <kernel>_fwdbwd_t<n>     forward + backward of one training batch [batch, L, F+1] through the
                           2-layer LSTM (train mode, dropout on), nothing else; ratio: to the
                           batch's FLOP floor (3 x forward FLOPs). torch and fused interleaved
  fused_gemms_t<n>         only the GEMMs the fused fwd+bwd runs (same shapes, same order, no
                           element-wise work, no dropout): the bound this design sets; ratio: to
                           the batch's FLOP floor
  <kernel>_infer<N>_t<n>   one day's bare LSTM forward for N prediction points (eval, inference
                           mode); ratio: to its FLOP floor
  predict<N>_t<n>          one day's whole ModelBundle.predict of N points (gather, scale, the
                           2-layer LSTM, head; a seeded untrained model on random features, the
                           default shape), interleaved with the rows above (the order rotates
                           each round: no case always follows the same one); ratio: to the same
                           floor; predict_old<N>_t<n>: the path it replaced (gather_sequences,
                           Scaler.transform, model(x, mask, tok)), checked bit for bit first
  pretrain_<kernel>_s<seed>  --store: one whole local pretrain (every window, --pretrain-threads
                           threads); ratio: wall / the training FLOP floor (bench_families'
                           ``_floor_s`` x windows); note: CPU seconds and the pooled OOS IC

Usage:
  python scripts/bench/bench_lstm_kernel.py [--threads 1,2] [--store S --seeds 42,43]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from _common import ROOT, add_common_args, median, report, table

sys.path.insert(0, str(ROOT))

from bench_pretrain import _gemm_rate, _lstm_flops  # noqa: E402

KERNELS = ("torch", "fused")


def _lstm(n_in: int, cfg, kernel: str):
    import torch

    from models.lstm_fused import fused_lstm

    m = cfg.model
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(n_in, m.hidden, m.layers, batch_first=True,
                         dropout=m.dropout if m.layers > 1 else 0.0)  # fmt: skip
    if kernel == "torch":
        return lstm, lambda x: lstm(x)[0]
    return lstm, lambda x: fused_lstm(lstm, x)


def _check(n_in: int, cfg) -> None:
    """Fused outputs and every gradient allclose to nn.LSTM's (same weights, batch, dropout)."""
    import torch

    lstm, fused = _lstm(n_in, cfg, "fused")
    x = torch.randn(cfg.train.batch_size, cfg.features.seq_len, n_in)
    grads = []
    for fn in (lambda v: lstm(v)[0], fused):
        torch.manual_seed(1)
        lstm.zero_grad(set_to_none=True)
        out = fn(x)
        out[:, -1].pow(2).sum().backward()
        grads.append([out.detach(), *(p.grad for p in lstm.parameters())])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5 * float(a.abs().max()))


def _gemm_rows(cfg, n_in: int, rate: float, threads: int) -> list[tuple]:
    import torch

    b, steps, hid = cfg.train.batch_size, cfg.features.seq_len, cfg.model.hidden
    shapes = {  # (m, k, n) of C[m, n] = A[m, k] B[k, n]
        "step_fwd": (b, hid, 4 * hid),
        "step_bwd": (b, 4 * hid, hid),
        "inproj": (steps * b, n_in, 4 * hid),
        "dW_hh": (4 * hid, steps * b, hid),
        "dW_ih": (4 * hid, steps * b, n_in),
    }
    rows = []
    for name, (m, k, n) in shapes.items():
        a, w, out = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
        times = _times(lambda a=a, w=w, out=out: torch.mm(a, w, out=out), 50, 5)
        got = 2.0 * m * k * n / min(times)
        note = f"[{m},{k}]x[{k},{n}]: {got / 1e9:.1f} GFLOP/s (floor rate {rate / 1e9:.1f})"
        rows.append(((f"gemm_{name}_t{threads}", times, got / rate, note), threads))
    return rows


def _times(fn, repeat: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _gemms_only(cfg, n_in: int):
    """A callable running the fused kernel's GEMM sequence for one training batch, nothing else."""
    import torch

    b, steps, hid, layers = (
        cfg.train.batch_size,
        cfg.features.seq_len,
        cfg.model.hidden,
        cfg.model.layers,
    )
    bufs = []
    for k in range(layers):
        i = n_in if k == 0 else hid
        bufs.append((torch.randn(steps * b, i), torch.randn(4 * hid, i), torch.randn(4 * hid, hid),
                     torch.randn(steps * b, 4 * hid), torch.randn(b, hid), k > 0))  # fmt: skip

    def run() -> None:
        for x, wi, wh, _g, h, _need in bufs:
            torch.mm(x, wi.t())
            for _ in range(steps - 1):
                torch.mm(h, wh.t())
        for x, wi, wh, g, _h, need_dx in reversed(bufs):
            for t in range(steps - 1):
                torch.mm(g[t * b : (t + 1) * b], wh)
            if need_dx:
                torch.mm(g, wi)
            torch.mm(g.t(), x)
            torch.mm(g[b:].t(), g[b:, :hid])

    return run


def _day_predict(n: int, n_in: int, cfg):
    """Callables (argument unused) running ``ModelBundle.predict`` for one day of ``n`` points,
    and the path it replaced (checked bit for bit equal first): a seeded model of the config's
    shape with ``n_in - 1`` features, random features with some days missing, the scaler fitted
    on them."""
    import numpy as np
    import torch

    from models.features import FeatureSet, Scaler, gather_sequences
    from models.lstm import UNSEEN, ModelBundle, TickerLSTMModel, token_ids

    steps, f = cfg.features.seq_len, n_in - 1
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps + 5, n, f)).astype(np.float32)
    has = rng.random(x.shape[:2]) > 0.05
    x[~has] = 0.0
    names = tuple(f"f{i}" for i in range(f))
    fs = FeatureSet(names, x, has, has, np.zeros(has.shape, np.float32), np.arange(len(x)), 1)
    tickers = [f"T{i}" for i in range(n)]
    model = TickerLSTMModel(f, n + 1, cfg.model, seed=0).eval()
    bundle = ModelBundle(model, Scaler(names).fit(x.reshape(-1, f)), (UNSEEN, *sorted(tickers)),
                         names, steps, 0.01)  # fmt: skip
    t, k = np.full(n, len(x) - 1, dtype=np.int64), np.arange(n, dtype=np.int64)

    def old(_x):  # the path before models.lstm_infer: gather, transform, model(x, mask, tok)
        xs, mask = gather_sequences(fs, t, k, steps)
        tok = token_ids(bundle.vocab, [tickers[j] for j in k])
        model.eval()
        with torch.inference_mode():
            pred = model(torch.from_numpy(bundle.scaler.transform(xs)), torch.from_numpy(mask),
                         torch.from_numpy(tok))  # fmt: skip
        return pred.numpy() * bundle.y_scale

    new = lambda _x: bundle.predict(fs, t, k, tickers)  # noqa: E731
    if old(None).tobytes() != new(None).tobytes():
        raise AssertionError(f"predict{n}: ModelBundle.predict differs from the old path")
    return new, old


def _kernel_rows(cfg, n_in: int, rate: float, threads: int, args) -> list[tuple]:
    """fwd+bwd of one batch and one day's inference, both kernels interleaved run by run."""
    import torch

    m, b, steps = cfg.model, cfg.train.batch_size, cfg.features.seq_len
    nets = {k: _lstm(n_in, cfg, k) for k in KERNELS}
    x = torch.randn(b, steps, n_in)
    floor = 3.0 * _lstm_flops(b, steps, n_in, m.hidden, m.layers) / rate
    wall = {k: [] for k in KERNELS}
    cpu = {k: [] for k in KERNELS}
    for r in range(args.warmup + args.repeat * 4):
        for k, (lstm, fn) in nets.items():
            lstm.train()
            t0, c0 = time.perf_counter(), time.process_time()
            fn(x)[:, -1].sum().backward()
            if r >= args.warmup:
                wall[k].append(time.perf_counter() - t0)
                cpu[k].append(time.process_time() - c0)
    rows = []
    gemms = _times(_gemms_only(cfg, n_in), args.repeat * 4, args.warmup)
    note = f"batch {b}: floor {floor * 1e3:.1f} ms"
    rows.append(((f"fused_gemms_t{threads}", gemms, median(gemms) / floor, note), threads))
    for k in KERNELS:
        note = (f"batch {b}: floor {floor * 1e3:.1f} ms at {rate / 1e9:.1f} GFLOP/s; "
                f"CPU {median(cpu[k]) * 1e3:.1f} ms")  # fmt: skip
        rows.append(((f"{k}_fwdbwd_t{threads}", wall[k], median(wall[k]) / floor, note), threads))
    return rows + _infer_rows(cfg, n_in, rate, threads, args)


def _infer_rows(cfg, n_in: int, rate: float, threads: int, args) -> list[tuple]:
    """One day's inference of 60 and 500 points: both kernels' bare forward and the whole
    predict, interleaved run by run."""
    import torch

    m, steps = cfg.model, cfg.features.seq_len
    nets = {k: _lstm(n_in, cfg, k) for k in KERNELS}
    rows = []
    for n in (60, 500):
        xn = torch.randn(n, steps, n_in)
        f = _lstm_flops(n, steps, n_in, m.hidden, m.layers) / rate
        times = {k: [] for k in (*KERNELS, "predict", "predict_old")}
        new, old = _day_predict(n, n_in, cfg)
        cases = [*nets.items(), ("predict", (None, new)), ("predict_old", (None, old))]
        with torch.inference_mode():
            for r in range(args.warmup + args.repeat * 20):
                for k, (lstm, fn) in cases[r % len(cases) :] + cases[: r % len(cases)]:
                    if lstm is not None:
                        lstm.eval()
                    t0 = time.perf_counter()
                    fn(xn)
                    if r >= args.warmup:
                        times[k].append(time.perf_counter() - t0)
        for k in ("predict", "predict_old"):
            note = f"{n} points: floor {f * 1e3:.2f} ms; min/floor {min(times[k]) / f:.3f}"
            rows.append(((f"{k}{n}_t{threads}", times[k], median(times[k]) / f, note), threads))
        for k in KERNELS:
            note = f"{n} points: floor {f * 1e3:.2f} ms"
            rows.append(
                ((f"{k}_infer{n}_t{threads}", times[k], median(times[k]) / f, note), threads)
            )
    return rows


def _pretrain_rows(base, args) -> list[tuple]:
    import torch
    from bench_families import _floor_s, _pretrain

    from models.evaluate import report_frame

    th = args.pretrain_threads
    torch.set_num_threads(th)
    rows, raw, rate = [], [], 0.0
    for seed in args.seeds:
        for k in args.kernels:
            train = dataclasses.replace(base.train, torch_threads=th, lstm_kernel=k)
            cfg = dataclasses.replace(base, train=train, seed=seed)
            c0 = time.process_time()
            wall, out, metas = _pretrain(Path(args.store), cfg.pretrain_config())
            cpu = time.process_time() - c0
            # the best rate of the process so far: one measured under a burst of load is not it
            rate = max(rate, _gemm_rate(cfg.train.batch_size, cfg.model.hidden, 200))
            ic = report_frame(out).set_index("window").loc["pooled", "ic"]
            raw.append((k, seed, wall, cpu, metas, cfg, ic, out))
    for k, seed, wall, cpu, metas, cfg, ic, out in raw:
        floor, fnote = _floor_s(metas, cfg, rate)
        note = (f"{len(metas)} windows, CPU {cpu:.1f} s, pooled OOS IC {ic:+.4f}; floor "
                f"{floor * len(metas):.1f} s ({fnote}); models {out}")  # fmt: skip
        ratio = wall / (floor * len(metas))
        rows.append(((f"pretrain_{k}_s{seed}", [wall], ratio, note), th))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--config", help="YAML config (default: configs/default.yaml)")
    ap.add_argument("--threads", default="1,2", help="torch thread counts of the kernel rows")
    ap.add_argument("--n-in", type=int, default=51, help="LSTM inputs F+1 (51: the real store)")
    ap.add_argument("--store", help="episode store: also time whole pretrains per kernel")
    ap.add_argument("--seeds", default="42", help="pretrain seeds (with --store)")
    ap.add_argument("--pretrain-threads", type=int, default=2)
    ap.add_argument("--kernels", default="torch,fused", help="pretrain kernels (with --store)")
    ap.add_argument("--no-kernel-rows", action="store_true", help="only the pretrain rows")
    ap.add_argument("--infer-only", action="store_true", help="only the infer and predict rows")
    add_common_args(ap, repeat=5, warmup=2, check_help="verify fused == nn.LSTM before timing")
    args = ap.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.kernels = args.kernels.split(",")

    import torch

    from simulator.config import load_config
    from simulator.core.logs import configure_logging

    configure_logging("warning")
    cfg = load_config(Path(args.config) if args.config else None, {"seed": args.seed})
    load = os.getloadavg()[0]
    if args.check:
        _check(args.n_in, cfg)
    rows = []
    for th in () if args.no_kernel_rows else (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(th)
        rate = _gemm_rate(cfg.train.batch_size, cfg.model.hidden, 200)
        if args.infer_only:
            rows += _infer_rows(cfg, args.n_in, rate, th, args)
            continue
        rows += _gemm_rows(cfg, args.n_in, rate, th)
        rows += _kernel_rows(cfg, args.n_in, rate, th, args)
    if args.store:
        rows += _pretrain_rows(cfg, args)
    title = (
        f"### bench_lstm_kernel (load avg {load:.1f} at start, n_in {args.n_in}, config "
        f"{args.config or 'default'}, store {args.store or '-'}, repeat={args.repeat}); ratio: "
        "to the FLOP floor at the recurrent GEMM's best rate (gemm rows: rate / that rate)"
    )
    text = table(title, [r for r, _ in rows], extra=("note",), threads=[t for _, t in rows])
    report(text, args.no_append)


if __name__ == "__main__":
    main()
