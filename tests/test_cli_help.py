"""Every command's --help keeps an `Example:` and, where it has --json, says what it prints."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from paperfeed.cli import load_commands, main


def _commands() -> Iterator[tuple[str, click.Command]]:
    load_commands()
    ctx = click.Context(main)

    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, click.Command]]:
        yield " ".join(path) or "paperfeed", command
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                yield from walk(sub, (*path, name))

    yield from walk(main, ())


COMMANDS = dict(_commands())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_has_an_example_and_documents_json(name: str) -> None:
    command = COMMANDS[name]
    text = command.get_help(click.Context(command, info_name=name))
    assert "Example:" in text
    if any("--json" in param.opts for param in command.params):
        assert "--json prints" in text
