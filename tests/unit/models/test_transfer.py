"""Issue 11.6 on the synthetic bed (``universe_bed``): universe pretraining beats consensus-only
training on the consensus names at the same sample-pass budget, and the pretrained model beats
scratch on tickers with < 60 days of history (few-shot).

Protocol: three training seeds per model, the same seeds on both sides; each served day's IC is
the mean over seeds of that day's IC; t over the 119 served days of the paired daily difference
(same points, same days). Figures per seed and on a second market draw (``--bed-seed 2``):
``scripts/bench/bench_transfer.py``. Pooled t on the bed / on the second draw: transfer 4.65 /
2.88, few-shot 5.15 / 5.05, the ablation (same model and inputs, consensus points only) 3.03 /
2.59: the sample-size part of the transfer gain is consistently positive (6 of 6 seed runs) but
clears t > 3 only on this draw, so its test asks for t > 2.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.pretrain import pretrain
from tests.unit.models.universe_bed import bed, bed_config, compare, fit, short_points

pytestmark = pytest.mark.slow  # one bed (800 tickers x 220 days), 3 seeds x four 6-window runs

SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    torch.set_num_threads(1)
    data, history = bed()
    root = tmp_path_factory.mktemp("transfer")
    fits = [fit(data, history, root / str(s), s) for s in SEEDS]
    return data, history, {name: [f[name] for f in fits] for name in fits[0]}


def test_universe_pretraining_beats_consensus_only_training_on_the_consensus(runs):
    data, _, roots = runs
    p = compare(data, data.fs.sample, roots["universe"], roots["consensus"])
    assert p.days >= 100 and p.ic_b > 0  # both see the signal; the universe model sees more
    assert p.diff > 0 and p.t_diff > 3, p


def test_the_universe_samples_themselves_help(runs):
    """Same model, inputs and budget; only the training points differ (universe vs consensus)."""
    data, _, roots = runs
    p = compare(data, data.fs.sample, roots["universe"], roots["consensus_price"])
    assert p.diff > 0 and p.t_diff > 2, p


def test_the_pretrained_model_beats_scratch_on_short_histories(runs):
    data, history, roots = runs
    p = compare(data, short_points(data, history), roots["universe"], roots["scratch"])
    assert p.days >= 100
    assert p.diff > 0 and p.t_diff > 3, p


# model.train_points: universe for the tabular families, training seed 1, the same bed. Over five
# market draws (this one and BED_SEED 2..5, `bench_transfer.py --tabular --repeat 1`) the paired
# daily IC difference (universe - prediction points) is positive on every draw for both families
# and both point sets; t on the consensus: gbm 4.80 / 2.68 / 2.02 / 2.98 / 2.39, ridge 2.99 /
# 1.24 / 1.62 / 2.34 / 0.36; on short histories: gbm 3.42 / 2.25 / 3.38 / 2.25 / 3.53, ridge
# 5.67 / 4.19 / 3.00 / 5.62 / 5.87. This draw is held to t > 3 where the family cleared 3 on most
# draws, t > 2 elsewhere.
TABULAR = {"gbm": {"consensus": 3.0, "short": 2.0}, "ridge": {"consensus": 2.0, "short": 3.0}}


@pytest.mark.parametrize("family", sorted(TABULAR))
def test_universe_training_helps_the_tabular_families(runs, family, tmp_path):
    data, history, _ = runs
    roots = {}
    for points in ("prediction", "universe"):
        cfg = bed_config(family, **{"model.train_points": points, "model.gbm.num_threads": 1})
        pretrain(data, tmp_path / points, dataclasses.replace(cfg, seed=1))
        roots[points] = tmp_path / points
    masks = {"consensus": data.fs.sample, "short": short_points(data, history)}
    for name, mask in masks.items():
        p = compare(data, mask, roots["universe"], roots["prediction"])
        assert p.days >= 100 and p.ic_b > 0, (name, p)
        assert p.diff > 0 and p.t_diff > TABULAR[family][name], (name, p)
