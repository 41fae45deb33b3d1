"""The models a manifest may name and what each one takes: one table, shipped as data.

`models.json` beside this module lists each model by its full DashScope name: its alias, the
inputs it takes, whether it always renders audio, its modes, and its own prices where they
differ from the price table's. A user extends it with a file of the same shape, named by
`$KLING_BATCH_MODELS` (found as the price table's override is, `tables.user_file`): a model the
table knows takes the fields the file gives it; a new model needs at least `takes`.

Nothing here knows manifests: the rules (`manifest.rules`), the normaliser's aliases and the
price table read this table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from kling_batch.tables import read_table, user_file

MODELS_ENV = "KLING_BATCH_MODELS"
SHIPPED = "models.json"

# What a model may take: the two kinds of render that need no media, the media types (as the
# manifest writes them) and element_list.
INPUTS = (
    "text-to-video",
    "storyboard",
    "first_frame",
    "last_frame",
    "refer",
    "feature",
    "base",
    "element_list",
)
AUDIO = ("optional", "always")
_FIELDS = ("alias", "note", "takes", "audio", "modes", "prompt_references", "prices")
_MODES = ("std", "pro")


class ModelTableError(ValueError):
    """A models file that cannot be read, or that describes a model badly."""


@dataclass(frozen=True)
class ModelSpec:
    name: str  # the full DashScope name, as requests carry it
    alias: str | None
    takes: frozenset[str]  # of INPUTS
    audio_always: bool  # the service renders sound whatever `audio` says, and bills it
    modes: tuple[str, ...]
    prompt_references: bool  # reads <<<image_N>>> & co., so needs a prompt to place its media
    # Its own prices, in the price table's shape ({currency, per_second}); None: the price
    # table's. prices.py reads them.
    prices: Mapping[str, Any] | None = field(default=None, compare=False)

    def renders_audio(self, audio: bool | None) -> bool:
        """Whether its render has sound: as `audio` asks, or always on such a model."""
        return bool(audio) or self.audio_always

    @property
    def label(self) -> str:
        """How messages name the model: its alias, else its full name."""
        return self.alias or self.name


@dataclass(frozen=True)
class ModelTable:
    models: tuple[ModelSpec, ...]
    source: str
    extended_by: Path | None = None
    # Why the user's file was not used (the table is then the shipped one): validate reports it.
    problem: str | None = None

    @cached_property
    def _by_name(self) -> dict[str, ModelSpec]:
        index = {spec.name: spec for spec in self.models}
        index.update((spec.alias, spec) for spec in self.models if spec.alias)
        return index

    def find(self, name: str) -> ModelSpec | None:
        """The model called `name`, by its full name or its alias."""
        return self._by_name.get(name)

    def resolve(self, name: str) -> str:
        """The full name for an alias; any other name as it is."""
        spec = self.find(name)
        return spec.name if spec is not None else name

    def taking(self, *inputs: str) -> tuple[ModelSpec, ...]:
        """The models that take every one of `inputs`, in table order."""
        return tuple(spec for spec in self.models if spec.takes.issuperset(inputs))

    @cached_property
    def aliases(self) -> dict[str, str]:
        return {spec.alias: spec.name for spec in self.models if spec.alias}

    @classmethod
    def load(cls, path: Path | None = None) -> ModelTable:
        """The shipped table, extended by the file at `path`, else at $KLING_BATCH_MODELS."""
        raw, source = _shipped()
        extension = user_file(MODELS_ENV, path)
        if extension is None:
            return cls._build(raw, source)
        try:
            _merge(raw, read_table(extension, SHIPPED).get("models"), _aliases(raw))
            return cls._build(raw, source, extension)
        except (OSError, ValueError, TypeError) as problem:
            raise ModelTableError(f"models file {extension}: {problem}") from None

    @classmethod
    def _build(cls, raw: dict[str, Any], source: str, extension: Path | None = None) -> ModelTable:
        models = tuple(_spec(name, fields) for name, fields in raw.items())
        seen: dict[str, str] = {}
        for spec in models:
            for name in (spec.name, spec.alias):
                if name is None:
                    continue
                if name in seen:
                    raise ValueError(f"{name!r} names both {seen[name]} and {spec.name}")
                seen[name] = spec.name
        return cls(models, source, extension)


def current() -> ModelTable:
    """The table in force: `ModelTable.load()`, read once per value of $KLING_BATCH_MODELS.

    When the user's file cannot be used, the shipped table, with `problem` saying why: the
    manifest checker reports it (KB230) instead of failing halfway through a file.
    """
    return _current(os.environ.get(MODELS_ENV) or None)


def renders_audio(model: str, audio: bool | None) -> bool:
    """Whether a render of `model` has sound: as `audio` asks, or always on such a model."""
    spec = current().find(model)
    return spec.renders_audio(audio) if spec is not None else bool(audio)


@cache
def _current(named: str | None) -> ModelTable:
    try:
        return ModelTable.load(Path(named) if named else None)
    except ModelTableError as error:
        table = ModelTable._build(*_shipped())
        return ModelTable(table.models, table.source, problem=str(error))


class AliasView(Mapping[str, str]):
    """alias -> full name in the table in force, looked up when asked: the table can grow."""

    def __getitem__(self, alias: str) -> str:
        return current().aliases[alias]

    def __iter__(self) -> Iterator[str]:
        return iter(current().aliases)

    def __len__(self) -> int:
        return len(current().aliases)

    def get(self, alias: str, default: Any = None) -> Any:  # Mapping's, without a KeyError
        return current().aliases.get(alias, default)


# --- reading a table ----------------------------------------------------------------------------


def _shipped() -> tuple[dict[str, Any], str]:
    """The shipped models, raw, and the table's source note."""
    shipped = read_table(None, SHIPPED)
    return dict(shipped["models"]), str(shipped.get("source", ""))


