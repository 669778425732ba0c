"""Validate episodes: collect every problem, never stopping at the first.

Read problems (invalid JSON, missing section, file name/date mismatch) come from the reader, the
per-day rules run in the reader's workers (``episodes.rules.check_episode``), and the cross-day
rules here (``episodes.rules.check_sequence``). Each problem reads ``FILE: DATE: field.path: what``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from episodes.reader import FILE_RE, DayFile, Source, read_days
from episodes.rules import DayRef, check_episode, check_sequence
from simulator.core.errors import EpisodeError

__all__ = [
    "DayRef",
    "ValidationReport",
    "check_episode",
    "check_sequence",
    "validate_days",
    "validate_episodes",
]


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What ``validate_episodes`` found: ``problems`` in file order."""

    n_episodes: int
    n_clean: int
    problems: tuple[EpisodeError, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return f"{self.n_episodes} episodes, {self.n_clean} clean, {len(self.problems)} problems"


def validate_days(days: Sequence[DayFile]) -> ValidationReport:
    """Collect every problem of already-read days (reader errors, per-day and cross-day rules)."""
    problems: list[EpisodeError] = []
    bad_files: set[str] = set()
    for day in days:  # a skipped (unchanged, not parsed) day has neither episode nor error
        errs = [day.error] if day.error is not None else list(day.problems)
        problems += errs
        if errs:
            bad_files.add(day.name)
    seq = [
        d.episode or (None if d.error else DayRef(d.name, FILE_RE.fullmatch(d.name).group(1)))
        for d in days
    ]
    for err in check_sequence(seq):
        problems.append(err)
        bad_files.add(err.where.split(": ")[0])
    return ValidationReport(len(days), len(days) - len(bad_files), tuple(problems))


def validate_episodes(src: Source, *, workers: int = 1) -> ValidationReport:
    """Read and check every episode of ``src`` (directory, glob, list or tar archive)."""
    return validate_days(read_days(src, workers=workers))
