"""Reading YAML: YAML 1.2 scalars, bounds, refused constructs, and located errors."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from kling_batch.manifest import Diagnostic, analyze, load
from kling_batch.manifest.composer import MAX_DEPTH
from kling_batch.manifest.loader import parse, read_text
from kling_batch.manifest.nodes import (
    MappingNode,
    ScalarNode,
    SequenceNode,
    YamlProblem,
    to_python,
)
from kling_batch.manifest.scalars import resolve_plain

WriteManifest = Callable[..., Path]
Diagnose = Callable[..., list[Diagnostic]]
Spot = Callable[..., tuple[int, int]]


def codes(diagnostics: Sequence[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]


# --- YAML 1.1 traps: scalars resolve by the YAML 1.2 core schema ---------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("16:9", "16:9"),  # YAML 1.1: the sexagesimal integer 969
        ("1:1", "1:1"),
        ("yes", "yes"),  # YAML 1.1: true
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("1_000", "1_000"),  # YAML 1.1: 1000
        ("2024-01-01", "2024-01-01"),  # YAML 1.1: a date
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("5", 5),
        ("-7", -7),
        ("0o17", 15),
        ("0x1F", 31),
        ("5.0", 5.0),
        ("1e3", 1000.0),
        (".inf", float("inf")),
        ("0755", 755),  # YAML 1.1: octal 493
        ("9" * 5000, "9" * 5000),  # more digits than int() takes: stays text
    ],
)
def test_plain_scalars_follow_yaml_1_2(text: str, value: object) -> None:
    resolved = resolve_plain(text)
    assert resolved == value
    assert type(resolved) is type(value)


def test_unquoted_aspect_ratio_is_text(write_manifest: WriteManifest) -> None:
    path = write_manifest("""
        version: 1
        shots:
          - id: cat
            prompt: a cat
            aspect_ratio: 16:9
    """)
    assert load(path).entries[0].aspect_ratio == "16:9"


def test_yaml_1_1_boolean_gets_a_hint(diagnose: Diagnose, spot: Spot) -> None:
    text = """
        version: 1
        shots:
          - id: cat
            prompt: a cat
            aspect_ratio: "16:9"
            audio: yes
    """
    [diagnostic] = diagnose(text)
    assert diagnostic.code == "KB101"
    assert (diagnostic.position.line, diagnostic.position.column) == spot(text, "audio: yes", "yes")
    assert (diagnostic.entry, diagnostic.field) == ("cat", "audio")
    assert "write true" in diagnostic.message


def test_a_number_where_text_is_expected_says_quote_it(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose("""
        version: 1
        shots:
          - id: 007
            prompt: a cat
            aspect_ratio: "16:9"
    """)
    assert diagnostic.code == "KB101"
    assert diagnostic.field == "id"
    assert 'quote it to make it text: "007"' in diagnostic.message


def test_explicit_core_tags_are_allowed() -> None:
    document = parse("a: !!str 5\nb: !!int '7'\nc: !!float 2\nd: ! 12\n")
    assert to_python(document.root) == {"a": "5", "b": 7, "c": 2.0, "d": "12"}


def test_core_tag_that_cannot_read_its_value() -> None:
    with pytest.raises(YamlProblem) as raised:
        parse("a: !!int five\n")
    assert (raised.value.code, raised.value.line, raised.value.column) == ("KB009", 1, 4)


# --- refused constructs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nshots: !!python/object/apply:os.system ['echo pwned']\n",
        "version: 1\nshots: !!python/name:os.system\n",
        "version: 1\nshots: !custom [1]\n",
        "version: 1\nname: !!binary aGVsbG8=\n",
    ],
)
def test_object_constructing_and_custom_tags_are_refused(diagnose: Diagnose, text: str) -> None:
    [diagnostic] = diagnose(text)
    assert diagnostic.code == "KB009"
    assert (diagnostic.position.line, diagnostic.position.column) == (2, diagnostic.position.column)
    assert diagnostic.position.column > 1
    assert "not allowed" in diagnostic.message


def test_billion_laughs_fails_fast(diagnose: Diagnose) -> None:
    lines = ["version: 1", 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        previous, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    started = time.perf_counter()
    [diagnostic] = diagnose("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 0.5
    assert diagnostic.code == "KB007"
    assert diagnostic.position.line > 2  # at the alias that crosses the cap


def test_recursive_alias_is_refused(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose("version: 1\nx-loop: &loop [1, *loop]\n")
    assert (diagnostic.code, diagnostic.position.line, diagnostic.position.column) == (
        "KB008",
        2,
        19,
    )


def test_alias_without_anchor(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose("version: 1\nshots: *missing\n")
    assert (diagnostic.code, diagnostic.position.line) == ("KB008", 2)


def test_nesting_is_capped(diagnose: Diagnose) -> None:
    depth = MAX_DEPTH + 1
    [diagnostic] = diagnose("version: 1\nx-deep: " + "[" * depth + "]" * depth + "\n")
    assert diagnostic.code == "KB006"
    assert (diagnostic.position.line, diagnostic.position.column) == (2, 9 + MAX_DEPTH - 1)


def test_file_size_is_capped_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing to write
    started = time.perf_counter()
    [diagnostic] = analyze(path).diagnostics
    assert time.perf_counter() - started < 0.5
    assert diagnostic.code == "KB002"
    assert "50.0 MB" in diagnostic.message
    assert diagnostic.position.line == 0  # the file as a whole


# --- merge keys and aliases --------------------------------------------------------------------


def test_merge_keys_and_aliases(write_manifest: WriteManifest) -> None:
    path = write_manifest("""
        version: 1
        x-common: &common
          prompt: a cat
          aspect_ratio: "9:16"
          duration: 4
        x-frames: &frames
          - {type: first_frame, url: "https://example.com/a.jpg"}
        shots:
          - id: one
            <<: *common
            duration: 6
          - id: two
            prompt: a dog
            media: *frames
    """)
    one, two = load(path).entries
    assert (one.prompt, one.aspect_ratio, one.duration) == ("a cat", "9:16", 6)
    assert two.media[0].url == "https://example.com/a.jpg"


def test_merge_key_needs_a_mapping(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose("version: 1\nx-a:\n  <<: [1, 2]\n")
    assert (diagnostic.code, diagnostic.position.line, diagnostic.position.column) == (
        "KB008",
        3,
        3,
    )


# --- broken YAML: located messages ----------------------------------------------------------


def test_syntax_error_is_located(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose("version: 1\nshots:\n  - id: a\n    prompt: [unclosed\n")
    assert diagnostic.code == "KB004"
    assert diagnostic.position.line == 5
    assert "invalid YAML" in diagnostic.message


def test_unquoted_colon_in_a_value_gets_a_hint(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose("version: 1\nshots:\n  - id: a\n    prompt: Scene: a cat\n")
    assert (diagnostic.code, diagnostic.position.line, diagnostic.position.column) == (
        "KB004",
        4,
        18,
    )
    assert "quote" in diagnostic.message


def test_tab_indentation_is_named(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose("version: 1\nshots:\n  - id: a\n\tprompt: x\n")
    assert (diagnostic.code, diagnostic.position.line, diagnostic.position.column) == (
        "KB005",
        4,
        1,
    )
    assert "spaces" in diagnostic.message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "\n\n"])
def test_empty_manifest(diagnose: Diagnose, text: str) -> None:
    [diagnostic] = diagnose(text)
    assert diagnostic.code == "KB010"
    assert diagnostic.position.line == 1
    assert "version: 1" in diagnostic.message


def test_list_at_the_top(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose("- id: a\n  prompt: x\n")
    assert (diagnostic.code, diagnostic.position.line, diagnostic.position.column) == (
        "KB101",
        1,
        1,
    )
    assert "a manifest is a mapping" in diagnostic.message


def test_one_document_per_file(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose("version: 1\n---\nversion: 1\n")
    assert (diagnostic.code, diagnostic.position.line) == ("KB011", 2)


def test_duplicate_keys_are_reported_and_checking_goes_on(diagnose: Diagnose) -> None:
    found = diagnose("""
        version: 1
        shots:
          - id: a
            prompt: first
            prompt: second
            aspect_ratio: "4:3"
    """)
    assert codes(found) == ["KB012", "KB104"]
    assert (found[0].position.line, found[0].position.column) == (5, 5)
    assert "line 4" in found[0].message


def test_keys_must_be_text(diagnose: Diagnose) -> None:
    [diagnostic] = diagnose(
        "version: 1\nshots: [{id: a, prompt: x, aspect_ratio: '1:1'}]\n1: one\n"
    )
    assert (diagnostic.code, diagnostic.position.line, diagnostic.position.column) == (
        "KB013",
        3,
        1,
    )


def test_not_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("version: 1\nname: caf\xe9\n".encode("latin-1"))
    [diagnostic] = analyze(path).diagnostics
    assert (diagnostic.code, diagnostic.position.line, diagnostic.position.column) == (
        "KB003",
        2,
        10,
    )


def test_control_characters_are_located(tmp_path: Path) -> None:
    path = tmp_path / "bell.yaml"
    path.write_text("version: 1\nname: a\x07b\n")
    [diagnostic] = analyze(path).diagnostics
    assert (diagnostic.code, diagnostic.position.line, diagnostic.position.column) == (
        "KB004",
        2,
        8,
    )


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\nshots: []\n")
    assert codes(list(analyze(path).diagnostics)) == ["KB222"]  # only: nothing to render


def test_missing_file_and_folder(tmp_path: Path) -> None:
    [missing] = analyze(tmp_path / "nope.yaml").diagnostics
    [folder] = analyze(tmp_path).diagnostics
    assert (missing.code, missing.position.line, missing.message) == ("KB001", 0, "no such file")
    assert folder.code == "KB001"
    assert "folder" in folder.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("version: 1\n")
    path.chmod(0)
    [diagnostic] = analyze(path).diagnostics
    assert (diagnostic.code, diagnostic.message) == ("KB001", "permission denied")


def test_devices_are_refused_before_reading() -> None:
    # /dev/zero reports size 0 and never ends: it is not read at all.
    with pytest.raises(YamlProblem) as raised:
        read_text(Path("/dev/zero"))
    assert raised.value.code == "KB001"
    assert "a character device" in raised.value.message


def test_a_stream_is_read_to_the_cap_and_no_further() -> None:
    with Path("/dev/zero").open("rb") as endless:
        [diagnostic] = analyze(Path("<stdin>"), stream=endless).diagnostics
    assert diagnostic.code == "KB002"


# --- positions ---------------------------------------------------------------------------------


def test_every_key_and_value_keeps_its_position() -> None:
    document = parse("version: 1\nshots:\n  - id: 猫猫\n    prompt: 小猫 runs\n")
    root = document.root
    assert isinstance(root, MappingNode)
    shots = root.fields["shots"]
    assert isinstance(shots, SequenceNode)
    entry = shots.items[0]
    assert isinstance(entry, MappingNode)
    key, value = entry.keys["prompt"], entry.fields["prompt"]
    assert (key.line, key.column) == (4, 5)
    assert isinstance(value, ScalarNode)
    assert (value.line, value.column, value.value) == (4, 13, "小猫 runs")
    assert (entry.line, entry.column) == (3, 5)
