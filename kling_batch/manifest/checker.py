"""One manifest file through every check: YAML, expansion, shape, entries, rules; then the
Manifest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from kling_batch.collector import collector_paused
from kling_batch.manifest import rules
from kling_batch.manifest.diagnostics import Diagnostic, Severity
from kling_batch.manifest.expand import Made, expand
from kling_batch.manifest.loader import parse, read_stream, read_text
from kling_batch.manifest.media_files import MediaInspector
from kling_batch.manifest.model import Manifest, Media, Position
from kling_batch.manifest.nodes import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    YamlProblem,
    field_label,
)
from kling_batch.manifest.normalize import Located, normalize, position_of
from kling_batch.manifest.shape import ShapeError, check_shape
from kling_batch.models import current

_SECTIONS = ("shots", "storyboards")


@dataclass(frozen=True)
class Analysis:
    """Everything `validate` knows about one file. `manifest` is None when there is an error.

    `expanded` is the manifest's tree after expansion, and `made` how each expanded entry in
    it was made, by section and index: what `kling-batch expand` prints.
    """

    path: Path
    manifest: Manifest | None
    diagnostics: tuple[Diagnostic, ...]
    expanded: Node | None = field(default=None, repr=False, compare=False)
    made: Mapping[tuple[str, int], Made] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.manifest is not None


def analyze(
    path: Path, files: MediaInspector | None = None, *, stream: BinaryIO | None = None
) -> Analysis:
    """Check one manifest completely; `files` caches facts about local media across calls.

    With `stream` (standard input), the manifest is read from it, and `path` only names it:
    diagnostics show it, and relative paths resolve against its folder.
    """
    with collector_paused():  # a large manifest's nodes all live until the end
        return _analyze(path, files if files is not None else MediaInspector(), stream)


def _analyze(path: Path, files: MediaInspector, stream: BinaryIO | None) -> Analysis:
    try:
        text = read_text(path) if stream is None else read_stream(stream)
        document = parse(text)
    except YamlProblem as problem:
        return Analysis(path, None, (_from_problem(path, problem),))
    diagnostics = [_from_problem(path, problem) for problem in document.problems]
    if document.root is None:  # empty: the loader said so
        return _finish(path, None, diagnostics)
    expansion = expand(document.root, path, templates="{{" in text)
    diagnostics.extend(_from_shape(path, document.root, e) for e in expansion.shape_errors)
    diagnostics.extend(expansion.diagnostics)
    root = expansion.root
    shape_errors = check_shape(root)
    diagnostics.extend(_from_shape(path, root, error) for error in shape_errors)
    if not isinstance(root, MappingNode):
        return _finish(path, None, diagnostics)
    normalized = normalize(root, path, shape_errors, expansion.made)
    name = normalized.name if normalized.name is not None else path.stem
    diagnostics.extend(_check_entries(normalized.entries, files))
    broken = _broken_sections(shape_errors) | expansion.broken
    whole = rules.WholeManifest(path, root, name, normalized.entries, broken, expansion.broken)
    diagnostics.extend(_check_manifest(whole))
    manifest = Manifest(
        path=path.absolute(),
        name=name,
        entries=tuple(located.entry for located in normalized.entries),
        budget=normalized.budget,
        moved=normalized.moved,
    )
    return _finish(path, manifest, diagnostics, root, expansion.made)


def _finish(
    path: Path,
    manifest: Manifest | None,
    found: list[Diagnostic],
    expanded: Node | None = None,
    made: Mapping[tuple[str, int], Made] | None = None,
) -> Analysis:
    diagnostics = sorted(_collapse(found), key=Diagnostic.sort_key)
    if any(d.is_error for d in diagnostics):
        manifest = None
    return Analysis(path, manifest, tuple(diagnostics), expanded, made or {})


def _check_entries(entries: Sequence[Located], files: MediaInspector) -> Iterable[Diagnostic]:
    # A file rule reads the entry's media and what `files` knows of them, nothing else (each
    # `reads` only media): entries with the same media have the same findings, so they are
    # worked out once per media list (10,000 expanded entries share a handful of files).
    by_media: dict[tuple[Media, ...], list[tuple[rules.Rule, tuple[rules.Finding, ...]]]] = {}
    table = current()  # the models table in force, asked once rather than once per entry
    for located in entries:
        entry = located.entry
        applicable = rules.ENTRY_RULES
        file_rules = rules.FILE_RULES if entry.local_media else ()
        if located.broken:  # only the rules that read none of the broken fields
            applicable = tuple(r for r in applicable if located.broken.isdisjoint(r.reads))
            file_rules = tuple(r for r in file_rules if located.broken.isdisjoint(r.reads))
        subject = rules.subject(located, files, table)
        for rule in applicable:
            for finding in rule.check(subject):
                yield _from_finding(located, rule.code, rule.severity, finding)
        if not file_rules:
            continue
        found = by_media.get(entry.media) if file_rules is rules.FILE_RULES else None
        if found is None:
            found = [(rule, tuple(rule.check(subject))) for rule in file_rules]
            if file_rules is rules.FILE_RULES:
                by_media[entry.media] = found
        for rule, findings in found:
            for finding in findings:
                yield _from_finding(located, rule.code, rule.severity, finding)


def _check_manifest(whole: rules.WholeManifest) -> Iterable[Diagnostic]:
    for rule in rules.MANIFEST_RULES:
        if not whole.broken.isdisjoint(rule.reads):
            continue
        for located, finding in rule.check(whole):
            if located is not None:
                yield _from_finding(located, rule.code, rule.severity, finding)
            else:
                yield _from_manifest_finding(whole, rule.code, rule.severity, finding)


def _broken_sections(shape_errors: Sequence[ShapeError]) -> frozenset[str]:
    return frozenset(str(error.path[0]) for error in shape_errors if error.path)


def _collapse(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic per node, code and message, however many entries it concerns.

    A bad default or a bad shared file would otherwise repeat once per entry that uses it.
    """
    first: dict[tuple[Position, str, str], Diagnostic] = {}
    repeats: dict[tuple[Position, str, str], int] = {}
    for diagnostic in diagnostics:
        key = (diagnostic.position, diagnostic.code, diagnostic.message)
        if key in first:
            repeats[key] = repeats.get(key, 0) + 1
        else:
            first[key] = diagnostic
    collapsed = []
    for key, diagnostic in first.items():
        more = repeats.get(key, 0)
        if more:
            message = (
                f"{diagnostic.message} (also for {more} other entr{'y' if more == 1 else 'ies'})"
            )
            diagnostic = Diagnostic(
                diagnostic.position,
                diagnostic.severity,
                diagnostic.code,
                message,
                diagnostic.entry,
                diagnostic.field,
            )
        collapsed.append(diagnostic)
    return collapsed


