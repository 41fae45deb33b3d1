"""`kling-batch validate`: output formats, exit codes, and broken files without tracebacks; and
bare `kling-batch`, which shows the help."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kling_batch.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests"
VALID = """
version: 1
shots:
  - id: cat
    prompt: a cat
    aspect_ratio: "16:9"
"""
INVALID = """
version: 1
shots:
  - id: cat
    prompt: a cat
    duration: 20
  - id: edit
    prompt: make the sky purple
    media:
      - {type: base, url: "https://example.com/clip.mp4"}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def validate(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", *map(str, args)])
    # SystemExit is how a command sets its status; anything else escaped as a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_valid_manifest_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.yaml", VALID)
    status, out, err = validate(path)
    assert (status, out) == (0, "")
    assert err == f"{path}: valid, 1 entry\n"


def test_warnings_do_not_fail(tmp_path: Path) -> None:
    # The service keeps the first 2500 characters of a longer prompt: it runs, but cut.
    long_prompt = "a cat in the moonlight " * 120
    path = write(tmp_path, "warn.yaml", VALID.replace("prompt: ", f"prompt: {long_prompt}", 1))
    status, out, _ = validate(path)
    assert status == 0
    assert ": warning: cat: prompt: " in out
    assert out.rstrip().endswith("[KB224]")


def test_invalid_manifest_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", INVALID)
    status, out, err = validate(path)
    assert status == 2
    # `cat` breaks the schema (duration) and a rule that reads another field (aspect_ratio):
    # both in the same pass.
    assert out.splitlines() == [
        f'{path}:3:9: error: cat: aspect_ratio: text-to-video needs an aspect_ratio: "16:9", '
        '"9:16" or "1:1" (set it on the entry or under defaults) [KB208]',
        f"{path}:5:15: error: cat: duration: 20 is out of range: use 3 to 15 [KB107]",
        f"{path}:9:16: error: edit: media[0].type: base media needs the omni model: add "
        "`model: omni` (the standard model takes first_frame and last_frame only) [KB201]",
    ]
    assert err == f"{path}: invalid: 3 errors\n"


def test_json(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", INVALID)
    status, out, err = validate("--json", path)
    assert (status, err) == (2, "")
    aspect, duration, model = json.loads(out)
    assert duration == {
        "file": str(path),
        "line": 5,
        "column": 15,
        "severity": "error",
        "code": "KB107",
        "entry": "cat",
        "field": "duration",
        "message": "20 is out of range: use 3 to 15",
    }
    assert (aspect["code"], model["code"]) == ("KB208", "KB201")


def test_format_json_is_the_same_as_json(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", INVALID)
    assert validate("--format", "json", path) == validate("--json", path)
    assert validate("--format", "text", path) == validate(path)


def test_json_and_format_text_contradict() -> None:
    result = CliRunner().invoke(main, ["validate", "--json", "--format", "text", "m.yaml"])
    assert result.exit_code == 2
    assert "--json and --format text" in result.stderr


def test_json_of_a_valid_manifest_is_an_empty_list(tmp_path: Path) -> None:
    status, out, _ = validate("--json", write(tmp_path, "ok.yaml", VALID))
    assert (status, json.loads(out)) == (0, [])


def test_several_manifests_in_one_pass(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", INVALID)
    ok = write(tmp_path, "ok.yaml", VALID)
    missing = tmp_path / "missing.yaml"
    status, out, err = validate(bad, ok, missing)
    assert status == 2
    files = [line.split(":", 1)[0] for line in out.splitlines()]
    assert files == [str(bad), str(bad), str(bad), str(missing)]
    assert f"{missing}: error: no such file [KB001]" in out
    assert err.splitlines()[1] == f"{ok}: valid, 1 entry"


def test_the_examples_validate() -> None:
    status, out, _ = validate(*sorted(EXAMPLES.glob("*.yaml")))
    assert (status, out) == (0, "")


def test_no_manifest_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


def test_bare_kling_batch_prints_the_help_and_exits_0() -> None:
    result = CliRunner().invoke(main, [], prog_name="kling-batch")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith("Usage: kling-batch ")
    assert result.stdout == CliRunner().invoke(main, ["--help"], prog_name="kling-batch").stdout
    for command in ("validate", "run", "plan", "status", "simulator"):
        assert f"  {command} " in result.stdout


def test_bare_kling_batch_in_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kling_batch"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "Commands:" in done.stdout


BILLION_LAUGHS = "version: 1\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)


@pytest.mark.parametrize(
    ("name", "text", "code", "line"),
    [
        ("syntax", "version: 1\nshots: [\n", "KB004", 3),
        ("tabs", "version: 1\nshots:\n\t- id: a\n", "KB005", 3),
        ("bomb", BILLION_LAUGHS, "KB007", 8),
        ("python-tag", "version: 1\nshots: !!python/object/apply:os.system [ls]\n", "KB009", 2),
        ("empty", "", "KB010", 1),
        ("list", "- id: a\n", "KB101", 1),
    ],
)
def test_broken_yaml_exits_2_with_a_located_message(
    tmp_path: Path, name: str, text: str, code: str, line: int
) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    status, out, _ = validate(path)
    assert status == 2
    [message] = out.splitlines()
    assert message.startswith(f"{path}:{line}:")
    assert message.endswith(f"[{code}]")


def test_a_50_mb_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    status, out, _ = validate(path)
    assert status == 2
    assert out.startswith(f"{path}: error: the file is 50.0 MB")


def test_the_real_process_has_no_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nshots: !!python/name:os.system\n")
    done = subprocess.run(
        [sys.executable, "-m", "kling_batch", "validate", str(broken), str(tmp_path / "none.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert f"{broken}:2:8: error: the tag !!python/name:os.system is not allowed" in done.stdout
    assert f"{tmp_path / 'none.yaml'}: error: no such file [KB001]" in done.stdout
