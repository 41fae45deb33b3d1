"""Scalars by the YAML 1.2 core schema, and the only tags a manifest may carry.

The core schema is the one yaml-language-server uses, instead of PyYAML's YAML 1.1: `16:9`
stays the text "16:9" (1.1 reads the integer 969) and `yes`/`no`/`on` stay text (1.1 reads
booleans), so what an editor shows is what the manifest means. Tags are limited to the core
ones (`!!str`, `!!int`, ...): `!!python/...` and custom tags construct objects, and fail.
"""

from __future__ import annotations

import re

from kling_batch.manifest.nodes import MappingNode, Scalar, SequenceNode, YamlProblem

_WORDS: dict[str, Scalar] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    ".inf": float("inf"),
    ".Inf": float("inf"),
    ".INF": float("inf"),
    "+.inf": float("inf"),
    "+.Inf": float("inf"),
    "+.INF": float("inf"),
    "-.inf": float("-inf"),
    "-.Inf": float("-inf"),
    "-.INF": float("-inf"),
    ".nan": float("nan"),
    ".NaN": float("nan"),
    ".NAN": float("nan"),
}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_NUMBER_START = frozenset("0123456789+-.")


def resolve_plain(text: str) -> Scalar:
    """The value of an unquoted scalar under the YAML 1.2 core schema."""
    if text in _WORDS:
        return _WORDS[text]
    if text[0] in _NUMBER_START:
        try:
            if _INT.match(text):
                return int(text)
            if _FLOAT.match(text):
                return float(text)
        except ValueError:  # more digits than int() accepts: keep the text
            return text
        if _OCT.match(text):
            return int(text[2:], 8)
        if _HEX.match(text):
            return int(text[2:], 16)
    return text


CORE_TAG = "tag:yaml.org,2002:"
COLLECTION_TAGS = {f"{CORE_TAG}map": MappingNode, f"{CORE_TAG}seq": SequenceNode}


def tagged_value(tag: str, text: str, line: int, column: int) -> Scalar:
    """The value of a scalar with an explicit core tag such as `!!str`."""
    name = tag.removeprefix(CORE_TAG)
    if tag == "!" or name == "str":
        return text
    if tag.startswith(CORE_TAG) and name in ("int", "float", "bool", "null"):
        value = resolve_plain(text)
        is_bool = isinstance(value, bool)
        if (name == "bool" and is_bool) or (name == "null" and value is None):
            return value
        if name == "int" and isinstance(value, int) and not is_bool:
            return value
        if name == "float" and isinstance(value, int | float) and not is_bool:
            return float(value)
        raise YamlProblem("KB009", f"!!{name} cannot read {text!r}", line, column)
    raise bad_tag(tag, line, column)


def bad_tag(tag: str, line: int, column: int) -> YamlProblem:
    shown = "!!" + tag.removeprefix(CORE_TAG) if tag.startswith(CORE_TAG) else tag
    return YamlProblem(
        "KB009",
        f"the tag {shown} is not allowed: a manifest holds plain data only "
        "(text, numbers, true/false, lists, mappings)",
        line,
        column,
    )
