"""What a rule is, and what it looks at.

An entry rule reads one normalised entry (`Subject`: the entry, where it was written, its media
combination and facts about its local files) and yields `Finding`s: the field at fault and a
message that says what would be valid. A manifest rule reads the manifest as a whole
(`WholeManifest`) and yields findings about an entry, or about the manifest itself. The checker
turns findings into located diagnostics with the rule's code and severity.

Each rule also says which fields it `reads`: an entry whose schema check failed on one of them
is not judged by that rule (it would only report mistakes that are not there), while the rules
that read none of its broken fields still run, so one pass shows as much as it can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kling_batch.manifest import capabilities as cap
from kling_batch.manifest.diagnostics import Severity
from kling_batch.manifest.media_files import MediaInspector
from kling_batch.manifest.model import Entry
from kling_batch.manifest.nodes import FieldPath, MappingNode
from kling_batch.manifest.normalize import EntrySource, Located
from kling_batch.models import ModelSpec, ModelTable, current


@dataclass(frozen=True)
class Finding:
    at: FieldPath  # the field at fault, e.g. ("media", 1, "type"); () for the entry itself
    message: str


@dataclass(frozen=True)
class Subject:
    """What an entry rule looks at: an entry, where it was written, and the files it uses."""

    entry: Entry
    source: EntrySource
    inputs: cap.Inputs | None  # the media combination; None when the service refuses it
    files: MediaInspector
    table: ModelTable  # the models table in force
    model: ModelSpec | None  # what the entry's model takes; None: the table does not know it

    def written(self, field: str) -> bool:
        """Whether the entry sets `field` itself (not through defaults or derivation)."""
        return field in self.source.node.fields


@dataclass(frozen=True)
class WholeManifest:
    """What a manifest rule looks at: every entry, and the manifest's own mapping."""

    file: Path
    root: MappingNode
    name: str  # the output folder's name: `name:`, else the file's stem
    entries: Sequence[Located]
    broken: frozenset[str]  # top-level fields with a schema error somewhere below them
    # Sections with an entry the expansion left out (its own error says why): their ids after
    # expansion are not all known.
    dropped: frozenset[str] = frozenset()

    @property
    def table(self) -> ModelTable:
        return current()


EntryCheck = Callable[[Subject], Iterator[Finding]]
# A finding about an entry (its `at` relative to the entry), or with None about the manifest
# itself (its `at` relative to the manifest's top level).
ManifestCheck = Callable[[WholeManifest], Iterator[tuple[Located | None, Finding]]]


@dataclass(frozen=True)
class Rule:
    """An entry rule: its stable code, its check, and the entry fields the check reads.

    Reading `media` includes the media combination (`Subject.inputs`); reading `model`
    includes what the models table says of it (`Subject.model`).
    """

    code: str
    check: EntryCheck
    reads: tuple[str, ...]
    severity: Severity = Severity.ERROR

    @property
    def summary(self) -> str:
        return (self.check.__doc__ or "").strip().splitlines()[0]


@dataclass(frozen=True)
class ManifestRule:
    """A rule over the whole manifest; `reads` names the top-level fields it needs intact."""

    code: str
    check: ManifestCheck
    reads: tuple[str, ...] = ()
    severity: Severity = Severity.ERROR

    @property
    def summary(self) -> str:
        return (self.check.__doc__ or "").strip().splitlines()[0]


def subject(located: Located, files: MediaInspector, table: ModelTable | None = None) -> Subject:
    """What the entry rules look at for `located`; `table`: the models table in force, when the
    caller asked for it once for many entries."""
    table = table if table is not None else current()
    entry = located.entry
    return Subject(entry, located.source, located.inputs, files, table, table.find(entry.model))
