"""`kling-batch simulator`: serve the DashScope simulator on loopback until interrupted."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from kling_batch.cli.errors import FatalError
from kling_batch.cli.exit_codes import ExitCode, command
from kling_batch.simulator import (
    Faults,
    ListZone,
    LostAnswer,
    Simulator,
    SimulatorConfig,
    SimulatorServer,
    StoryboardEcho,
    is_loopback,
)

_PROBABILITY = click.FloatRange(0.0, 1.0)
_RATE_HELP = "requests per second before 429 (0: no limit)"


class _UsageError(click.UsageError):
    exit_code = ExitCode.INVALID


def _fault(name: str, what: str) -> click.Option:
    return click.Option(
        [f"--fault-{name}"],
        type=_PROBABILITY,
        default=0.0,
        show_default=True,
        metavar="P",
        help=f"Probability of {what}.",
    )


@command(ExitCode.INVALID, ExitCode.FATAL, name="simulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--api-key",
    envvar="KLING_SIMULATOR_API_KEY",
    default=None,
    help="Accept only this key (default: any non-empty key).",
)
@click.option(
    "--render-seconds",
    type=click.FloatRange(min=0),
    default=3.0,
    show_default=True,
    help="Mean render time, in simulated seconds.",
)
@click.option(
    "--render-jitter",
    type=click.FloatRange(0.0, 0.99),
    default=0.2,
    show_default=True,
    help="Render times vary by up to this fraction of the mean.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--slots",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Tasks running at once; the rest wait PENDING.",
)
@click.option(
    "--submit-rate",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help=f"Creates: {_RATE_HELP}.",
)
@click.option(
    "--query-rate",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help=f"Task queries: {_RATE_HELP}.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault rolls.")
@click.option(
    "--slow-seconds",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="How late a slow answer comes, in real seconds.",
)
@click.option(
    "--lost-answer",
    type=click.Choice([a.value for a in LostAnswer]),
    default=LostAnswer.HANG.value,
    show_default=True,
    help="What a lost create's client sees.",
)
@click.option("--arrearage", is_flag=True, help="Answer 400 Arrearage to every API request.")
@click.option(
    "--list-zone",
    type=click.Choice([z.value for z in ListZone]),
    default=ListZone.BEIJING.value,
    show_default=True,
    help="The zone the task list reads its start_time / end_time digits in (undocumented by "
    "the service; task times stay Beijing time either way).",
)
@click.option(
    "--storyboard-echo",
    type=click.Choice([e.value for e in StoryboardEcho]),
    default=StoryboardEcho.ABSENT.value,
    show_default=True,
    help="What a query's orig_prompt holds for a storyboard sent without input.prompt "
    "(undocumented): the key left out, an empty string, or the first shot's prompt.",
)
@click.option(
    "--lenient",
    is_flag=True,
    help="Ignore create fields the API reference does not list where they are sent, as a "
    "service that reads only what it knows would (default: 400 InvalidParameter naming them).",
)
@click.option(
    "--retry-after/--no-retry-after",
    default=True,
    show_default=True,
    help="Whether a 429 carries a Retry-After header (undocumented by the service).",
)
@click.option(
    "--count-invalid-creates/--no-count-invalid-creates",
    default=True,
    show_default=True,
    help="Whether a create the service refuses still spends from the create rate "
    "(undocumented); with --no-count-invalid-creates only creates that make a task do.",
)
def simulator_command(
    host: str,
    port: int,
    api_key: str | None,
    render_seconds: float,
    render_jitter: float,
    speed: float,
    slots: int,
    submit_rate: float,
    query_rate: float,
    seed: int,
    slow_seconds: float,
    lost_answer: str,
    arrearage: bool,
    list_zone: str,
    storyboard_echo: str,
    lenient: bool,
    retry_after: bool,
    count_invalid_creates: bool,
    **fault_options: float,
) -> None:
    """Serve a local DashScope simulator (base path /api/v1) until Ctrl-C or SIGTERM.

    The first line on stdout is the base URL to give `run --base-url`. Faults are drawn from
    --seed, so the same run meets the same faults.
    """
    if not is_loopback(host):
        raise _UsageError(
            f"--host must be a loopback address (127.0.0.1, ::1, localhost), not {host}"
        )
    faults = Faults(
        **{name.removeprefix("fault_"): value for name, value in fault_options.items()},
        slow_seconds=slow_seconds,
        lost_answer=LostAnswer(lost_answer),
    )
    config = SimulatorConfig(
        api_key=api_key or None,
        render_seconds=render_seconds,
        render_jitter=render_jitter,
        speed=speed,
        slots=slots,
        submit_rate=submit_rate or None,
        query_rate=query_rate or None,
        seed=seed,
        faults=faults,
        arrearage=arrearage,
        list_zone=ListZone(list_zone),
        storyboard_echo=StoryboardEcho(storyboard_echo),
        lenient=lenient,
        retry_after=retry_after,
        count_invalid_creates=count_invalid_creates,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server = SimulatorServer(Simulator(config), host=host, port=port)
        try:
            server.start()
        except OSError as error:
            raise FatalError(f"cannot listen on {host}:{port}: {error}") from None
        try:
            click.echo(server.base_url)  # the first line: scripts read it
            keys = "only the --api-key key" if api_key else "any non-empty key"
            fields = "ignores unknown fields" if lenient else "refuses unknown fields"
            click.echo(
                f"kling-batch simulator: accepts {keys}; {fields}; renders take about "
                f"{render_seconds:g} s; Ctrl-C stops",
                err=True,
            )
            while not stop.wait(0.5):  # a timed wait leaves the signal handlers room to run
                pass
        finally:
            server.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


for _name, _what in (
    ("server-error", "a 500/503 answer"),
    ("reset", "closing the connection without an answer"),
    ("lost-create", "a create that creates its task but whose answer is lost"),
    ("slow", "an answer --slow-seconds late"),
    ("truncated-download", "a video download cut short"),
    ("task-failed", "a task ending FAILED"),
    ("moderation", "a task ending FAILED with DataInspectionFailed"),
):
    simulator_command.params.append(_fault(_name, _what))
