"""Issue 11.6 on the synthetic bed (``universe_bed``): universe pretraining beats consensus-only
training on the consensus names at the same sample-pass budget, and the pretrained model beats
scratch on tickers with < 60 days of history (few-shot). t over the served days of the paired
daily IC difference (same points, same days, same seed). Figures over seeds:
``scripts/bench/bench_transfer.py``."""

from __future__ import annotations

import pytest
import torch

from tests.unit.models.universe_bed import bed, compare, fit, short_points

pytestmark = pytest.mark.slow  # one bed (800 tickers x 220 days) and three 6-window pretrains


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    torch.set_num_threads(1)
    data, history = bed()
    return data, history, fit(data, history, tmp_path_factory.mktemp("transfer"))


def test_universe_pretraining_beats_consensus_only_training_on_the_consensus(runs):
    data, _, roots = runs
    p = compare(data, data.fs.sample, roots["universe"], roots["consensus"])
    assert p.days >= 100 and p.ic_b > 0  # both see the signal; the universe model sees more
    assert p.diff > 0 and p.t_diff > 3, p


def test_the_pretrained_model_beats_scratch_on_short_histories(runs):
    data, history, roots = runs
    p = compare(data, short_points(data, history), roots["universe"], roots["scratch"])
    assert p.days >= 100
    assert p.diff > 0 and p.t_diff > 3, p