# --- conversions -------------------------------------------------------------------------------


def _from_problem(path: Path, problem: YamlProblem) -> Diagnostic:
    return Diagnostic(
        Position(path, problem.line, problem.column), Severity.ERROR, problem.code, problem.message
    )


def _from_finding(
    located: Located, code: str, severity: Severity, finding: rules.Finding
) -> Diagnostic:
    position, field = located.source.locate(finding.at)
    return Diagnostic(position, severity, code, finding.message, located.entry.id, field)


def _from_manifest_finding(
    whole: rules.WholeManifest, code: str, severity: Severity, finding: rules.Finding
) -> Diagnostic:
    """A finding about the manifest itself: at its node if written, else at the top."""
    node: Node | None = whole.root
    for part in finding.at:
        if isinstance(node, MappingNode) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.items):
            node = node.items[part]
        else:
            node = None
    anchor = node if node is not None else whole.root
    position = position_of(anchor, whole.file)
    return Diagnostic(
        position, severity, code, finding.message, None, field_label(finding.at) or None
    )


def _from_shape(path: Path, root: Node, error: ShapeError) -> Diagnostic:
    entry: str | None = None
    at = error.path
    if len(at) >= 2 and at[0] in _SECTIONS and isinstance(root, MappingNode):
        section = root.get(str(at[0]))
        node = section.items[int(at[1])] if isinstance(section, SequenceNode) else None
        identifier = node.get("id") if isinstance(node, MappingNode) else None
        entry = (
            identifier.value
            if isinstance(identifier, ScalarNode) and isinstance(identifier.value, str)
            else f"{at[0]}[{at[1]}]"
        )
        at = at[2:]
    position = position_of(error.node, path)
    return Diagnostic(
        position, Severity.ERROR, error.code, error.message, entry, field_label(at) or None
    )
