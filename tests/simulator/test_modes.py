"""The modes for what the public documentation leaves open, and the simulator's own wire strings."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from click.testing import CliRunner

from kling_batch.cli.simulator_command import simulator_command
from kling_batch.simulator import (
    ListZone,
    Simulator,
    SimulatorConfig,
    StoryboardEcho,
    TaskStatus,
)

STANDARD = "kling/kling-v3-video-generation"
BEIJING = timezone(timedelta(hours=8))


def digits(moment: datetime, zone: timezone) -> str:
    return moment.astimezone(zone).strftime("%Y%m%d%H%M%S")


def customize(*prompts: str, prompt: str | None = None) -> dict[str, Any]:
    """A standard customize storyboard; shots are listed last first, to tell index from order."""
    shots = [{"index": n, "prompt": p, "duration": 1} for n, p in enumerate(prompts, start=1)]
    data: dict[str, Any] = {
        "multi_shot": True,
        "shot_type": "customize",
        "multi_prompt": shots[::-1],
    }
    if prompt is not None:
        data["prompt"] = prompt
    return {"model": STANDARD, "input": data, "parameters": {"duration": 5}}


# -- list_zone -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("list_zone", "digits_zone", "found"),
    [
        (ListZone.BEIJING, BEIJING, True),
        (ListZone.BEIJING, UTC, False),  # UTC digits read as Beijing: a window 8 h too early
        (ListZone.UTC, UTC, True),
        (ListZone.UTC, BEIJING, False),  # Beijing digits read as UTC: a window 8 h too late
    ],
    ids=[
        "beijing-digits-in-beijing",
        "utc-digits-in-beijing",
        "utc-digits-in-utc",
        "beijing-digits-in-utc",
    ],
)
async def test_the_list_reads_its_window_digits_in_the_configured_zone(
    serve, connect, list_zone, digits_zone, found
) -> None:
    server = serve(list_zone=list_zone)
    async with connect(server) as api:
        task_id = await api.create_id(api.body())
        now = datetime.fromtimestamp(server.simulator.now(), UTC)
        window = {
            "start_time": digits(now - timedelta(minutes=5), digits_zone),
            "end_time": digits(now + timedelta(minutes=1), digits_zone),
        }
        answer = await api.client.get("/tasks/", params=window)
        query = await api.query(task_id)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["data"]
    assert [row["task_id"] for row in rows] == ([task_id] if found else [])
    if found:  # gmt_create stays epoch ms whatever the zone
        assert abs(rows[0]["gmt_create"] / 1000 - now.timestamp()) < 5
    # Task query strings stay Beijing time in either mode.
    submit = datetime.strptime(query["output"]["submit_time"], "%Y-%m-%d %H:%M:%S.%f")
    assert abs(submit.replace(tzinfo=BEIJING) - now) < timedelta(seconds=5)


@pytest.mark.anyio
async def test_a_malformed_list_time_names_the_zone_it_is_read_in(serve, connect) -> None:
    async with connect(serve(list_zone=ListZone.UTC)) as api:
        answer = await api.client.get("/tasks/", params={"start_time": "2026-01-01"})
    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParameter")
    assert "(UTC)" in answer.json()["message"]


# -- storyboard_echo -------------------------------------------------------------------------


async def _orig_prompt(serve, connect, payload: dict[str, Any], **config: Any) -> dict[str, Any]:
    async with connect(serve(**config)) as api:
        output: dict[str, Any] = (await api.query(await api.create_id(payload)))["output"]
    return output


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("echo", "expected"),
    [
        (None, None),  # the default: the key is left out, as before the modes
        (StoryboardEcho.ABSENT, None),
        (StoryboardEcho.EMPTY, ""),
        (StoryboardEcho.FIRST_SHOT, "a harbour at dawn"),  # shot index 1, not the first listed
    ],
)
async def test_a_storyboard_without_a_prompt_echoes_as_configured(
    serve, connect, echo, expected
) -> None:
    config = {} if echo is None else {"storyboard_echo": echo}
    payload = customize("a harbour at dawn", "gulls over the pier")
    output = await _orig_prompt(serve, connect, payload, **config)
    assert output.get("orig_prompt", None) == expected
    assert ("orig_prompt" in output) is (expected is not None)


@pytest.mark.anyio
async def test_the_first_shot_echo_is_cut_at_512_characters(serve, connect) -> None:
    long_shot = "".join(f"{n:04d} " for n in range(120))  # 600 characters
    output = await _orig_prompt(
        serve, connect, customize(long_shot, "b"), storyboard_echo=StoryboardEcho.FIRST_SHOT
    )
    assert output["orig_prompt"] == long_shot[:512]


@pytest.mark.anyio
@pytest.mark.parametrize("echo", list(StoryboardEcho))
async def test_a_storyboard_with_a_prompt_echoes_that_prompt_in_every_mode(
    serve, connect, echo
) -> None:
    payload = customize("a", "b", prompt="moon " * 600)
    output = await _orig_prompt(serve, connect, payload, storyboard_echo=echo)
    assert output["orig_prompt"] == ("moon " * 600)[:2500]


@pytest.mark.anyio
@pytest.mark.parametrize("echo", list(StoryboardEcho))
async def test_a_first_frame_without_a_prompt_leaves_the_echo_out_in_every_mode(
    serve, connect, echo
) -> None:
    payload = {
        "model": STANDARD,
        "input": {"media": [{"type": "first_frame", "url": "https://example.com/a.png"}]},
    }
    output = await _orig_prompt(serve, connect, payload, storyboard_echo=echo)
    assert "orig_prompt" not in output


# -- the config ------------------------------------------------------------------------------


def test_the_modes_default_to_the_earlier_behaviour() -> None:
    config = SimulatorConfig()
    assert config.list_zone is ListZone.BEIJING
    assert config.storyboard_echo is StoryboardEcho.ABSENT


def test_a_mode_may_be_named_by_its_string() -> None:
    config = SimulatorConfig(list_zone="utc", storyboard_echo="first-shot")  # type: ignore[arg-type]
    assert config.list_zone is ListZone.UTC
    assert config.storyboard_echo is StoryboardEcho.FIRST_SHOT


@pytest.mark.parametrize(
    ("field", "value"), [("list_zone", "shanghai"), ("storyboard_echo", "first_shot")]
)
def test_an_unknown_mode_is_refused_naming_the_valid_ones(field, value) -> None:
    with pytest.raises(ValueError, match=f"SimulatorConfig.{field} must be one of: .*{value!r}"):
        SimulatorConfig(**{field: value})


# -- its own wire strings --------------------------------------------------------------------


def test_task_status_is_the_simulators_own_string_enum() -> None:
    status = Simulator().task_status("0385dc79-5ff8-4d82-bcb6-000000000000")
    assert status is TaskStatus.UNKNOWN and status == "UNKNOWN"
    assert [s.value for s in TaskStatus] == [
        "PENDING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "CANCELED",
        "UNKNOWN",
    ]


def test_the_simulator_imports_nothing_of_the_client_or_the_runner() -> None:
    script = (
        "import sys, kling_batch.simulator\n"
        "print(' '.join(m for m in sys.modules "
        "if m.startswith(('kling_batch.api', 'kling_batch.runner'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def test_the_list_and_echo_options_are_in_the_commands_help() -> None:
    result = CliRunner().invoke(simulator_command, ["--help"])
    assert result.exit_code == 0
    assert "--list-zone [beijing|utc]" in result.output
    assert "--storyboard-echo [absent|empty|first-shot]" in result.output


def test_an_unknown_list_zone_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(simulator_command, ["--list-zone", "mars"])
    assert result.exit_code == 2 and "mars" in result.output
