"""The README's Commands section and the commands' `--help` say the same thing: what each command
does, what each option means and which commands take it, what `--json` prints, and what each
exit status means."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kling_batch.cli import main
from kling_batch.cli.exit_codes import CommandWithExitCodes, ExitCode

README = Path(__file__).resolve().parents[2] / "README.md"
# simulator's many options are its own: the README names a few and points at its --help
WITH_README_OPTIONS = [
    *("validate", "schema", "plan", "run", "status", "cancel", "audit", "report", "pick", "export")
]


def commands() -> dict[str, click.Command]:
    context = click.Context(main)
    found = {name: main.get_command(context, name) for name in main.list_commands(context)}
    return {name: command for name, command in found.items() if command is not None}


def table(header: str) -> list[list[str]]:
    """The rows of the README table whose header row is `header`, cells stripped."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def plain(text: str) -> str:
    """Markdown or help text as words: no backticks or link targets, single spaces."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text).replace("`", "")
    return " ".join(text.split())


def named(cell: str) -> list[str]:
    return re.findall(r"`([\w-]+)`", cell)


def option(command: click.Command, name: str) -> click.Option | None:
    return next((p for p in command.params if isinstance(p, click.Option) and name in p.opts), None)


def help_text(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"], prog_name="kling-batch")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_commands_table_opens_with_each_commands_help() -> None:
    rows = table("| command | what it does |")
    found = commands()
    described = {row[0].split()[1].strip("`"): row[1] for row in rows}
    assert sorted(described) == sorted(found)
    for name, command in found.items():
        first_paragraph = (command.help or "").split("\n\n")[0]
        assert plain(described[name]).startswith(plain(first_paragraph)), name


def test_each_option_means_what_its_help_says_on_every_command_listed() -> None:
    rows = table("| option | commands | meaning |")
    found = commands()
    for spelled, takers, meaning in rows:
        name = spelled.strip("`").split()[0]
        taking = [c for c in WITH_README_OPTIONS if option(found[c], name) is not None]
        assert named(takers) == taking, name
        if name == "--json":
            continue  # its help is the command's JSON shape: the next table
        for command in taking:
            described = option(found[command], name)
            assert described is not None
            assert plain(described.help or "") == plain(meaning), (command, name)


def test_the_options_table_lists_every_option() -> None:
    listed = {row[0].strip("`").split()[0] for row in table("| option | commands | meaning |")}
    found = commands()
    for command in WITH_README_OPTIONS:
        for param in found[command].params:
            if isinstance(param, click.Option) and "--help" not in param.opts:
                assert param.opts[0] in listed, (command, param.opts[0])


def test_the_json_table_is_what_each_json_option_says_it_prints() -> None:
    shapes = table("| command | `--json` prints |")
    found = commands()
    assert [row[0].strip("`") for row in shapes] == [
        c for c in found if option(found[c], "--json") is not None
    ]
    assert "simulator" not in (row[0].strip("`") for row in shapes)
    for command, prints in shapes:
        described = option(found[command.strip("`")], "--json")
        assert described is not None
        assert plain(described.help or "") == plain(prints), command


def test_the_exit_status_table_is_the_one_the_code_gives() -> None:
    assert table("| exit status | meaning |") == [
        [str(int(code)), code.meaning] for code in ExitCode
    ]


def test_kling_batch_help_shows_every_exit_status_in_the_same_words() -> None:
    shown = plain(help_text().split("Exit status:")[1])
    for status, meaning in table("| exit status | meaning |"):
        assert f"{status} {plain(meaning)}" in shown


@pytest.mark.parametrize("name", list(commands()))
def test_each_commands_help_shows_its_exit_statuses_in_the_same_words(name: str) -> None:
    command = commands()[name]
    assert isinstance(command, CommandWithExitCodes)
    shown = plain(help_text(name).split("Exit status:")[1])
    for code in ExitCode:
        assert (f"{int(code)} {plain(code.meaning)}" in shown) == (code in command.exit_codes)
