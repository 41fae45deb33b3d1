"""`run`: render a manifest resumably."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import click

import kling_batch
from kling_batch.cli.cost_options import load_prices, max_cost_option, prices_option
from kling_batch.cli.display import closing_lines, open_display
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.cli.failures import calling_library
from kling_batch.cli.formats import json_option
from kling_batch.cli.options import (
    base_url_option,
    load_or_exit,
    manifest_argument,
    only_option,
    output_option,
    replace_option,
    resubmit_unknown_option,
    retry_failed_option,
    simulate_option,
)
from kling_batch.cli.tally import RunTally
from kling_batch.library import REAL_POLL_FLOOR, SIMULATED_POLL_FLOOR
from kling_batch.notify import run_exit_status
from kling_batch.runner.artifacts import OutputLayout

RUN_JSON = (
    "One JSON object per line for each event, as in events.jsonl (docs/events.md), instead of "
    "the progress display."
)
notify_url_option = click.option(
    "--notify-url",
    metavar="URL",
    default=None,
    help="When the run ends, however it ends, POST its JSON summary to URL "
    "(docs/notifications.md): https, or plain http:// only to a loopback host. A notification "
    "that fails is reported, never fatal.",
)
notify_cmd_option = click.option(
    "--notify-cmd",
    "notify_command",
    metavar="CMD",
    default=None,
    help="When the run ends, however it ends, run CMD with the same JSON summary on its "
    "standard input (split like a shell would, but run without one; $DASHSCOPE_API_KEY is "
    "not passed on). A notification that fails is reported, never fatal.",
)


@command(ExitCode.ENTRY_FAILED, ExitCode.INVALID, ExitCode.FATAL, ExitCode.INTERRUPTED)
@manifest_argument
@output_option
@base_url_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 100),
    default=10,
    metavar="N",
    help="Tasks in flight at once (default 10, the account's Kling limit).",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.05, 600),
    default=None,
    metavar="S",
    help=f"The shortest gap between two polls of one task, in seconds (default "
    f"{REAL_POLL_FLOOR:g}, or {SIMULATED_POLL_FLOOR:g} with --simulate).",
)
@only_option
@replace_option
@retry_failed_option
@resubmit_unknown_option
@simulate_option
@click.option(
    "--simulate-render-seconds",
    type=click.FloatRange(0.0, 3600),
    default=3.0,
    metavar="S",
    help="With --simulate: how long each simulated render takes, in seconds (default 3).",
)
@prices_option
@max_cost_option
@notify_url_option
@notify_cmd_option
@json_option(RUN_JSON)
def run(
    manifest: Path,
    output_root: Path,
    base_url: str | None,
    concurrency: int,
    poll_interval: float | None,
    only: tuple[str, ...],
    replace: tuple[str, ...],
    retry_failed: bool,
    resubmit_unknown: bool,
    simulate: bool,
    simulate_render_seconds: float,
    prices_file: Path | None,
    max_cost: Decimal | None,
    notify_url: str | None,
    notify_command: str | None,
    as_json: bool,
) -> None:
    """Validate MANIFEST, then submit, poll and download every entry; running it again resumes.

    Finished entries are skipped, tasks in flight are polled again, and only entries whose
    content changed are rendered again. With --max-cost or the manifest's budget:, a run whose
    plan costs more is refused (nothing sent), and no create is sent past the limit. The last
    lines say what it cost and where the report is; --notify-url and --notify-cmd tell someone
    else when it ends.
    """
    loaded = load_or_exit(manifest)
    layout = OutputLayout.for_manifest(output_root, loaded.name)
    prices = load_prices(prices_file)
    tally = RunTally.for_manifest(loaded, prices)  # what this run did, for its closing lines
    # The display restores the terminal before anything else is printed.
    with (
        calling_library(any_error_is_fatal=True),
        open_display(as_json=as_json, manifest=loaded) as display,
    ):
        summary = kling_batch.run(
            loaded,
            output=output_root,
            simulate=simulate,
            base_url=base_url,
            only=only,
            replace=replace,
            retry_failed=retry_failed,
            resubmit_unknown=resubmit_unknown,
            concurrency=concurrency,
            poll_interval=poll_interval,
            max_cost=max_cost,
            prices=prices,
            sinks=[display, tally],
            simulated_render_seconds=simulate_render_seconds,
            notify_url=notify_url,
            notify_command=notify_command,
        )
        billed = kling_batch.status(loaded, output=output_root, only=only, prices=prices)
    # With --json the events were the output: only what went wrong is said, on stderr.
    for line in closing_lines(summary, tally, billed, layout, brief=as_json):
        click.echo(line, err=True)
    status = ExitCode(run_exit_status(summary))
    if status is not ExitCode.OK:
        sys.exit(status)
