"""`kling-batch expand`: plain YAML that validates and gives every entry the same request body;
and `validate -`, which reads standard input, and a FIFO or a device given as the manifest,
which is refused at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kling_batch.cli import main
from kling_batch.manifest import Entry, Manifest, fingerprint, load, request_body
from kling_batch.manifest.loader import parse
from kling_batch.manifest.nodes import to_python

from .test_expand_spec import write_example

ROOT = Path(__file__).resolve().parents[2]
EXPANSION_KEYS = {"vars", "matrix", "rows", "takes", "max_entries"}

# Texts that YAML reads as something else unless quoted, and a multi-line one: the expanded
# copy must read back as the very same text.
TRICKY_ROWS = (
    "sku,title\n"
    "a1,1e3\n"
    "a2,0o17\n"
    "a3,true\n"
    "a4,~\n"
    'a5,"line one\nline two"\n'
    'a6,"Scene: a cat, # not a comment"\n'
    "a7, leading space\n"
    "a8,16:9\n"
)
EVERYTHING = """
version: 1
vars: {brand: Acme, host: "https://example.com"}
defaults: {aspect_ratio: "16:9", duration: 4, negative_prompt: "no {{brand}} logo blur"}
shots:
  - id: "t-{{sku}}"
    prompt: "{{title}}"
    rows: tricky.csv
  - id: "ref-{{n}}-{{mode}}"
    model: omni
    prompt: "<<<image_1>>> for {{brand}}, take {{n}}"
    media:
      - {type: refer, url: "{{host}}/refs/{{n}}.jpg"}
    matrix: {n: [1, 2], mode: [std, pro]}
  - id: "frame-{{picture}}"
    prompt: the steam rises
    media:
      - {type: first_frame, path: "assets/{{picture}}.jpg"}
    matrix: {picture: [coffee-cup, cat-moonlight]}
storyboards:
  - id: "board-{{aspect_ratio}}"
    shot_type: customize
    matrix: {aspect_ratio: ["9:16", "1:1"]}
    takes: 2
    multi_prompt:
      - {prompt: "{{brand}} at dawn", duration: 2}
      - {prompt: "{{brand}} at dusk", duration: 3}
