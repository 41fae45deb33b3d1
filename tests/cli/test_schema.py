"""`kling-batch schema` prints the manifest schema, exactly as shipped."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kling_batch.cli import main

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "manifest.schema.json"


def test_schema_prints_the_schema_file() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == SCHEMA.read_text(encoding="utf-8")
    assert json.loads(result.stdout)["title"] == "kling-batch manifest"
