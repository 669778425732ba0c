"""Reader: NaN literal, file name/date check, invalid JSON, directory/glob/list/tar sources."""

from __future__ import annotations

import tarfile

import pytest

from episodes.reader import episode_files, parse_episode, read_days, read_episode, read_episodes
from episodes.schema import NAN
from simulator.core.errors import EpisodeError
from tests.episode_factory import DATES, episode, episode_json, write_day, write_days


def test_nan_literal_is_read_as_the_nan_singleton(tmp_path):
    path = write_day(tmp_path, episode_json(DATES[0]))
    assert b'"confidence": NaN' in path.read_bytes()
    ep = read_episode(path)
    assert ep.analysts[3].confidence[1] is NAN
    assert ep == episode(DATES[0])


def test_fast_and_fallback_parsers_agree(tmp_path):
    path = write_day(tmp_path, episode_json(DATES[0]))
    raw = path.read_bytes()
    assert b"null" not in raw  # fast path (orjson after the NaN rewrite)
    slow = raw.replace(b'"reasoning": "why"', b'"reasoning": "null why"', 1)  # forces the stdlib
    a = parse_episode(path.name, raw)
    b = parse_episode(path.name, slow)
    assert a.drop_reasoning() == b.drop_reasoning()


def test_nan_outside_confidences_is_accepted_by_the_fallback(tmp_path):
    raw = write_day(tmp_path, episode_json(DATES[0])).read_bytes()
    raw = raw.replace(b'"AAA": 10.5', b'"AAA": NaN', 1)
    ep = parse_episode(f"episode_{DATES[0]}.json", raw)
    assert ep.prices.open[1] != ep.prices.open[1]


def test_file_name_date_must_match_the_date_field(tmp_path):
    path = write_day(tmp_path, episode_json(DATES[0]), name=f"episode_{DATES[1]}.json")
    with pytest.raises(
        EpisodeError,
        match=rf"episode_{DATES[1]}\.json: {DATES[0]}: date: does not match the file name "
        rf"\(file_date={DATES[1]}\)",
    ):
        read_episode(path)


def test_bad_file_name_is_an_error(tmp_path):
    path = write_day(tmp_path, episode_json(DATES[0]), name="day1.json")
    with pytest.raises(EpisodeError, match=r"day1\.json: \?: file: bad file name"):
        read_episode(path)


def test_truncated_json_reports_line_and_column(tmp_path):
    path = write_day(tmp_path, episode_json(DATES[0]))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(
        EpisodeError, match=rf"{path.name}: {DATES[0]}: json: invalid JSON \(error="
    ):
        read_episode(path)


def test_directory_glob_and_list_sources(tmp_path):
    paths = write_days(tmp_path / "d", DATES[:3])
    (tmp_path / "d" / "notes.txt").write_text("x")
    assert [p.name for p in episode_files(tmp_path / "d")] == [p.name for p in paths]
    assert episode_files(str(tmp_path / "d" / "episode_2022-04-0[45].json")) == paths[1:]
    assert episode_files([paths[2], paths[0]]) == [paths[2], paths[0]]  # a list stays as given
    assert [e.date for e in read_episodes(tmp_path / "d")] == list(DATES[:3])


def test_no_files_is_an_error(tmp_path):
    with pytest.raises(EpisodeError, match="no episode files found"):
        episode_files(tmp_path)


def test_reads_a_tar_xz_without_unpacking(tmp_path):
    paths = write_days(tmp_path / "episodes", DATES[:3])
    tar_path = tmp_path / "e.tar.xz"
    with tarfile.open(tar_path, "w:xz") as tar:
        for p in reversed(paths):  # member order is not file-name order
            tar.add(p, arcname=f"episodes/{p.name}")
    days = read_days(tar_path)
    assert [d.episode.date for d in days] == list(DATES[:3])
    assert days[0].sha256 == read_days(paths[:1])[0].sha256


def test_read_days_collects_errors_and_skips_known_hashes(tmp_path):
    paths = write_days(tmp_path, DATES[:2])
    paths[1].write_text("{")
    days = read_days(tmp_path)
    assert days[0].error is None and days[1].episode is None
    assert "invalid JSON" in str(days[1].error)
    again = read_days(paths[:1], known={DATES[0]: days[0].sha256})
    assert again[0].episode is None and again[0].error is None


def test_two_workers_give_the_same_days(tmp_path):
    write_days(tmp_path, DATES)
    assert read_days(tmp_path, workers=2) == read_days(tmp_path, workers=1)