"""


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def uploads(manifest: Manifest) -> dict[Path, str]:
    return {
        media.path: f"oss://bucket/{media.path.name}"
        for entry in manifest.entries
        for media in entry.local_media
        if media.path is not None
    }


def bodies(manifest: Manifest) -> dict[str, tuple[dict[str, object], str]]:
    uploaded = uploads(manifest)

    def body(entry: Entry) -> tuple[dict[str, object], str]:
        return request_body(entry, uploaded), fingerprint(entry)

    return {entry.id: body(entry) for entry in manifest.entries}


def source_everything(folder: Path) -> Path:
    shutil.copytree(ROOT / "manifests" / "assets", folder / "assets")
    (folder / "tricky.csv").write_text(TRICKY_ROWS, encoding="utf-8")
    path = folder / "everything.yaml"
    path.write_text(textwrap.dedent(EVERYTHING).lstrip("\n"), encoding="utf-8")
    return path


def source_launch(folder: Path) -> Path:
    shutil.copytree(ROOT / "manifests", folder, dirs_exist_ok=True)
    return folder / "launch.yaml"


@pytest.mark.parametrize(
    "make", [write_example, source_launch, source_everything], ids=["spec", "launch", "all"]
)
def test_the_expanded_copy_validates_and_sends_the_same_bodies(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = make(tmp_path)
    status, out, err = invoke("expand", str(source))
    assert (status, err) == (0, "")
    copy = source.with_name("expanded.yaml")  # beside the source, as the header says
    copy.write_text(out, encoding="utf-8")
    status, _, err = invoke("validate", str(copy))
    assert status == 0, err
    original, expanded = load(source), load(copy)
    assert expanded.name == original.name
    assert [e.id for e in expanded.entries] == [e.id for e in original.entries]
    assert bodies(expanded) == bodies(original)
    assert expanded.moved == original.moved


def test_the_copy_is_plain(tmp_path: Path) -> None:
    _, out, _ = invoke("expand", str(source_everything(tmp_path)))
    root = parse(out).root
    assert root is not None
    document = to_python(root)
    assert list(document)[:2] == ["version", "name"]
    assert (document["version"], document["name"]) == (1, "everything")  # named after the source
    assert not EXPANSION_KEYS & set(document)
    for section in ("shots", "storyboards"):
        for entry in document[section]:
            assert not EXPANSION_KEYS & set(entry)
            assert "{{" not in str(entry)
    assert document["defaults"]["negative_prompt"] == "no Acme logo blur"
    assert "  # from " in out  # each expanded entry says where it came from


def test_tricky_texts_read_back_as_the_same_text(tmp_path: Path) -> None:
    source = source_everything(tmp_path)
    _, out, _ = invoke("expand", str(source))
    copy = source.with_name("expanded.yaml")
    copy.write_text(out, encoding="utf-8")
    prompts = [e.prompt for e in load(copy).entries if e.id.startswith("t-")]
    assert prompts == [
        "1e3",
        "0o17",
        "true",
        "~",
        "line one\nline two",
        "Scene: a cat, # not a comment",
        " leading space",
        "16:9",
    ]


def test_an_invalid_manifest_prints_its_problems_and_nothing_else(tmp_path: Path) -> None:
    source = tmp_path / "bad.yaml"
    source.write_text('version: 1\nshots:\n  - id: "a-{{x}}"\n    prompt: p\n')
    status, out, err = invoke("expand", str(source))
    assert (status, out) == (2, "")
    assert f"{source}:3:9: error: a-{{{{x}}}}: id:" in err and "[KB401]" in err


def test_expand_reads_standard_input(tmp_path: Path) -> None:
    text = 'version: 1\nname: piped\nvars: {a: x}\nshots: [{id: "s-{{a}}", prompt: p}]\n'
    text = text.replace("prompt: p", 'prompt: p, aspect_ratio: "1:1"')
    status, out, _ = invoke("expand", "-", stdin=text)
    assert status == 0
    assert "- id: s-x\n" in out


def test_validate_reads_standard_input() -> None:
    valid = 'version: 1\nname: piped\nshots: [{id: s, prompt: p, aspect_ratio: "1:1"}]\n'
    status, _, err = invoke("validate", "-", stdin=valid)
    assert (status, err) == (0, "<stdin>: valid, 1 entry\n")
    status, out, _ = invoke("validate", "-", stdin=valid.replace('"1:1"', '"4:3"'))
    assert status == 2
    assert out.startswith("<stdin>:3:") and "[KB104]" in out


def test_validate_minus_resolves_relative_paths_against_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "t.csv").write_text("sku\nk1\n")
    monkeypatch.chdir(tmp_path)
    text = 'version: 1\nname: piped\nshots: [{id: "r-{{sku}}", prompt: p, rows: t.csv}]\n'
    text = text.replace("prompt: p", 'prompt: p, aspect_ratio: "1:1"')
    status, _, err = invoke("validate", "-", stdin=text)
    assert (status, err) == (0, "<stdin>: valid, 1 entry\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_device_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "manifest.yaml"
    os.mkfifo(fifo)
    # No writer ever opens the FIFO: reading it would block forever, hence the subprocess and
    # its timeout, which only a regression reaches.
    process = subprocess.run(
        [sys.executable, "-m", "kling_batch", "validate", str(fifo), "/dev/null"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.returncode == 2
    lines = process.stdout.splitlines()
    assert lines == [
        f"{fifo}: error: this is a FIFO (named pipe), not a file; give a file, or `-` to read "
        "the manifest from standard input [KB001]",
        "/dev/null: error: this is a character device, not a file; give a file, or `-` to read "
        "the manifest from standard input [KB001]",
    ]


def test_a_regular_file_next_to_them_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text('version: 1\nshots: [{id: s, prompt: p, aspect_ratio: "1:1"}]\n')
    assert invoke("validate", str(path))[0] == 0
