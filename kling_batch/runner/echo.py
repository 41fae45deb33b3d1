"""What the task list can tell about a task: which of our bodies could have made it.

The list rows carry no prompt; a query of the task gives `orig_prompt`, which the reference
documents as an echo of `input.prompt`. What it holds for a storyboard without a top-level prompt,
or for a prompt the service cut, is not documented (empty, absent, cut, or the first shot's
prompt are all plausible). So the runner learns it: every task whose id this output knows shows
how the service echoed a body of that kind, and those observations (per model and kind) decide
what a lost create's task may look like. Until a kind has been seen, every plausible echo counts.

Two bodies whose tasks could echo the same text are *look-alikes*: the runner never has two of
them awaiting a create's answer at once, so a lost answer can always be told from the other.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# The service keeps the first 2500 characters of a prompt and 512 of a storyboard shot's prompt
# (dashscope-kling-api.md, "input"); a cut echo is a prefix at least this long.
PROMPT_LIMIT = 2500
SHOT_PROMPT_LIMIT = 512
_CUT_AT_LEAST = 256
# The token of "no text": an empty and an absent echo tell the same (nothing).
NO_ECHO = ""


class EchoMode(StrEnum):
    """How the service echoed one body's prompt as `orig_prompt`."""

    WHOLE = "whole"  # the prompt as sent
    CUT = "cut"  # a prefix of it
    EMPTY = "empty"  # ""
    ABSENT = "absent"  # no orig_prompt at all
    FIRST_SHOT = "first-shot"  # the first storyboard shot's prompt (or a prefix of it)
    OTHER = "other"  # something else: the echo tells nothing about the body


@dataclass(frozen=True)
class EchoBasis:
    """What of a request body could come back as `orig_prompt`, and the kind it learns under."""

    prompt: str | None
    first_shot: str | None = None
    storyboard: bool = False

    @classmethod
    def of_body(cls, body: Mapping[str, Any]) -> EchoBasis:
        inputs = body.get("input")
        if not isinstance(inputs, Mapping):
            return cls(prompt=None)
        shots = inputs.get("multi_prompt")
        first = shots[0].get("prompt") if isinstance(shots, list) and shots else None
        prompt = inputs.get("prompt")
        return cls(
            prompt=_comparable(prompt if isinstance(prompt, str) else None),
            first_shot=_comparable(first if isinstance(first, str) else None),
            storyboard=bool(inputs.get("multi_shot")),
        )

    @property
    def kind(self) -> str:
        """The class of bodies the service is assumed to echo alike: learned per kind."""
        shape = "storyboard" if self.storyboard else "shot"
        if not self.prompt:
            return f"{shape}/no-prompt"
        return f"{shape}/{'long-prompt' if len(self.prompt) > PROMPT_LIMIT else 'prompt'}"

    def observe(self, echoed: str | None) -> EchoMode:
        """How the service echoed this body, given what a query of its task said."""
        if echoed is None:
            return EchoMode.ABSENT
        text = _comparable(echoed)
        if not text:
            return EchoMode.EMPTY
        if text == self.prompt:
            return EchoMode.WHOLE
        if self.prompt and self.prompt.startswith(text):
            return EchoMode.CUT
        if self.first_shot and self.first_shot.startswith(text):
            return EchoMode.FIRST_SHOT
        return EchoMode.OTHER

    def modes(self, learned: Iterable[EchoMode]) -> frozenset[EchoMode]:
        """The echoes to expect: what known tasks of this kind showed, else every plausible one."""
        seen = frozenset(learned)
        if seen:
            return seen
        if not self.prompt:
            return frozenset({EchoMode.EMPTY, EchoMode.ABSENT, EchoMode.FIRST_SHOT})
        if len(self.prompt) > PROMPT_LIMIT:
            return frozenset({EchoMode.WHOLE, EchoMode.CUT, EchoMode.EMPTY, EchoMode.ABSENT})
        # Documented: orig_prompt echoes input.prompt.
        return frozenset({EchoMode.WHOLE})

    def could_echo(self, echoed: str | None, modes: frozenset[EchoMode]) -> bool:
        """Whether a task that echoes `echoed` may have been created from this body."""
        if EchoMode.OTHER in modes:
            return True
        text = _comparable(echoed)
        if not text:
            return bool(modes & {EchoMode.EMPTY, EchoMode.ABSENT})
        if EchoMode.WHOLE in modes and text == self.prompt:
            return True
        if EchoMode.CUT in modes and _is_cut(text, self.prompt):
            return True
        return EchoMode.FIRST_SHOT in modes and (
            text == self.first_shot or _is_cut(text, self.first_shot)
        )

    def tokens(self, modes: frozenset[EchoMode]) -> frozenset[str] | None:
        """The echoes this body's task could show, cut short so that look-alikes share one;
        None when it could show anything (it looks like every body of its model)."""
        if EchoMode.OTHER in modes:
            return None
        found: set[str] = set()
        if modes & {EchoMode.EMPTY, EchoMode.ABSENT}:
            found.add(NO_ECHO)
        if modes & {EchoMode.WHOLE, EchoMode.CUT} and self.prompt:
            found.add(self.prompt[:_CUT_AT_LEAST])
        if EchoMode.FIRST_SHOT in modes and self.first_shot:
            found.add(self.first_shot[:_CUT_AT_LEAST])
        return frozenset(found)

    def to_json(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "first_shot": self.first_shot, "storyboard": self.storyboard}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EchoBasis:
        return cls(
            prompt=data.get("prompt"),
            first_shot=data.get("first_shot"),
            storyboard=bool(data.get("storyboard")),
        )


def look_alike(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    """Whether two bodies' tasks could echo the same (their token sets meet)."""
    return a is None or b is None or bool(a & b)


def _is_cut(text: str, whole: str | None) -> bool:
    return whole is not None and len(text) >= _CUT_AT_LEAST and whole.startswith(text)


def _comparable(prompt: str | None) -> str | None:
    """A prompt as the service may echo it: Unicode-normalised, without outer white space."""
    if prompt is None:
        return None
    return unicodedata.normalize("NFC", prompt).strip()
