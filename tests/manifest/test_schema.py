"""The schema file: valid JSON Schema 2020-12, documented, and shipped without a second copy."""

from __future__ import annotations

import subprocess
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kling_batch.manifest import schema_text
from kling_batch.manifest.schema import PACKAGED_SCHEMA, REPO_SCHEMA, schema, schema_path

ROOT = Path(__file__).resolve().parents[2]


def test_schema_is_valid_2020_12() -> None:
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema())


def properties(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, value in node.get("properties", {}).items():
            yield f"{where}/properties/{name}", value
        for key, value in node.items():
            yield from properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from properties(value, f"{where}/{index}")


def description(subschema: dict[str, Any]) -> str | None:
    """A property's description, or the one its $ref brings (what editors show)."""
    if "description" in subschema:
        return str(subschema["description"])
    ref = subschema.get("$ref")
    if ref:
        target = schema()
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return description(target)
    return None


def test_every_property_has_a_description() -> None:
    found = list(properties(schema()))
    assert len(found) > 40
    undocumented = [where for where, subschema in found if not description(subschema)]
    assert undocumented == []


def test_the_checkout_reads_the_one_schema_in_git() -> None:
    assert REPO_SCHEMA == ROOT / "schemas" / "manifest.schema.json"
    if not PACKAGED_SCHEMA.exists():
        assert schema_path() == REPO_SCHEMA
    assert schema_text() == schema_path().read_text(encoding="utf-8")


def test_no_second_copy_in_git() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "*manifest.schema.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed == ["schemas/manifest.schema.json"]


def test_the_wheel_carries_the_same_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert include == {"schemas/manifest.schema.json": "kling_batch/manifest/manifest.schema.json"}
    assert PACKAGED_SCHEMA.relative_to(ROOT) == Path("kling_batch/manifest/manifest.schema.json")


def test_a_built_wheel_holds_the_schema_byte_for_byte(tmp_path: Path) -> None:
    wheel = pytest.importorskip("hatchling.builders.wheel")
    [built] = wheel.WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    with zipfile.ZipFile(built) as archive:
        names = [n for n in archive.namelist() if n.endswith("manifest.schema.json")]
        assert names == ["kling_batch/manifest/manifest.schema.json"]
        assert archive.read(names[0]) == REPO_SCHEMA.read_bytes()