def _aliases(raw: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(fields["alias"]): name
        for name, fields in raw.items()
        if isinstance(fields, dict) and fields.get("alias")
    }


def _merge(raw: dict[str, Any], extension: object, aliases: Mapping[str, str]) -> None:
    """Lay the user's models over the shipped ones, field by field; a new model is added."""
    if not isinstance(extension, dict):
        raise ValueError('it needs `models: {"<full model name>": {"takes": [...], ...}}`')
    for key, fields in extension.items():
        if not isinstance(fields, dict):
            raise ValueError(f"model {key!r}: expected an object of fields, like the shipped ones")
        name = aliases.get(key, key)  # a shipped model may be named by its alias
        raw[name] = {**raw.get(name, {}), **fields}


def _spec(name: str, fields: Mapping[str, Any]) -> ModelSpec:
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise ValueError(f"model {name!r}: unknown field {unknown[0]!r}; use {', '.join(_FIELDS)}")
    if "takes" not in fields:
        raise ValueError(
            f"model {name!r}: no `takes`; list what it takes, from {', '.join(INPUTS)}"
        )
    takes = _strings(name, "takes", fields["takes"])
    strange = [item for item in takes if item not in INPUTS]
    if strange:
        raise ValueError(f"model {name!r}: takes {strange[0]!r}? It takes from {', '.join(INPUTS)}")
    alias = fields.get("alias")
    if alias is not None and (not isinstance(alias, str) or not alias):
        raise ValueError(f"model {name!r}: alias must be a name such as 'turbo', not {alias!r}")
    audio = fields.get("audio", "optional")
    if audio not in AUDIO:
        raise ValueError(f"model {name!r}: audio is 'optional' or 'always', not {audio!r}")
    references = fields.get("prompt_references", False)
    if not isinstance(references, bool):
        raise ValueError(f"model {name!r}: prompt_references is true or false")
    prices = fields.get("prices")
    if prices is not None and not (
        isinstance(prices, dict)
        and isinstance(prices.get("currency"), str)
        and isinstance(prices.get("per_second"), dict)
    ):
        raise ValueError(
            f"model {name!r}: prices has the price table's shape, "
            '{"currency": "CNY", "per_second": {"std": {...}, "pro": {...}}}, or is left out'
        )
    return ModelSpec(
        name=name,
        alias=alias,
        takes=frozenset(takes),
        audio_always=audio == "always",
        modes=tuple(_strings(name, "modes", fields.get("modes", list(_MODES)))),
        prompt_references=references,
        prices=prices,
    )


def _strings(name: str, key: str, value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"model {name!r}: {key} is a non-empty list of names")
    return value
