"""`--store --config --seed` mean the same thing in every command (house style)."""

from __future__ import annotations

import click

from simulator.cli import main

WRITES_STORE = {"ingest", "synth"}  # commands whose --store is their output (created)


def _commands(group: click.Group):
    for cmd in group.commands.values():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd)
        else:
            yield cmd


def _kind(t: click.ParamType) -> tuple:
    return (type(t).__name__, *(getattr(t, a, None) for a in ("exists", "file_okay", "dir_okay")))


def test_shared_options_are_declared_alike():
    seen: dict[str, set] = {"--store": set(), "--config": set(), "--seed": set()}
    for cmd in _commands(main):
        for p in cmd.params:
            flag = next((o for o in p.opts if o in seen), None)
            if flag and not (flag == "--store" and cmd.name in WRITES_STORE):
                seen[flag].add(_kind(p.type))
    assert seen["--store"] == {("Path", True, False, True)}
    assert seen["--config"] == {("Path", True, True, False)}
    assert len(seen["--seed"]) == 1 and next(iter(seen["--seed"]))[0] == "IntParamType"
