"""How a command prints its result: a formatter chosen once, from `--json`, then handed the
result. Text is for people; with `--json`, stdout holds the command's one JSON shape, which
`--json`'s help states and the README's table repeats (tests/cli/test_help_and_readme.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import click

Result = TypeVar("Result")
Result_contra = TypeVar("Result_contra", contravariant=True)


class Formatter(Protocol[Result_contra]):
    def emit(self, result: Result_contra) -> None: ...


def _nothing(result: object) -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class Text(Generic[Result]):
    """Lines for people on stdout, then `notes` about them on stderr, so that stdout stays the
    result alone when it is piped."""

    lines: Callable[[Result], Iterable[str]]
    notes: Callable[[Result], Iterable[str]] = field(default=_nothing)

    def emit(self, result: Result) -> None:
        _echo_lines(self.lines(result))
        for note in self.notes(result):
            click.echo(note, err=True)


@dataclass(frozen=True)
class JsonDocument(Generic[Result]):
    """One JSON document (an object or an array), indented."""

    document: Callable[[Result], Any]

    def emit(self, result: Result) -> None:
        click.echo(json.dumps(self.document(result), ensure_ascii=False, indent=2))


@dataclass(frozen=True)
class JsonLines(Generic[Result]):
    """One JSON object per line, keys sorted: records a script reads line by line, as it reads
    results.jsonl and events.jsonl."""

    items: Callable[[Result], Iterable[Any]]

    def emit(self, result: Result) -> None:
        _echo_lines(
            json.dumps(item, ensure_ascii=False, sort_keys=True) for item in self.items(result)
        )


def _echo_lines(lines: Iterable[str]) -> None:
    # One write for the lot: a 10,000-entry plan or status would otherwise pay click.echo's
    # per-call cost (a fifth of a second) for nothing.
    text = "\n".join(lines)
    if text:
        click.echo(text)


def json_option(shape: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--json`, whose help is what it prints: `shape`, the command's documented JSON shape."""
    return click.option("--json", "as_json", is_flag=True, help=shape)
