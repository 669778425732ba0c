"""Walk-forward windows (scikit-learn splitter style): train on a range, serve the next days."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from models.config import WindowConfig
from simulator.core.errors import ConfigError

__all__ = ["Window", "ExpandingWindows", "SlidingWindows", "from_config"]


@dataclass(frozen=True)
class Window:
    """One walk-forward window: its model trains on days ``train`` and serves days ``serve``.

    ``serve`` starts right after ``train`` ends. Labels reach past their day, so training uses only
    the days whose label is known before the open of ``serve.start`` (see ``purged``).
    """

    id: str
    train: range
    serve: range

    def purged(self, horizon: int) -> range:
        """Training days whose h-day label is known before the first served open: ``t + h < s``.

        >>> Window("w000", range(0, 250), range(250, 271)).purged(1)
        range(0, 249)
        """
        stop = min(self.train.stop, self.serve.start - horizon)
        return range(self.train.start, max(self.train.start, stop))


def _check(name: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise ValueError(f"{name}={value}, expected >= {minimum}")


def _windows(n_days: int, first: int, step: int, size: int | None) -> Iterator[Window]:
    """Check eagerly (at ``split``), then generate."""
    if n_days <= first:
        raise ConfigError(
            "windows",
            "no day left to serve",
            n_days=n_days,
            initial=first,
            expected="initial < n_days",
        )
    return (
        Window(
            f"w{i:03d}", range(0 if size is None else s - size, s), range(s, min(s + step, n_days))
        )
        for i, s in enumerate(range(first, n_days, step))
    )


@dataclass(frozen=True)
class ExpandingWindows:
    """Expanding windows: window i trains on days ``[0, initial + i*step)``, serves ``step`` days.

    The last serve range is truncated at ``n_days``; the serve ranges tile ``[initial, n_days)``.
    Purge (applied by ``models.targets.train_samples``): a window first serving day s trains only
    on days t with ``t + horizon < s``, because the label ``open(t+h)/open(t) - 1`` is known only
    at the open of t+h.

    Examples
    --------
    >>> cv = ExpandingWindows(initial=250, step=21)
    >>> cv
    ExpandingWindows(initial=250, step=21)
    >>> ws = list(cv.split(691))
    >>> len(ws), ws[0]
    (21, Window(id='w000', train=range(0, 250), serve=range(250, 271)))
    >>> ws[-1]
    Window(id='w020', train=range(0, 670), serve=range(670, 691))
    >>> ws[0].purged(horizon=1)  # days whose label is known before the open of day 250
    range(0, 249)
    >>> cv.get_n_splits(813), list(cv.split(813))[-1].serve
    (27, range(796, 813))
    """

    initial: int = 250
    step: int = 21

    def __post_init__(self) -> None:
        _check("initial", self.initial, 1)
        _check("step", self.step, 1)

    def split(self, n_days: int) -> Iterator[Window]:
        """Yield the windows over days ``0 .. n_days-1``."""
        return _windows(n_days, self.initial, self.step, None)

    def get_n_splits(self, n_days: int) -> int:
        return max(0, -(-(n_days - self.initial) // self.step))


@dataclass(frozen=True)
class SlidingWindows:
    """Sliding windows: window i trains on the ``size`` days before ``size + i*step``.

    Same purge and tiling as ``ExpandingWindows``.

    Examples
    --------
    >>> ws = list(SlidingWindows(size=250, step=21).split(691))
    >>> ws[1]
    Window(id='w001', train=range(21, 271), serve=range(271, 292))
    """

    size: int = 250
    step: int = 21

    def __post_init__(self) -> None:
        _check("size", self.size, 1)
        _check("step", self.step, 1)

    def split(self, n_days: int) -> Iterator[Window]:
        """Yield the windows over days ``0 .. n_days-1``."""
        return _windows(n_days, self.size, self.step, self.size)

    def get_n_splits(self, n_days: int) -> int:
        return max(0, -(-(n_days - self.size) // self.step))


def from_config(cfg: WindowConfig) -> ExpandingWindows | SlidingWindows:
    """The splitter a ``WindowConfig`` describes (``sliding`` uses ``initial`` as its size)."""
    if cfg.kind == "sliding":
        return SlidingWindows(size=cfg.initial, step=cfg.step)
    return ExpandingWindows(initial=cfg.initial, step=cfg.step)
