"""The expanded manifest as plain YAML: what `kling-batch expand` prints.

No `vars`, `matrix`, `rows`, `takes` or `max_entries`: every entry is written out, `version: 1`
and `name:` first (the name is written even when the source takes it from its file name, so
that the copy renders into the same folder), then the other top-level fields, then the
sections. Each expanded entry is preceded by a comment saying where it came from.

Text is quoted wherever this project's YAML 1.2 loader would read it as anything but text
(PyYAML's emitter only knows YAML 1.1, which reads `0o17` and `1e3` as text), so that the copy
reads back as the same values and gives every entry the same request body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from kling_batch.manifest.checker import Analysis
from kling_batch.manifest.expand import EXPANSION_FIELDS, Made
from kling_batch.manifest.nodes import MappingNode, SequenceNode, to_python
from kling_batch.manifest.scalars import resolve_plain

_SECTIONS = ("shots", "storyboards")
_LEFT_OUT = frozenset({"version", "name", "max_entries", *EXPANSION_FIELDS, *_SECTIONS})


def expanded_yaml(analysis: Analysis) -> str:
    """The plain manifest of a valid analysis (`analysis.manifest` is not None)."""
    manifest, root = analysis.manifest, analysis.expanded
    assert manifest is not None and isinstance(root, MappingNode), "expand a valid manifest"
    out = [
        f"# Expanded from {analysis.path} by `kling-batch expand`. Relative paths resolve\n",
        "# against that manifest's folder: save this file beside it.\n",
        _dump({"version": 1, "name": manifest.name}),
    ]
    for key, value in root.fields.items():
        if key not in _LEFT_OUT and not key.startswith("x-"):
            out.append(_dump({key: to_python(value)}))
    for section in _SECTIONS:
        entries = root.get(section)
        if not isinstance(entries, SequenceNode):
            continue
        if not entries.items:
            out.append(f"{section}: []\n")
            continue
        out.append(f"{section}:\n")
        for index, entry in enumerate(entries.items):
            made = analysis.made.get((section, index))
            if made is not None:
                out.append(f"  # {_origin(made)}\n")
            item = _dump([to_python(entry)])
            out.append("".join(f"  {line}\n" for line in item.splitlines()))
    return "".join(out)


def _origin(made: Made) -> str:
    origin = made.origin
    parts = [", ".join(f"{name}={value}" for name, value in origin.values)]
    if origin.row is not None:
        parts.append(f"row {origin.row.file}:{origin.row.line}")
    if made.take is not None:
        parts.append(f"take {made.take}")
    shown = "; ".join(part for part in parts if part)
    where = f"{origin.position.file}:{origin.position.line}"
    return f"from {where}" + (f": {shown}" if shown else "")


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # each entry written out in full, as `validate` reads it


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = None
    if "\n" in value:
        style = "|"
    elif not value or resolve_plain(value) != value:
        style = '"'  # YAML 1.2 would read it as a number, a boolean or null
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _dump(value: Mapping[str, Any] | list[Any]) -> str:
    return yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,  # one line per value: easy to read and to diff
    )
