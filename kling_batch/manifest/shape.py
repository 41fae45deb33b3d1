"""Check a node tree against the manifest JSON Schema, pointing each error at its node.

This interprets the subset of JSON Schema 2020-12 that `schemas/manifest.schema.json` uses,
directly on the located nodes, so the schema stays the one source of the manifest's shape.
A general validator would need the tree converted to plain values first, could not say where
a value was written, and takes several times longer on a 10,000-entry manifest. A keyword this
module does not implement makes the schema fail to compile, so the schema can never say more
than what is enforced; tests check the verdicts against the `jsonschema` package.

`errorMessage` (the yaml-language-server extension) replaces the message of a failed `enum`,
`const`, `pattern`, `anyOf` or `oneOf`, as in editors; a wrong type keeps its own message,
which says what was found and how to quote it. The wording lives in `shape_messages`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from kling_batch.manifest import shape_messages as say
from kling_batch.manifest.nodes import FieldPath, MappingNode, Node, ScalarNode, SequenceNode
from kling_batch.manifest.schema import schema

_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$defs",
        "$comment",
        "title",
        "description",
        "markdownDescription",
        "default",
        "examples",
        "deprecated",
        "errorMessage",
    }
)
_KEYWORDS = _ANNOTATIONS | {
    "$ref",
    "type",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "required",
    "properties",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
    "items",
    "minItems",
    "maxItems",
    "allOf",
    "anyOf",
    "oneOf",
}


class SchemaUnsupported(Exception):
    """The schema uses a keyword or form this checker does not implement."""


@dataclass(frozen=True)
class ShapeError:
    path: FieldPath  # where the offending node sits; a missing field's mapping for KB102
    node: Node
    code: str
    message: str
    missing: str | None = None  # KB102: the name of the required field that is not there


@cache
def manifest_shape() -> Shape:
    return compile_schema(schema())


@cache
def definition(name: str) -> Shape:
    """The compiled `#/$defs/<name>` of the manifest schema: expansion checks its own fields."""
    return _Compiler(schema()).compile_ref(f"#/$defs/{name}")


def check_shape(root: Node) -> list[ShapeError]:
    """Every way `root` departs from the manifest schema."""
    errors: list[ShapeError] = []
    manifest_shape().check(root, (), errors)
    return errors


def compile_schema(raw: Mapping[str, Any]) -> Shape:
    return _Compiler(raw).compile()


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root
        self._refs: dict[str, Shape] = {}
        self._pending: list[Shape] = []

    def compile(self) -> Shape:
        shape = self.shape(self._root)
        self._link()
        return shape

    def compile_ref(self, ref: str) -> Shape:
        shape = self._target(ref)
        self._link()
        return shape

    def _link(self) -> None:
        while self._pending:  # link $refs once every target exists: references may cycle
            pending = self._pending.pop()
            assert pending.ref_name is not None
            pending.ref = self._target(pending.ref_name)

    def shape(self, raw: Any) -> Shape:
        if not isinstance(raw, Mapping):
            raise SchemaUnsupported(f"boolean or non-object subschemas are not implemented: {raw}")
        shape = Shape(raw, self)
        if shape.ref_name is not None:
            self._pending.append(shape)
        return shape

    def _target(self, ref: str) -> Shape:
        if ref not in self._refs:
            if not ref.startswith("#/"):
                raise SchemaUnsupported(f"only local references are implemented: {ref}")
            target: Any = self._root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            self._refs[ref] = self.shape(target)
        return self._refs[ref]


class Shape:
    """One compiled (sub)schema."""

    def __init__(self, raw: Mapping[str, Any], compiler: _Compiler) -> None:
        unknown = set(raw) - _KEYWORDS
        if unknown:
            raise SchemaUnsupported(f"keywords not implemented: {sorted(unknown)}")
        sub = compiler.shape
        self.description: str | None = raw.get("description")
        self.error_message: str | None = raw.get("errorMessage")
        self.ref_name: str | None = raw.get("$ref")
        self.ref: Shape | None = None
        types = raw.get("type")
        self.types: tuple[str, ...] | None = (
            (types,) if isinstance(types, str) else tuple(types) if types else None
        )
        self._type_names = frozenset(self.types or ())
        self.enum: tuple[Any, ...] | None = tuple(raw["enum"]) if "enum" in raw else None
        self.has_const = "const" in raw
        self.const: Any = raw.get("const")
        pattern = raw.get("pattern")
        self.pattern_text: str | None = pattern
        self.pattern = re.compile(_python_pattern(pattern)) if pattern else None
        self.min_length: int | None = raw.get("minLength")
        self.max_length: int | None = raw.get("maxLength")
        self.minimum: float | None = raw.get("minimum")
        self.maximum: float | None = raw.get("maximum")
        self.exclusive_minimum: float | None = raw.get("exclusiveMinimum")
        self.required: tuple[str, ...] = tuple(raw.get("required", ()))
        self.properties = {k: sub(v) for k, v in raw.get("properties", {}).items()}
        self.pattern_properties = [
            (re.compile(_python_pattern(k)), sub(v))
            for k, v in raw.get("patternProperties", {}).items()
        ]
        additional = raw.get("additionalProperties", True)
        self.additional: Shape | bool = (
            additional if isinstance(additional, bool) else sub(additional)
        )
        names = raw.get("propertyNames")
        self.property_names = sub(names) if names is not None else None
        self.items = sub(raw["items"]) if "items" in raw else None
        self.min_items: int | None = raw.get("minItems")
        self.max_items: int | None = raw.get("maxItems")
        self.all_of = [sub(s) for s in raw.get("allOf", ())]
        self.any_of = [sub(s) for s in raw.get("anyOf", ())]
        self.one_of = [sub(s) for s in raw.get("oneOf", ())]

    # --- checking ----------------------------------------------------------------------------

    def check(self, node: Node, path: FieldPath, errors: list[ShapeError]) -> None:
        # Dispatch on the exact class (nodes are never subclassed): this runs once per node
        # and schema, some 130,000 times for 10,000 expanded entries.
        kind = type(node)
        if self.types is not None and not self._has_type(node, kind):
            errors.append(ShapeError(path, node, "KB101", say.type_message(self.types, node, path)))
            return  # nothing else can be said about a value of the wrong kind
        if self.ref is not None:
            self.ref.check(node, path, errors)
        if kind is ScalarNode:
            self._check_scalar(node, path, errors)  # type: ignore[arg-type]
        elif kind is MappingNode:
            self._check_mapping(node, path, errors)  # type: ignore[arg-type]
        else:
            self._check_sequence(node, path, errors)  # type: ignore[arg-type]
        for shape in self.all_of:
            shape.check(node, path, errors)
        if self.any_of and not any(s.accepts(node, path) for s in self.any_of):
            message = self.error_message or "does not match any of the allowed forms"
            errors.append(ShapeError(path, node, "KB109", message))
        if self.one_of and sum(s.accepts(node, path) for s in self.one_of) != 1:
            message = self.error_message or "must match exactly one of the allowed forms"
            errors.append(ShapeError(path, node, "KB109", message))

    def _has_type(self, node: Node, kind: type) -> bool:
        """Whether `node` is of one of `types` (JSON Schema counts 5.0 as an integer)."""
        names = self._type_names
        if kind is MappingNode:
            return "object" in names
        if kind is SequenceNode:
            return "array" in names
        value = node.value  # type: ignore[union-attr]
        if isinstance(value, str):
            return "string" in names
        if isinstance(value, bool):
            return "boolean" in names
        if value is None:
            return "null" in names
        if isinstance(value, int):
            return "number" in names or "integer" in names
        return "number" in names or (
            "integer" in names and math.isfinite(value) and value.is_integer()
        )

    def accepts(self, node: Node, path: FieldPath) -> bool:
        scratch: list[ShapeError] = []
        self.check(node, path, scratch)
        return not scratch

    def _check_scalar(self, node: ScalarNode, path: FieldPath, errors: list[ShapeError]) -> None:
        value = node.value
        if self.enum is not None and not _among(value, self.enum):
            message = self.error_message or say.enum_message(self.enum, node)
            errors.append(ShapeError(path, node, "KB104", message))
        if self.has_const and not _among(value, (self.const,)):
            message = self.error_message or f"must be {self.const!r}"
            errors.append(ShapeError(path, node, "KB104", message))
        if isinstance(value, str):
            self._check_text(node, value, path, errors)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self._check_number(node, value, path, errors)

    def _check_text(
        self, node: ScalarNode, value: str, path: FieldPath, errors: list[ShapeError]
    ) -> None:
        if self.pattern is not None and not self.pattern.search(value):
            message = self.error_message or f"does not match the pattern {self.pattern_text}"
            errors.append(ShapeError(path, node, "KB105", message))
        length = len(value)
        if self.min_length is not None and length < self.min_length:
            message = f"is {length} characters long; at least {self.min_length} are needed"
            if self.min_length == 1:
                message = "must not be empty"
            errors.append(ShapeError(path, node, "KB106", message))
        if self.max_length is not None and length > self.max_length:
            message = (
                f"is {length} characters long, more than the {self.max_length} allowed; "
                "shorten it (the service would cut the rest silently, changing the render)"
            )
            errors.append(ShapeError(path, node, "KB106", message))

    def _check_number(
        self, node: ScalarNode, value: float, path: FieldPath, errors: list[ShapeError]
    ) -> None:
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            errors.append(
                ShapeError(
                    path, node, "KB107", f"{node.text} is out of range: {say.span(low, high)}"
                )
            )
        if self.exclusive_minimum is not None and not value > self.exclusive_minimum:
            message = (
                f"{node.text} is out of range: use more than {say.number(self.exclusive_minimum)}"
            )
            errors.append(ShapeError(path, node, "KB107", message))

    def _check_mapping(self, node: MappingNode, path: FieldPath, errors: list[ShapeError]) -> None:
        fields = node.fields
        for name in self.required:
            if name not in fields:
                errors.append(ShapeError(path, node, "KB102", f"`{name}` is missing", name))
        if self.property_names is not None:
            for name, key in node.keys.items():  # an error points at the key
                self.property_names.check(key, (*path, name), errors)
        properties = self.properties
        for name, value in fields.items():
            shape = properties.get(name)
            if shape is not None:
                shape.check(value, (*path, name), errors)
                continue
            matched = False
            for pattern, pattern_shape in self.pattern_properties:
                if pattern.search(name):
                    matched = True
                    pattern_shape.check(value, (*path, name), errors)
            if matched:
                continue
            if self.additional is False:
                key = node.keys[name]
                message = say.unknown_field_message(name, list(properties))
                errors.append(ShapeError((*path, name), key, "KB103", message))
            elif isinstance(self.additional, Shape):
                self.additional.check(value, (*path, name), errors)

    def _check_sequence(
        self, node: SequenceNode, path: FieldPath, errors: list[ShapeError]
    ) -> None:
        count = len(node.items)
        low, high = self.min_items, self.max_items
        if (low is not None and count < low) or (high is not None and count > high):
            message = f"has {count} item{'s' * (count != 1)}; {say.span(low, high)} items"
            errors.append(ShapeError(path, node, "KB108", message))
        if self.items is not None:
            items = self.items
            for index, item in enumerate(node.items):
                items.check(item, (*path, index), errors)


def _among(value: Any, allowed: tuple[Any, ...]) -> bool:
    for choice in allowed:
        if isinstance(value, bool) or isinstance(choice, bool):
            # True == 1 in Python, but not in JSON Schema.
            if type(value) is type(choice) and value == choice:
                return True
        elif value == choice:  # 1 == 1.0, as in JSON Schema
            return True
    return False


def _python_pattern(pattern: str) -> str:
    # ECMA-262's `$` matches only at the very end; Python's also before a final newline,
    # which would let "cat\n" through as an id (and a folder name).
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern
