"""What the shape checker says: messages that name what was found and what would be valid.

Kept apart from `shape`, which decides *whether* a node departs from the schema; this module
decides how to tell the user: a YAML 1.1 boolean to rewrite, a number to quote, a field that
belongs to storyboards, a close spelling. Its wording helpers at the end (`counted`, `plural`,
`listed`) are the ones every manifest message uses to count and list in plain English.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from kling_batch.manifest.nodes import FieldPath, Node, ScalarNode, kind_of

_TYPE_NAMES = {
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}
# YAML 1.1 booleans that YAML 1.2 (and so this loader) reads as text.
_YAML11_BOOLEANS = {"yes": True, "no": False, "on": True, "off": False, "y": True, "n": False}

# Unknown fields that are right somewhere else: say where.
_MISPLACED = {
    "shot_type": "`shot_type` belongs to storyboards: list this entry under `storyboards:`",
    "multi_prompt": "`multi_prompt` belongs to storyboards: list this entry under `storyboards:`",
    "multi_shot": (
        "storyboards are sent with multi_shot: true; list this entry under `storyboards:`"
    ),
    "index": "shots are numbered by their order in the list; remove `index`",
    "keep_original_sound": (
        "`keep_original_sound` is set on a base or feature video: "
        "media: [{type: base, url: ..., keep_original_sound: true}]"
    ),
    "input": "write the fields on the entry itself (prompt, media, ...), not under `input:`",
    "parameters": (
        "write the fields on the entry itself (duration, mode, ...), not under `parameters:`"
    ),
}


def type_message(types: Sequence[str], node: Node, path: FieldPath) -> str:
    """A value of the wrong type (KB101), with how to write the intended one."""
    expected = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
    message = f"expected {expected}, got {kind_of(node)}"
    if not path:
        return message + (
            "; a manifest is a mapping: `version: 1`, then `shots:` and/or `storyboards:`"
        )
    if isinstance(node, ScalarNode) and node.plain:
        if "boolean" in types and node.text.lower() in _YAML11_BOOLEANS:
            truth = "true" if _YAML11_BOOLEANS[node.text.lower()] else "false"
            return f"{message}; YAML 1.2 reads {node.text} as text: write {truth}"
        if "string" in types and node.value is not None:
            return f'{message}; quote it to make it text: "{node.text}"'
    return message


def enum_message(enum: Sequence[Any], node: ScalarNode) -> str:
    """A value that is not one of `enum` (KB104), with a close one when there is."""
    choices = [str(v) for v in enum]
    shown = node.text if node.text or not node.plain else "nothing"
    if len(choices) == 1:
        return f"{shown} is not allowed here; use {choices[0]}"
    allowed = ", ".join(choices)
    message = f"{shown} is not allowed here; use one of: {allowed}"
    if isinstance(node.value, str):
        guess = did_you_mean(node.value, choices)
        if guess:
            message = f"{node.text} is not allowed here; did you mean {guess}? (one of: {allowed})"
    return message


def unknown_field_message(name: str, allowed: list[str]) -> str:
    """A field the schema does not know here (KB103): where it belongs, or a close name."""
    if name in _MISPLACED and name not in allowed:
        return _MISPLACED[name]
    guess = did_you_mean(name, allowed)
    if guess:
        return f"unknown field `{name}`; did you mean `{guess}`?"
    if len(allowed) == 1:
        message = f"unknown field `{name}`; the only field here is {allowed[0]}"
    else:
        message = f"unknown field `{name}`; the fields here are: {', '.join(allowed)}"
    if " " in name.strip():
        # Field names have no spaces: this is the tail of a value cut at a comma.
        message += '; inside {...} a comma ends a value, so quote text with commas: "a, b"'
    return message


def did_you_mean(word: str, choices: list[str]) -> str | None:
    def squash(text: str) -> str:
        return text.lower().replace("_", "").replace("-", "").replace(" ", "")

    for choice in choices:
        if squash(choice) == squash(word):
            return choice
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.75)
    return close[0] if close else None


def span(low: float | None, high: float | None) -> str:
    """The allowed range, as advice: "use 3 to 15", "use at least 1"."""
    if low is not None and high is not None:
        return f"use {number(low)} to {number(high)}"
    if low is not None:
        return f"use at least {number(low)}"
    return f"use at most {number(high)}" if high is not None else "out of range"


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- counting and listing ------------------------------------------------------------------------


def plural(count: int, word: str, many: str | None = None) -> str:
    """`word` as `count` of it is written: image, images; `many` where adding "s" is wrong."""
    return word if count == 1 else many or word + "s"


def counted(count: int, word: str, many: str | None = None) -> str:
    """A count and its noun, agreeing: "1 image", "3 images", "no images"."""
    return f"{count if count else 'no'} {plural(count, word, many)}"


def listed(items: Sequence[str], conjunction: str = "and") -> str:
    """Items in a sentence: "a", "a and b", "a, b and c" ("or" for alternatives)."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
