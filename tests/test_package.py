"""The package's public surface: every exported name resolves, every command is reachable."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

import kling_batch
from kling_batch.cli import main


def test_every_exported_name_resolves() -> None:
    for name in kling_batch.__all__:
        assert getattr(kling_batch, name) is not None, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        _ = kling_batch.no_such_thing  # type: ignore[attr-defined]
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("no AttributeError")


def test_every_command_loads_and_has_help() -> None:
    context = click.Context(main)
    names = main.list_commands(context)
    assert set(names) == {
        "validate",
        "expand",
        "schema",
        "plan",
        "run",
        "status",
        "cancel",
        "audit",
        "report",
        "pick",
        "export",
        "simulator",
    }
    for name in names:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_validate_does_not_load_the_http_client() -> None:
    code = (
        "import sys\n"
        "from kling_batch.cli import main\n"
        "try:\n"
        "    main(['schema'], standalone_mode=False)\n"
        "finally:\n"
        "    lean = 'kling_batch.api.client' not in sys.modules\n"
        "    print('LEAN' if lean else 'LOADED', file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip().endswith("LEAN"), result.stderr
