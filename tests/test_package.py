"""The package's public surface: every exported name resolves, every command is reachable."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import kling_batch
import kling_batch.api
from kling_batch.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "manifests"


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


# What a command that sends nothing must not load: the HTTP stack, and what sends or renders.
_SENDING_MODULES = ("httpx", "anyio", "kling_batch.api.client", "kling_batch.runner.run")


def _loaded_by(*args: str) -> list[str]:
    """The modules of _SENDING_MODULES that `kling-batch ARGS` loaded, in a fresh process."""
    code = (
        "import sys\n"
        "from kling_batch.cli import main\n"
        "try:\n"
        f"    main({list(args)!r}, standalone_mode=False)\n"
        "finally:\n"
        f"    print([m for m in {_SENDING_MODULES!r} if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return list(ast.literal_eval(result.stderr.strip().splitlines()[-1]))


def test_schema_and_validate_do_not_load_the_http_client() -> None:
    assert _loaded_by("schema") == []
    assert _loaded_by("validate", str(EXAMPLES / "launch.yaml")) == []


@pytest.mark.parametrize("command", ["status", "plan"])
def test_status_and_plan_do_not_load_the_http_client(tmp_path: Path, command: str) -> None:
    output = str(tmp_path / "out")
    assert _loaded_by(command, str(EXAMPLES / "launch.yaml"), "--output", output) == []
    assert _loaded_by(command, str(EXAMPLES / "launch.yaml"), "--output", output, "--json") == []


def test_the_api_names_resolve_one_by_one() -> None:
    # kling_batch.api imports each name on first use: every one it lists must be there.
    for name in kling_batch.api.__all__:
        assert getattr(kling_batch.api, name) is not None, name
