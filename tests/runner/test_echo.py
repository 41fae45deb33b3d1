"""What a task's orig_prompt tells about the body that made it, and look-alikes one at a time."""

from __future__ import annotations

import anyio
import pytest

from kling_batch.runner.echo import EchoBasis, EchoMode, look_alike
from kling_batch.runner.lookalikes import LookalikeGate

SHOT = EchoBasis(prompt="a cat under the moon")
BOARD = EchoBasis(prompt=None, first_shot="a city at dawn", storyboard=True)
LONG = EchoBasis(prompt="x" * 3000)
CUT_LONG = "x" * 2500


@pytest.mark.parametrize(
    ("basis", "echoed", "mode"),
    [
        (SHOT, "a cat under the moon", EchoMode.WHOLE),
        (SHOT, "  a cat under the moon\n", EchoMode.WHOLE),  # outer white space is not content
        (SHOT, "", EchoMode.EMPTY),
        (SHOT, None, EchoMode.ABSENT),
        (SHOT, "a dog", EchoMode.OTHER),
        (LONG, CUT_LONG, EchoMode.CUT),
        (BOARD, "a city at dawn", EchoMode.FIRST_SHOT),
        (BOARD, "", EchoMode.EMPTY),
        (BOARD, None, EchoMode.ABSENT),
    ],
)
def test_an_echo_is_classified_against_the_body_sent(
    basis: EchoBasis, echoed: str | None, mode: EchoMode
) -> None:
    assert basis.observe(echoed) is mode


def test_kinds_learn_apart() -> None:
    assert {SHOT.kind, BOARD.kind, LONG.kind} == {
        "shot/prompt",
        "storyboard/no-prompt",
        "shot/long-prompt",
    }


@pytest.mark.parametrize(
    ("basis", "learned", "echoed", "could"),
    [
        # Documented: a prompt is echoed whole, so silence is not ours.
        (SHOT, (), "a cat under the moon", True),
        (SHOT, (), "", False),
        (SHOT, (), None, False),
        (SHOT, (), "a dog", False),
        # Our own tasks of this kind were seen echoing nothing: silence could be ours.
        (SHOT, (EchoMode.WHOLE, EchoMode.EMPTY), "", True),
        # An echo that says nothing about the body: anything could be ours.
        (SHOT, (EchoMode.OTHER,), "a dog", True),
        # A storyboard without a prompt, nothing learned: every plausible echo.
        (BOARD, (), "", True),
        (BOARD, (), None, True),
        (BOARD, (), "a city at dawn", True),
        (BOARD, (), "a field", False),
        # ... and once its kind was seen echoing the first shot, silence is not ours.
        (BOARD, (EchoMode.FIRST_SHOT,), "", False),
        (BOARD, (EchoMode.FIRST_SHOT,), "a city at dawn", True),
        (BOARD, (EchoMode.EMPTY,), "a city at dawn", False),
        # A cut prompt matches by a long enough prefix, never by a short one.
        (LONG, (), CUT_LONG, True),
        (LONG, (), "x" * 10, False),
    ],
)
def test_what_could_be_ours(
    basis: EchoBasis, learned: tuple[EchoMode, ...], echoed: str | None, could: bool
) -> None:
    assert basis.could_echo(echoed, basis.modes(learned)) is could


def test_look_alikes_share_a_token() -> None:
    other_board = EchoBasis(prompt=None, first_shot="a field", storyboard=True)
    unlearned = BOARD.modes(())
    # Unlearned, two prompt-less storyboards could both echo nothing.
    assert look_alike(BOARD.tokens(unlearned), other_board.tokens(other_board.modes(())))
    # Seen to echo their first shot, they are told apart.
    first = frozenset({EchoMode.FIRST_SHOT})
    assert not look_alike(BOARD.tokens(first), other_board.tokens(first))
    assert not look_alike(SHOT.tokens(SHOT.modes(())), BOARD.tokens(unlearned))
    assert look_alike(SHOT.tokens(frozenset({EchoMode.OTHER})), BOARD.tokens(first))


def test_a_basis_survives_its_json() -> None:
    for basis in (SHOT, BOARD, LONG):
        assert EchoBasis.from_json(basis.to_json()) == basis


@pytest.mark.anyio
async def test_the_gate_holds_look_alikes_one_at_a_time_and_others_side_by_side() -> None:
    gate = LookalikeGate()
    inside: set[str] = set()
    release = {name: anyio.Event() for name in ("board-a", "board-b", "shot", "other-model")}

    async def create(name: str, model: str, tokens: frozenset[str]) -> None:
        async with gate.hold(model, tokens):
            inside.add(name)
            await release[name].wait()
            inside.discard(name)

    async with anyio.create_task_group() as group:
        group.start_soon(create, "board-a", "m", frozenset({""}))
        group.start_soon(create, "board-b", "m", frozenset({""}))
        group.start_soon(create, "shot", "m", frozenset({"a cat"}))
        group.start_soon(create, "other-model", "n", frozenset({""}))
        await anyio.wait_all_tasks_blocked()
        # The first silent storyboard holds its class and the second waits; the rest are beside.
        assert inside == {"board-a", "shot", "other-model"}
        release["board-a"].set()
        await anyio.wait_all_tasks_blocked()
        assert inside == {"board-b", "shot", "other-model"}
        for event in release.values():
            event.set()
    assert inside == set()


@pytest.mark.anyio
async def test_a_cancelled_holder_lets_the_next_one_in() -> None:
    gate = LookalikeGate()
    with anyio.CancelScope() as scope:
        async with gate.hold("m", None):
            scope.cancel()
            await anyio.sleep_forever()
    with anyio.fail_after(1):
        async with gate.hold("m", None):
            pass
