"""Seed ensembles: a replay served by the mean of several registries' predictions for day t."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from simulator.core.errors import RegistryError

__all__ = ["EnsemblePredictor"]

Member = Callable[[int], tuple[np.ndarray, np.ndarray]]


class EnsemblePredictor:
    """Day t's predictions averaged over member predictors (``models.serve.ModelPredictor``, one
    per registry: the same family and config, different seeds).

    Each member serves day t on its own terms: its own registry, saved or live source and
    no-look-ahead guard (``LookaheadError``/``RegistryError`` from any member propagates). The
    members' points of day t must be the same tickers in the same order; the prediction is the
    plain mean, summed in member order (so one member serves exactly its own values).

    Parameters
    ----------
    members : sequence of predictors
        Callables ``t -> (k_idx, pred)`` with an optional ``window_of(t)``.
    paths : sequence of Path
        The members' registry directories (recorded in summary.json), same order.

    Raises
    ------
    RegistryError
        No member, or the members' points of a day differ (``abort = True``: the replay stops).

    Examples
    --------
    >>> a = lambda t: (np.array([3, 5], np.int32), np.array([0.1, -0.2]))
    >>> b = lambda t: (np.array([3, 5], np.int32), np.array([0.3, 0.0]))
    >>> k, p = EnsemblePredictor([a, b], [Path("m1"), Path("m2")])(7)
    >>> k.tolist(), p.round(12).tolist()
    ([3, 5], [0.2, -0.1])
    """

    def __init__(self, members: Sequence[Member], paths: Sequence[Path]) -> None:
        if not members or len(members) != len(paths):
            raise RegistryError("--models", "an ensemble needs one predictor per registry",
                                members=len(members), registries=len(paths))  # fmt: skip
        self.members = list(members)
        self.paths = [Path(p) for p in paths]

    def __call__(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        k0, total = self.members[0](t)
        total = np.array(total, dtype=np.float64)
        for path, member in zip(self.paths[1:], self.members[1:], strict=True):
            k, pred = member(t)
            if not np.array_equal(k, k0):
                err = RegistryError(str(path), "ensemble members serve different points",
                                    day=t, first=len(k0), member=len(k),
                                    fix="one config, one store for all members")  # fmt: skip
                err.abort = True  # type: ignore[attr-defined]
                raise err
            total += pred
        return np.asarray(k0, np.int32), total / len(self.members)

    def window_of(self, t: int) -> str:
        """The first member's window serving day t (members share the windows config)."""
        first = self.members[0]
        return first.window_of(t) if hasattr(first, "window_of") else ""

    def describe(self) -> dict[str, object]:
        """What summary.json records: the member registries, in order."""
        return {"members": [str(p) for p in self.paths], "n": len(self.paths)}
