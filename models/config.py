"""Model-layer config sections: features, walk-forward windows, network, training (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from simulator.core.choices import check_choices

__all__ = [
    "FAMILIES",
    "FAMILY_STRATEGIES",
    "INFO_SET_LAGS",
    "PRICE_FEATURES",
    "TARGETS",
    "FeatureConfig",
    "WindowConfig",
    "RidgeConfig",
    "GBMConfig",
    "UniverseConfig",
    "PortfolioConfig",
    "SSLConfig",
    "EmbedGBMConfig",
    "FactorConfig",
    "ModelConfig",
    "TrainConfig",
    "PretrainConfig",
]


# information set -> agent lag: episodes between an agent output and the first day it may inform.
# The one table of names; models.infoset.InfoSet holds the rules built on it.
INFO_SET_LAGS = MappingProxyType({"strict": 1, "recorded": 0})
# model families (models/families/<name>.py, a "-" in the name is "_" in the module's)
FAMILIES = ("lstm", "ridge", "gbm", "lstm-universe", "lstm-portfolio", "embed-gbm", "factor")
# the `wfsim replay --strategy` that serves a family's models: lstm-portfolio's predictions are
# weights of NAV (agents.portfolio), every other family's are return forecasts (agents.lstm)
FAMILY_STRATEGIES = MappingProxyType(
    {f: "lstm" for f in FAMILIES} | {"lstm-portfolio": "lstm-portfolio"}
)
REBALANCE_DAYS = (1, 5, 21)  # model.portfolio.rebalance choices
# the price features of models.features (each from prices before the open of its day)
PRICE_FEATURES = ("ret1", "ret5", "ret20", "vol20", "gap", "intraday", "ma5_dist", "ma20_dist")
TARGETS = ("raw", "demeaned", "rank")  # training target (models.targets.fit_target)


@dataclass(frozen=True, kw_only=True, slots=True)
class FeatureConfig:
    """Which information the features may use, and the target."""

    # "strict": agent outputs lagged one episode; "recorded": as recorded (leaky)
    info_set: str = "strict"  # a key of INFO_SET_LAGS
    seq_len: int = 20  # episodes per input sequence
    horizon: int = 1  # target = open(t) -> open(t+horizon) return
    ranks: bool = True  # add cross-sectional ranks of the price features
    # working memory of build_features in MB (0: all days at once); a resource, not hashed: every
    # output byte is the same under any budget
    memory_mb: int = field(default=512, metadata={"hash": False})

    def __post_init__(self) -> None:
        if self.info_set not in INFO_SET_LAGS:
            raise ValueError(f"info_set={self.info_set!r}, expected one of {tuple(INFO_SET_LAGS)}")
        if self.seq_len < 1:
            raise ValueError(f"seq_len={self.seq_len}, expected >= 1")
        if self.horizon < 1:
            raise ValueError(f"horizon={self.horizon}, expected >= 1")
        if self.memory_mb < 0:
            raise ValueError(f"memory_mb={self.memory_mb}, expected >= 0 (0: no budget)")


@dataclass(frozen=True, kw_only=True, slots=True)
class WindowConfig:
    """Walk-forward windows: expanding or sliding training ranges, each serving `step` episodes."""

    kind: Literal["expanding", "sliding"] = "expanding"
    initial: int = 250  # episodes in the first training range
    step: int = 21  # episodes each model serves; a new model every `step`

    def __post_init__(self) -> None:
        check_choices(self)
        if self.initial < 2:
            raise ValueError(f"initial={self.initial}, expected >= 2")
        if self.step < 1:
            raise ValueError(f"step={self.step}, expected >= 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class RidgeConfig:
    """Family ``ridge``: closed-form ridge on the standardised features of the last ``lags``
    steps."""

    alpha: float = 1.0  # L2 penalty on the standardised inputs (intercept not penalised)
    lags: int = 1  # steps t, t-1, .. flattened (1 = the features of day t only)

    def __post_init__(self) -> None:
        if self.alpha < 0:
            raise ValueError(f"alpha={self.alpha}, expected >= 0")
        if self.lags < 1:
            raise ValueError(f"lags={self.lags}, expected >= 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class GBMConfig:
    """Family ``gbm``: a LightGBM regressor on the raw features of the last ``lags`` steps."""

    n_estimators: int = 200  # boosting rounds (the best validation round is kept)
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8  # row subsample per round (seeded)
    lambda_l2: float = 1.0
    early_stopping: int = 20  # rounds without validation improvement (0 = off)
    lags: int = 1  # steps t, t-1, .. flattened
    num_threads: int = 2

    def __post_init__(self) -> None:
        if min(self.n_estimators, self.num_leaves, self.min_data_in_leaf, self.lags) < 1:
            raise ValueError("n_estimators, num_leaves, min_data_in_leaf and lags must be >= 1")
        if self.num_leaves < 2:
            raise ValueError(f"num_leaves={self.num_leaves}, expected >= 2")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate={self.learning_rate}, expected > 0")
        for name in ("feature_fraction", "bagging_fraction"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)}, expected in (0, 1]")
        if self.lambda_l2 < 0 or self.early_stopping < 0 or self.num_threads < 1:
            raise ValueError("lambda_l2, early_stopping must be >= 0 and num_threads >= 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class FactorConfig:
    """Family ``factor``: one classical pre-open price factor, no training (a baseline that
    cannot overfit): the prediction of (t, k) is ``sign * feature[t, k]``."""

    feature: str = "ret5"  # one of models.features.PRICE_FEATURES (known before the open of t)
    sign: int = -1  # -1: reversal (losers up), +1: momentum

    def __post_init__(self) -> None:
        if self.feature not in PRICE_FEATURES:
            raise ValueError(
                f"feature={self.feature!r}, expected one of {', '.join(PRICE_FEATURES)}"
            )
        if self.sign not in (-1, 1):
            raise ValueError(f"sign={self.sign}, expected -1 or 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class UniverseConfig:
    """Family ``lstm-universe``: the LSTM trained on the whole universe, then (optionally)
    fine-tuned on the consensus tickers (``models.finetune``)."""

    finetune: Literal["none", "frozen", "progressive", "discriminative"] = "none"
    epochs: int = 3  # fine-tune epochs (each one draw of train.max_samples_per_epoch)
    lr: float = 5e-4  # fine-tune learning rate (the head's, under discriminative)
    layer_decay: float = 0.5  # discriminative: each layer group toward the input gets lr * this
    # price: the model reads only the price block (what every ticker has); all: every feature
    # (the analyst block exists only on covered tickers: a train/serve shift, models.families.
    # lstm_universe)
    inputs: Literal["price", "all"] = "price"
    # universe: train on every priced point; consensus: only on the prediction points (the
    # ablation that isolates what the universe's samples add, same model and inputs)
    train_points: Literal["universe", "consensus"] = "universe"

    def __post_init__(self) -> None:
        check_choices(self)
        if self.epochs < 1:
            raise ValueError(f"epochs={self.epochs}, expected >= 1")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr}, expected > 0")
        if not 0.0 < self.layer_decay <= 1.0:
            raise ValueError(f"layer_decay={self.layer_decay}, expected in (0, 1]")


@dataclass(frozen=True, kw_only=True, slots=True)
class PortfolioConfig:
    """Family ``lstm-portfolio``: LSTM + attention over time -> constrained portfolio weights,
    trained on the negative Sharpe ratio of the window's daily portfolio returns net of costs
    (``models.portfolio`` states the weight map and the loss)."""

    hidden: int = 32  # LSTM hidden size (a multiple of heads)
    layers: int = 1  # LSTM layers
    heads: int = 2  # attention heads over the LSTM's outputs
    dropout: float = 0.1  # between LSTM layers and in the attention
    long_only: bool = True  # False: long/short, gross exposure <= 1
    top_k: int = 20  # names held at most
    max_weight: float = 0.1  # |weight| per name, as a fraction of NAV
    max_turnover: float = 2.0  # sum |w_t - w_prev| per rebalance (2.0: no limit)
    rebalance: int = 1  # rebalance on days t with t % rebalance == 0 (1, 5 or 21)
    risk_aversion: float = 0.0  # mean-variance layer's gamma (0 = off)
    cov_days: int = 60  # days of close-to-close returns in its covariance
    shrink: float = 0.5  # covariance shrinkage toward its diagonal
    # turnover cost in the loss per unit of turnover; None: the recorded fee rate (episodes.account)
    cost_rate: float | None = None
    batch_days: int = 32  # consecutive training days per Sharpe-ratio batch

    def __post_init__(self) -> None:
        if min(self.hidden, self.layers, self.heads, self.cov_days) < 1 or self.batch_days < 2:
            raise ValueError("hidden, layers, heads, cov_days must be >= 1 and batch_days >= 2")
        if self.hidden % self.heads:
            raise ValueError(f"hidden={self.hidden}, expected a multiple of heads={self.heads}")
        if self.top_k < 1:  # and <= the recorded cap: checked by the family's fit
            raise ValueError(f"top_k={self.top_k}, expected >= 1")
        if not 0.0 < self.max_weight <= 1.0:
            raise ValueError(f"max_weight={self.max_weight}, expected in (0, 1]")
        if not self.max_turnover > 0:
            raise ValueError(f"max_turnover={self.max_turnover}, expected > 0")
        if self.rebalance not in REBALANCE_DAYS:
            raise ValueError(f"rebalance={self.rebalance}, expected one of {REBALANCE_DAYS}")
        if self.risk_aversion < 0 or (self.cost_rate is not None and self.cost_rate < 0):
            raise ValueError("risk_aversion and cost_rate must be >= 0")
        if not 0.0 <= self.shrink <= 1.0 or not 0.0 <= self.dropout < 1.0:
            raise ValueError("shrink must be in [0, 1] and dropout in [0, 1)")


@dataclass(frozen=True, kw_only=True, slots=True)
class SSLConfig:
    """Self-supervised pretraining of the LSTM encoder before fine-tuning (``models.ssl``)."""

    method: Literal["none", "masked", "contrastive"] = "none"
    epochs: int = 3  # passes over (a draw of) the window's unlabeled sequences
    lr: float = 1e-3  # Adam learning rate of the pretraining
    max_samples_per_epoch: int = 4096  # sequences per epoch (0 = all): recent days + a random draw
    mask_frac: float = 0.15  # masked: share of a sequence's steps hidden and reconstructed
    temperature: float = 0.1  # contrastive: NT-Xent temperature
    jitter: float = 0.1  # contrastive: std of the Gaussian noise added to the scaled features
    feature_drop: float = 0.1  # contrastive: share of features zeroed in a view
    crop_min: float = 0.6  # contrastive: a view keeps a contiguous crop of >= this share of steps
    proj_dim: int = 32  # contrastive: projection head output size

    def __post_init__(self) -> None:
        check_choices(self)
        if self.epochs < 1 or self.proj_dim < 1 or self.max_samples_per_epoch < 0:
            raise ValueError("epochs and proj_dim must be >= 1, max_samples_per_epoch >= 0")
        if self.lr <= 0 or self.temperature <= 0 or self.jitter < 0:
            raise ValueError("lr and temperature must be > 0, jitter >= 0")
        for name in ("mask_frac", "crop_min"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)}, expected in (0, 1]")
        if not 0.0 <= self.feature_drop < 1.0:
            raise ValueError(f"feature_drop={self.feature_drop}, expected in [0, 1)")


@dataclass(frozen=True, kw_only=True, slots=True)
class EmbedGBMConfig:
    """Family ``embed-gbm``: LSTM-encoder embeddings plus the raw features into ``model.gbm``."""

    embeddings: bool = True  # YAML on|off; off: exactly the gbm family (no encoder is trained)
    embedding_size: int = 128  # = model.hidden: the encoder state; else a fixed random projection

    def __post_init__(self) -> None:
        if self.embedding_size < 1:
            raise ValueError(f"embedding_size={self.embedding_size}, expected >= 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelConfig:
    """The model family, its training target, and each family's own section.

    ``hidden`` .. ``attention`` are the ``lstm`` family's TickerLSTMModel shape (kept flat, as
    before families existed); ``ridge`` and ``gbm`` are those families' sections.
    """

    family: str = "lstm"  # one of FAMILIES
    target: str = "raw"  # raw return, demeaned (minus the day's mean) or rank (in [-0.5, 0.5])
    hidden: int = 128
    layers: int = 2
    dropout: float = 0.2
    embed_dim: int = 16
    attention: bool = False  # attention pooling over time instead of the last step
    # the points a family learns from: prediction (the day's prediction points, the consensus
    # tickers) or universe (every ticker with prices before the open, ~8x the samples); it still
    # predicts the served points. For lstm, ridge, gbm, embed-gbm (hashed once set; left out at
    # its default, so existing registries keep their hashes); lstm-universe always takes
    # model.universe.train_points (universe must agree with it); lstm-portfolio: prediction only
    train_points: Literal["prediction", "universe"] = field(
        default="prediction", metadata={"hash": "unless-default"}
    )
    ridge: RidgeConfig = field(default_factory=RidgeConfig)
    gbm: GBMConfig = field(default_factory=GBMConfig)
    universe: UniverseConfig = field(default_factory=UniverseConfig)
    portfolio: PortfolioConfig = field(default_factory=PortfolioConfig)
    ssl: SSLConfig = field(default_factory=SSLConfig)  # lstm encoders (lstm, embed-gbm)
    embed_gbm: EmbedGBMConfig = field(default_factory=EmbedGBMConfig)
    # added later: left out of every hash at its default, so earlier configs keep their hashes
    factor: FactorConfig = field(default_factory=FactorConfig, metadata={"hash": "unless-default"})

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family={self.family!r}, expected one of {', '.join(FAMILIES)}")
        if self.target not in TARGETS:
            raise ValueError(f"target={self.target!r}, expected one of {', '.join(TARGETS)}")
        check_choices(self)
        if self.train_points == "universe" and (
            self.family == "lstm-portfolio"
            or (self.family == "lstm-universe" and self.universe.train_points != "universe")
        ):
            raise ValueError(
                f"train_points={self.train_points!r} does not fit family={self.family!r} "
                f"(expected 'prediction': lstm-portfolio trains on its days' points, "
                f"lstm-universe on model.universe.train_points)"
            )
        if self.hidden < 1 or self.layers < 1 or self.embed_dim < 0:
            raise ValueError(
                f"hidden={self.hidden}, layers={self.layers}, embed_dim={self.embed_dim}: "
                "expected hidden, layers >= 1 and embed_dim >= 0 (0: no ticker embedding)"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout}, expected in [0, 1)")


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig:
    """Trainer settings (Adam, early stopping, warm start)."""

    lr: float = 1e-3
    batch_size: int = 256
    max_epochs: int = 8
    patience: int = 2
    val_frac: float = 0.15
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    warm_start: bool = True  # initialise window k from window k-1
    warm_lr_factor: float = 0.3  # fine-tune learning rate = lr * warm_lr_factor
    warm_epochs: int = 3  # fine-tune epochs when warm-starting
    max_samples_per_epoch: int = (
        4096  # per-epoch sample budget (0 = all): recent days + a random draw
    )
    recent_days: int = 21  # the newest training days, always in an epoch's draw
    ticker_dropout: float = 0.05  # share of training samples shown as the "unseen" ticker
    max_val_samples: int = 2048  # validation rows scored per epoch (0 = all): a fixed seeded draw
    # torch intra-op threads per training process; a resource, not hashed: the artifacts are the
    # same bytes at 1 or 2 threads (tests/unit/models/test_threads.py); libgomp's idle spin is
    # bounded (simulator.core.omp), so 2 threads do not collapse on a busy machine
    torch_threads: int = field(default=2, metadata={"hash": False})
    device: Literal["cpu", "cuda"] = "cpu"
    # fp32, or bf16 mixed precision (torch.autocast: bfloat16 matrix products, float32 weights and
    # loss; models.accel). Changes the float bits, so hashed once set (left out at its default)
    precision: Literal["fp32", "bf16"] = field(default="fp32", metadata={"hash": "unless-default"})
    # the LSTM kernel in training (lstm, lstm-universe, embed-gbm's encoder, lstm-portfolio):
    # torch = nn.LSTM (oneDNN here); fused = models.lstm_fused (big GEMMs, hand-written backward).
    # Changes the float bits of the weights, so hashed once set; left out
    # of the hash at its default, so registries pretrained before the option stay valid
    lstm_kernel: Literal["torch", "fused"] = field(
        default="torch", metadata={"hash": "unless-default"}
    )

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"lr={self.lr}, expected > 0")
        if self.batch_size < 1 or self.max_epochs < 1 or self.warm_epochs < 1:
            raise ValueError("batch_size, max_epochs and warm_epochs must be >= 1")
        if not 0.0 < self.val_frac < 0.5:
            raise ValueError(f"val_frac={self.val_frac}, expected in (0, 0.5)")
        if min(self.max_samples_per_epoch, self.recent_days, self.max_val_samples) < 0:
            raise ValueError("max_samples_per_epoch, recent_days, max_val_samples must be >= 0")
        if not 0.0 <= self.ticker_dropout < 1.0:
            raise ValueError(f"ticker_dropout={self.ticker_dropout}, expected in [0, 1)")
        if self.torch_threads < 1:
            raise ValueError(f"torch_threads={self.torch_threads}, expected >= 1")
        if not self.grad_clip > 0:
            raise ValueError(f"grad_clip={self.grad_clip}, expected > 0")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay={self.weight_decay}, expected >= 0")
        if not self.warm_lr_factor > 0:
            raise ValueError(f"warm_lr_factor={self.warm_lr_factor}, expected > 0")
        if self.lstm_kernel == "fused" and self.device != "cpu":
            raise ValueError(f"lstm_kernel=fused runs on the CPU only (device={self.device!r})")
        if self.lstm_kernel == "fused" and self.precision != "fp32":
            raise ValueError(
                f"lstm_kernel=fused trains in fp32 only (precision={self.precision!r})"
            )
        check_choices(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class PretrainConfig:
    """Everything a window's model depends on: the run seed and the four model-layer sections.

    ``simulator.config.RunConfig.pretrain_config()`` builds it; pretrain, the manager and serving
    read nothing else, and ``models.pretrain.pretrain_sections`` hashes exactly these fields.
    """

    seed: int = 42
    features: FeatureConfig = FeatureConfig()
    windows: WindowConfig = WindowConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()

    def __post_init__(self) -> None:
        tc = self.train
        # lstm-portfolio's Sharpe loss runs in float64 on tensors built on the CPU per block;
        # ridge and gbm train no torch model (device and precision do not apply to them)
        if self.model.family == "lstm-portfolio" and (tc.device, tc.precision) != ("cpu", "fp32"):
            raise ValueError(
                f"family lstm-portfolio trains on the CPU in fp32 only (device={tc.device!r}, "
                f"precision={tc.precision!r}, expected cpu and fp32; cuda and bf16 train lstm, "
                "lstm-universe and embed-gbm's encoder)"
            )
