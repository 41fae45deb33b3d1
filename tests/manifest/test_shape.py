"""The shape checker: same verdicts as a reference JSON Schema validator, better messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from kling_batch.manifest import Diagnostic
from kling_batch.manifest.loader import parse
from kling_batch.manifest.nodes import to_python
from kling_batch.manifest.schema import schema
from kling_batch.manifest.shape import SchemaUnsupported, check_shape, compile_schema

Diagnose = Callable[..., list[Diagnostic]]
EXAMPLES = Path(__file__).resolve().parents[2] / "manifests"

# Documents that exercise every keyword the schema uses, both ways.
CORPUS = [
    "version: 1\n",
    "version: 2\n",
    "version: '1'\n",
    "version: 1.0\n",
    "name: x\n",
    "version: 1\nname: ../up\n",
    "version: 1\nname: ok.name_1\nbudget: 0\n",
    "version: 1\nbudget: 0.5\n",
    "version: 1\nbudget: true\n",
    "version: 1\nx-anchors: {anything: [1, 2]}\nshots: []\n",
    "version: 1\nextra: 1\n",
    "version: 1\nshots: {}\n",
    "version: 1\nshots: [{prompt: no id}]\n",
    "version: 1\nshots: [{id: a, duration: 2}]\n",
    "version: 1\nshots: [{id: a, duration: 16}]\n",
    "version: 1\nshots: [{id: a, duration: 5.0}]\n",
    "version: 1\nshots: [{id: a, duration: 5.5}]\n",
    "version: 1\nshots: [{id: a, duration: .inf}]\n",
    "version: 1\nshots: [{id: a, audio: 1}]\n",
    "version: 1\nshots: [{id: a, audio: false, watermark: true}]\n",
    "version: 1\nshots: [{id: a, mode: std, aspect_ratio: '9:16'}]\n",
    "version: 1\nshots: [{id: a, mode: fast}]\n",
    "version: 1\nshots: [{id: a, aspect_ratio: 16:9}]\n",
    "version: 1\nshots: [{id: a, aspect_ratio: '4:3'}]\n",
    "version: 1\nshots: [{id: a, prompt: ''}]\n",
    f"version: 1\nshots: [{{id: a, prompt: {'x' * 2500}}}]\n",
    f"version: 1\nshots: [{{id: a, prompt: {'x' * 2501}}}]\n",
    f"version: 1\nshots: [{{id: a, negative_prompt: {'x' * 2500}}}]\n",
    f"version: 1\nshots: [{{id: a, negative_prompt: {'x' * 2501}}}]\n",
    "version: 1\nshots: [{id: a, model: omni}]\n",
    "version: 1\nshots: [{id: a, model: kling-v3}]\n",
    "version: 1\nshots: [{id: a, media: [{type: refer, url: 'https://e.com/a.jpg'}]}]\n",
    "version: 1\nshots: [{id: a, media: [{type: refer, url: 'ftp://e.com/a.jpg'}]}]\n",
    "version: 1\nshots: [{id: a, media: [{type: refer, path: a.jpg}]}]\n",
    "version: 1\nshots: [{id: a, media: [{type: refer, path: a.jpg, url: 'oss://b'}]}]\n",
    "version: 1\nshots: [{id: a, media: [{type: refer}]}]\n",
    "version: 1\nshots: [{id: a, media: [{type: movie, url: 'http://e.com/a'}]}]\n",
    "version: 1\nshots: [{id: a, media: [{type: base, url: 'http://e', keep_original_sound: 1}]}]"
    "\n",
    "version: 1\nshots: [{id: a, media: ['https://e.com/a.jpg']}]\n",
    "version: 1\nshots: [{id: a, element_list: [1, {element_id: 2}]}]\n",
    "version: 1\nshots: [{id: a, element_list: [0]}]\n",
    "version: 1\nshots: [{id: a, element_list: [{element_id: 2, name: x}]}]\n",
    "version: 1\nshots: [{id: a, element_list: [{id: 2}]}]\n",
    "version: 1\nshots: [{id: a, element_list: ['2']}]\n",
    "version: 1\nshots: [{id: a, shot_type: customize}]\n",
    "version: 1\nstoryboards: [{id: s, shot_type: customize, multi_prompt: []}]\n",
    "version: 1\nstoryboards: [{id: s, shot_type: guess}]\n",
    "version: 1\nstoryboards: [{id: s, multi_prompt: [{prompt: a, duration: 0}]}]\n",
    "version: 1\nstoryboards: [{id: s, multi_prompt: [{prompt: a, index: 1}]}]\n",
    f"version: 1\nstoryboards: [{{id: s, multi_prompt: [{{prompt: {'y' * 513}}}]}}]\n",
    "version: 1\nstoryboards: [{id: s, multi_prompt: [{p: 1}, {p: 2}, {p: 3}, {p: 4}, {p: 5}, "
    "{p: 6}, {p: 7}]}]\n",
    "version: 1\ndefaults: {model: omni, shot_type: intelligence, duration: 4}\n",
    # expansion: vars, matrix, takes, rows, max_entries, moved, and templated ids and URLs
    "version: 1\nvars: {a: x, b: 2, c: true}\nmax_entries: 5000\n",
    "version: 1\nvars: {a-b: x}\n",
    "version: 1\nvars: {1a: x}\n",
    "version: 1\nvars: {a: [1]}\n",
    "version: 1\nvars: {a: null}\n",
    "version: 1\nmax_entries: 0\n",
    "version: 1\nshots: [{id: '{{p}}-{{q}}', vars: {q: y}, takes: 2, rows: r.csv}]\n",
    "version: 1\nshots: [{id: 'a {{p}}', media: [{type: refer, url: '{{host}}/a.jpg'}]}]\n",
    "version: 1\nshots: [{id: 'a b'}]\n",
    "version: 1\nshots: [{id: a, takes: 0}]\n",
    "version: 1\nshots: [{id: a, rows: ''}]\n",
    "version: 1\nshots: [{id: a, matrix: {p: [a, 1, true], include: [{p: b}], exclude: [{p: 1}]}}]"
    "\n",
    "version: 1\nshots: [{id: a, matrix: {p: []}}]\n",
    "version: 1\nshots: [{id: a, matrix: {p: [[1]]}}]\n",
    "version: 1\nshots: [{id: a, matrix: {p-q: [1]}}]\n",
    "version: 1\nshots: [{id: a, matrix: {include: [{p-q: 1}]}}]\n",
    "version: 1\nshots: [{id: a, matrix: {exclude: {p: 1}}}]\n",
    "version: 1\nstoryboards: [{id: s, matrix: {aspect_ratio: ['1:1']}, takes: 3}]\n",
    "version: 1\nmoved: [{from: a, to: b}]\n",
    "version: 1\nmoved: [{from: a}]\n",
    "version: 1\nmoved: [{from: '{{a}}', to: b}]\n",
    "version: 1\nmoved: {from: a, to: b}\n",
    "version: 1\ndefaults: {id: a}\n",
    "version: 1\ndefaults: []\n",
    "- version: 1\n",
    "just text\n",
]


@pytest.mark.parametrize("text", CORPUS)
def test_same_verdict_as_jsonschema(text: str) -> None:
    root = parse(text).root
    assert root is not None
    reference = jsonschema.Draft202012Validator(schema())
    assert (not check_shape(root)) is reference.is_valid(to_python(root))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_pass_both(path: Path) -> None:
    root = parse(path.read_text()).root
    assert root is not None
    assert check_shape(root) == []
    jsonschema.Draft202012Validator(schema()).validate(to_python(root))


def test_a_trailing_newline_does_not_slip_past_a_pattern() -> None:
    # Python's `$` also matches before a final newline; ECMA-262's (JSON Schema's) does not.
    root = parse('version: 1\nshots: [{id: "cat\\n"}]\n').root
    assert root is not None
    [error] = check_shape(root)
    assert (error.code, error.path) == ("KB105", ("shots", 0, "id"))


def messages(diagnose: Diagnose, text: str) -> list[tuple[str, str | None, str]]:
    return [(d.code, d.field, d.message) for d in diagnose(text)]


def test_unknown_field_suggests_the_right_one(diagnose: Diagnose) -> None:
    found = messages(diagnose, "version: 1\nshots: [{id: a, prompt: x, aspectRatio: '1:1'}]\n")
    [(code, field, message)] = found
    assert (code, field) == ("KB103", "aspectRatio")
    assert "did you mean `aspect_ratio`?" in message


def test_unknown_field_in_the_wrong_section_says_where(diagnose: Diagnose) -> None:
    found = messages(diagnose, "version: 1\nshots: [{id: a, shot_type: customize}]\n")
    assert (
        "KB103",
        "shot_type",
        "`shot_type` belongs to storyboards: list this entry under `storyboards:`",
    ) in found


def test_a_comma_inside_flow_mapping_gets_a_hint(diagnose: Diagnose) -> None:
    [(code, field, message)] = messages(
        diagnose,
        "version: 1\nstoryboards: [{id: s, shot_type: customize, aspect_ratio: '1:1', "
        "multi_prompt: [{prompt: a cup, steam rising, duration: 4}]}]\n",
    )
    assert (code, field) == ("KB103", "multi_prompt[0].steam rising")
    assert "quote text with commas" in message


def test_enum_suggests_a_close_value(diagnose: Diagnose) -> None:
    found = messages(diagnose, "version: 1\nshots: [{id: a, prompt: x, mode: Pro}]\n")
    assert ("KB104", "mode", "Pro is not allowed here; did you mean pro? (one of: std, pro)") in (
        found
    )


def test_too_long_text_says_why(diagnose: Diagnose) -> None:
    found = messages(diagnose, f"version: 1\nshots: [{{id: a, negative_prompt: {'x' * 2501}}}]\n")
    [(_, field, message)] = [f for f in found if f[0] == "KB106"]
    assert field == "negative_prompt"
    assert "2501 characters" in message and "more than the 2500 allowed" in message


def test_prompts_have_no_length_cap_in_the_schema(diagnose: Diagnose) -> None:
    # The service truncates long prompts instead of refusing them: the rules warn (KB224,
    # KB225), so the schema must not make them errors in editors.
    text = (
        f"version: 1\nstoryboards: [{{id: s, shot_type: intelligence, prompt: {'x' * 2501}, "
        f"multi_prompt: [{{prompt: {'y' * 513}}}]}}]\n"
    )
    assert [code for code, _, _ in messages(diagnose, text) if code.startswith("KB1")] == []
    assert "maxLength" not in schema()["$defs"]["prompt"]
    assert "maxLength" not in schema()["$defs"]["storyboardShot"]["properties"]["prompt"]


def test_missing_required_field_points_at_the_mapping(diagnose: Diagnose) -> None:
    [diagnostic] = [d for d in diagnose("version: 1\nshots:\n  - prompt: x\n") if d.code == "KB102"]
    assert (diagnostic.position.line, diagnostic.position.column) == (3, 5)
    assert (diagnostic.entry, diagnostic.field, diagnostic.message) == (
        "shots[0]",
        None,
        "`id` is missing",
    )


def test_url_or_path(diagnose: Diagnose) -> None:
    found = messages(
        diagnose,
        "version: 1\nshots: [{id: a, media: [{type: refer, path: a, url: 'https://b'}]}]\n",
    )
    assert ("KB109", "media[0]", "give exactly one of `url` (a link) or `path` (a local file)") in (
        found
    )


def test_unimplemented_keywords_are_refused() -> None:
    with pytest.raises(SchemaUnsupported):
        compile_schema({"type": "object", "if": {"required": ["a"]}})
    with pytest.raises(SchemaUnsupported):
        compile_schema({"$ref": "https://example.com/other.json"})


def test_recursive_references_compile() -> None:
    shape = compile_schema(
        {
            "$defs": {"tree": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
            "$ref": "#/$defs/tree",
        }
    )
    assert shape.accepts(parse("[[[]], []]").root, ())  # type: ignore[arg-type]
    assert not shape.accepts(parse("[[1]]").root, ())  # type: ignore[arg-type]
