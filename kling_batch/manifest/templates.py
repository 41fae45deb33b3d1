"""`{{name}}` in an entry's text, and the id rule: the syntax of expansion, without the YAML.

A template is text with places: `{{ name }}` (spaces inside the braces are allowed) takes the
variable's value; `{{ "{{" }}` is a literal `{{`. Any other `{{` is a mistake, reported with
its offset, since leaving it in the text would send a prompt the author did not mean. A `}}`
on its own is plain text.

The id rule makes a folder name of an id filled in from variables: every run of characters
outside `[A-Za-z0-9._-]` becomes one `-` (`mug-16:9` is `mug-16-9`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from kling_batch.manifest.schema import schema

_OUTSIDE_ID = re.compile(r"[^A-Za-z0-9._-]+")
OPEN = "{{"


class TemplateSyntax(Exception):
    """A `{{` that opens neither a variable nor a literal; `offset` is where it stands."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Template:
    """Text split at its places: literal, name, literal, name, ..., literal."""

    parts: tuple[str, ...]
    # The same as a str.format pattern: filling in runs at C speed, 10,000 entries x a few texts.
    pattern: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = "".join(
            "{" + part + "}" if index % 2 else part.replace("{", "{{").replace("}", "}}")
            for index, part in enumerate(self.parts)
        )
        object.__setattr__(self, "pattern", pattern)

    @property
    def names(self) -> tuple[str, ...]:
        return self.parts[1::2]

    def render(self, values: Mapping[str, str]) -> str:
        """The text with every place filled in; every name must be in `values`."""
        return self.pattern.format_map(values)


def compile_template(text: str) -> Template | None:
    """The template `text` is, or None when it has no place (it stays as written).

    Raises TemplateSyntax for a `{{` that is not a place.
    """
    if OPEN not in text:
        return None
    parts: list[str] = []
    literal: list[str] = []
    position = 0
    place = _place()
    while True:
        start = text.find(OPEN, position)
        if start < 0:
            literal.append(text[position:])
            break
        literal.append(text[position:start])
        match = place.match(text, start)
        if match is None:
            raise TemplateSyntax(_bad_place(text, start), start)
        quoted, name = match.group(1), match.group(2)
        if quoted is not None:
            literal.append(quoted)
        else:
            parts.extend(("".join(literal), name))
            literal = []
        position = match.end()
    if not parts:  # only literals: `{{ "{{" }}` and nothing to fill in
        return Template(("".join(literal),))
    parts.append("".join(literal))
    return Template(tuple(parts))


def id_rule(text: str) -> str:
    """An id made from variables, as a folder name: other characters become one `-` a run."""
    return _OUTSIDE_ID.sub("-", text)


def is_name(text: str) -> bool:
    """Whether `text` can be a variable's name, as in `{{name}}`."""
    return _name().fullmatch(text) is not None


@cache
def _name() -> re.Pattern[str]:
    # The schema is the one home of what a name is: editors check `vars:` keys with it.
    pattern: str = schema()["$defs"]["variableName"]["pattern"]
    return re.compile(pattern.removeprefix("^").removesuffix("$"))


@cache
def _place() -> re.Pattern[str]:
    return re.compile(r'\{\{\s*(?:"([^"]*)"|(' + _name().pattern + r"))\s*\}\}")


def _bad_place(text: str, start: int) -> str:
    end = text.find("}}", start + 2)
    literal = '{{ "{{" }}'
    if end < 0:
        return (
            f"`{{{{` opens a variable that is not closed with `}}}}`; a literal {{{{ is {literal}"
        )
    inside = text[start + 2 : end].strip()
    shown = text[start : end + 2]
    if not inside:
        return f"`{shown}` names no variable; a literal {{{{ is {literal}"
    guess = re.sub(r"\W+", "_", inside)
    hint = f" (`{{{{{guess}}}}}`?)" if is_name(guess) else ""
    return (
        f"`{shown}` is not a variable: a name is letters, digits and '_', not starting with a "
        f"digit{hint}; a literal {{{{ is {literal}"
    )
