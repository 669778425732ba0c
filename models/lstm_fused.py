"""A fused LSTM layer for the CPU: the non-sequential work in a few large GEMMs, a hand-written
backward (``train.lstm_kernel: fused``; the default ``torch`` is ``nn.LSTM``'s oneDNN kernel).

Per layer, forward: the input projections of all L steps in one GEMM ``X[L*B, I] @ W_ih^T``;
per step only ``h_{t-1} @ W_hh^T`` and the gate update, in place in preallocated buffers.
Backward: the step-local gate derivatives of all steps in a few whole-tensor ops before the loop;
per step only the recurrence (``dc``, ``dh``) and ``dG_t @ W_hh``; then ``dX``, ``dW_ih``,
``dW_hh`` and the bias gradient as one GEMM / reduction each over all steps.

Semantics are ``nn.LSTM(batch_first=True)``'s with zero initial state: gate order i, f, g, o in
the weights, ``b_ih + b_hh``, dropout on every layer's output but the last in training
(``torch.dropout`` on the time-major ``[L, B, H]`` output, as torch's own kernel draws it, so the
masks are the same for the same RNG state). The parameters stay in the ``nn.LSTM`` module, so
checkpoints do not depend on the kernel. Internally the gate rows are permuted to o, i, f, g:
one ``sigmoid_`` covers o, i, f and one ``tanh_`` covers g; in the backward the three blocks that
scale with ``dc`` (i, f, g) are contiguous.
"""

from __future__ import annotations

import torch
from torch import nn

from simulator.kernels.lstm_cell import lstm_bwd_step_nb

__all__ = ["LSTM_KERNELS", "fused_lstm", "LSTMLayerFn"]

LSTM_KERNELS = ("torch", "fused")
# MKL's sgemm here gives other bits at 1 and 2 threads when the rows M are 5-7 or 9-11 (and the
# columns >= 12; any K): measured on every M, N in 1..13, 32, 512 x K in 8, 128, 5120. Batches
# below this are padded with zero rows, whose output gradient is zero: their contributions to
# the weight gradients are exact zeros
MIN_ROWS = 12


def _pad(x: torch.Tensor) -> torch.Tensor:
    """Time-major ``x`` [L, B, I] with zero rows appended up to ``MIN_ROWS``, contiguous."""
    if x.shape[1] >= MIN_ROWS:
        return x.contiguous()
    return torch.cat([x, x.new_zeros(x.shape[0], MIN_ROWS - x.shape[1], x.shape[2])], dim=1)


