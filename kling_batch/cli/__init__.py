"""The `kling-batch` command line: a thin layer of click commands over the library.

Each command's module is imported only when that command runs, so `validate` and `schema` (run
by editors on every save) do not pay for the HTTP client, the runner and the simulator.
"""

from __future__ import annotations

from importlib import import_module

import click

from kling_batch import __version__
from kling_batch.cli.exit_codes import ExitCode, format_exit_codes

# command name -> (module, attribute); listed in the order `--help` shows them
_COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("kling_batch.cli.manifest_commands", "validate"),
    "expand": ("kling_batch.cli.expand_command", "expand"),
    "schema": ("kling_batch.cli.manifest_commands", "schema"),
    "plan": ("kling_batch.cli.plan_commands", "plan"),
    "run": ("kling_batch.cli.run_commands", "run"),
    "status": ("kling_batch.cli.status_command", "status"),
    "cancel": ("kling_batch.cli.cancel_command", "cancel"),
    "audit": ("kling_batch.cli.audit_command", "audit"),
    "report": ("kling_batch.cli.report_command", "report"),
    "pick": ("kling_batch.cli.pick_command", "pick_command"),
    "export": ("kling_batch.cli.export_command", "export_command"),
    "simulator": ("kling_batch.cli.simulator_command", "simulator_command"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module, attribute = _COMMANDS[cmd_name]
        command = getattr(import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        format_exit_codes(formatter, list(ExitCode))
        super().format_epilog(ctx, formatter)


# invoke_without_command: bare `kling-batch` runs the group itself, which prints the help and
# exits 0; click's default (no_args_is_help) prints it as a usage error, exit 2.
@click.group(
    cls=_LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="kling-batch")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Validate, plan and run batches of Kling V3 video renders on DashScope.

    A YAML manifest lists the shots and storyboards; `validate` checks it offline, `run` renders
    it with bounded concurrency and resumes after any interruption. Each command's --help lists
    the exit statuses it can return.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