def _perm(h: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Row order o, i, f, g of torch's i, f, g, o gate rows, and its inverse."""
    order = torch.cat([torch.arange(3 * h, 4 * h), torch.arange(0, 3 * h)]).to(device)
    return order, torch.argsort(order)


def _forward(x, wi, wh, b):
    """Time-major forward: activations G [L, B, 4H] (o, i, f, g), h [L+1, B, H], c, tanh(c).

    ``wi``, ``wh``, ``b`` are in o, i, f, g order with the g rows doubled (exact), so one
    ``sigmoid_`` over all four blocks gives o, i, f and s = sigmoid(2 z_g), and g = 2 s - 1.
    """
    steps, batch, n_in = x.shape
    hid = wh.shape[1]
    # plain mm + add, not addmm: MKL's beta=1 path gave other bits at 1 and 2 threads on small
    # shapes (tests/unit/models/test_lstm_fused.py); plain mm did not on any shape tried
    gates = torch.mm(x.reshape(steps * batch, n_in), wi.t()).view(steps, batch, 4 * hid)
    h = x.new_zeros(steps + 1, batch, hid)
    c = x.new_zeros(steps + 1, batch, hid)
    tc = x.new_empty(steps, batch, hid)
    rec = x.new_empty(batch, 4 * hid)
    wht = wh.t()
    for t in range(steps):
        g = gates[t].add_(b)
        if t:
            g.add_(torch.mm(h[t], wht, out=rec))
        g.sigmoid_()
        g[:, 3 * hid :].mul_(2.0).sub_(1.0)
        torch.mul(g[:, 2 * hid : 3 * hid], c[t], out=c[t + 1])
        c[t + 1].addcmul_(g[:, hid : 2 * hid], g[:, 3 * hid :])
        # tanh(c) as 2 sigmoid(2c) - 1: torch's CPU sigmoid is ~5x faster than its tanh
        torch.mul(c[t + 1], 2.0, out=tc[t]).sigmoid_().mul_(2.0).sub_(1.0)
        torch.mul(g[:, :hid], tc[t], out=h[t + 1])
    return gates, h, c, tc


def _doubled_g(wi, wh, b):
    """Copies of the permuted weights with the g rows (the last H) times 2 (exact in float)."""
    hid = wh.shape[1]
    out = [w.clone() for w in (wi, wh, b)]
    for w in out:
        w[3 * hid :] *= 2.0
    return out


def _backward(dy, x, wi, wh, gates, h, c, tc, need_dx: bool):
    """Gradients (dX or None, dW_ih, dW_hh, db) in the permuted gate order.

    Per step: the gate derivatives in one numba pass over the step's [B, H] blocks
    (``simulator.kernels.lstm_cell``; as torch ops they were 17 small calls per step, and
    precomputed for all steps at once they stream [L, B, H] tensors through memory several
    times), then ``dG_t @ W_hh``. After the loop, one GEMM each for dX, dW_ih, dW_hh.
    """
    steps, batch, n_in = x.shape
    hid = wh.shape[1]
    dgates = x.new_empty(steps, batch, 4 * hid)
    dhn, dc = x.new_zeros(batch, hid), x.new_zeros(batch, hid)
    arrays = [a.numpy() for a in (gates, tc, c, dy, dhn, dc, dgates)]
    for t in range(steps - 1, -1, -1):
        lstm_bwd_step_nb(*arrays, t)
        if t:
            torch.mm(dgates[t], wh, out=dhn)
    dg2 = dgates.view(steps * batch, 4 * hid)
    dx = torch.mm(dg2, wi).view(steps, batch, n_in) if need_dx else None
    dwi = torch.mm(dg2.t(), x.reshape(steps * batch, n_in))
    dwh = torch.mm(dgates[1:].reshape(-1, 4 * hid).t(), h[1:steps].reshape(-1, hid))
    db = dg2.sum(0)
    return dx, dwi, dwh, db


class LSTMLayerFn(torch.autograd.Function):
    """One LSTM layer, time-major ``x`` [L, B, I] -> outputs [L, B, H] (zero initial state)."""

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh):
        order, inv = _perm(w_hh.shape[1], x.device)
        wi, wh, b = w_ih[order], w_hh[order], (b_ih + b_hh)[order]
        ctx.batch = x.shape[1]
        x = _pad(x)
        gates, h, c, tc = _forward(x, *_doubled_g(wi, wh, b))
        ctx.saved = (x, wi, wh, gates, h, c, tc, inv)
        return h[1:, : ctx.batch]

    @staticmethod
    def backward(ctx, dy):
        x, wi, wh, gates, h, c, tc, inv = ctx.saved
        del ctx.saved
        need_dx = ctx.needs_input_grad[0]
        dx, dwi, dwh, db = _backward(_pad(dy), x, wi, wh, gates, h, c, tc, need_dx)
        dx = None if dx is None else dx[:, : ctx.batch]
        db = db[inv]
        return dx, dwi[inv], dwh[inv], db, db.clone()  # two params: two grad tensors


def _infer_layer(x, w_ih, w_hh, b_ih, b_hh):
    """Forward only (no autograd state): outputs [L, B, H]."""
    order, _ = _perm(w_hh.shape[1], x.device)
    wb = _doubled_g(w_ih[order], w_hh[order], (b_ih + b_hh)[order])
    _, h, _, _ = _forward(_pad(x), *wb)
    return h[1:, : x.shape[1]]


def fused_lstm(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """``lstm(x)[0]`` for a batch-first ``x`` [B, L, I], by the fused layers: [B, L, H]."""
    if lstm.bidirectional or lstm.proj_size or not lstm.batch_first or not lstm.bias:
        raise ValueError(
            "fused_lstm: only a uni-directional, batch-first LSTM with biases and no projection "
            f"(bidirectional={lstm.bidirectional}, proj_size={lstm.proj_size}, "
            f"batch_first={lstm.batch_first}, bias={lstm.bias})"
        )
    out = x.transpose(0, 1)
    grad = torch.is_grad_enabled()
    for k in range(lstm.num_layers):
        w = [getattr(lstm, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        out = LSTMLayerFn.apply(out, *w) if grad else _infer_layer(out, *w)
        if k < lstm.num_layers - 1 and lstm.dropout and lstm.training:
            out = torch.dropout(out, lstm.dropout, True)
    return out.transpose(0, 1)
