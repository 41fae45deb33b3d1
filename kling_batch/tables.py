"""Tables shipped as data beside the package, which a user can point elsewhere.

`prices.json` and `models.json` are found the same way: a path given explicitly (a command's
option) wins, else the file an environment variable names, else the shipped table alone. What a
table does with the user's file (replace the shipped one, or extend it) is its own business.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any


def user_file(env: str, path: Path | None = None) -> Path | None:
    """The user's file for a table: `path`, else the one `$env` names, else None."""
    if path is not None:
        return path
    named = os.environ.get(env)
    return Path(named) if named else None


def read_table(path: Path | None, shipped: str) -> dict[str, Any]:
    """The JSON object in `path`, or in the shipped file `shipped` when `path` is None.

    Raises OSError or ValueError (json.JSONDecodeError is one) for a file that cannot be read or
    does not hold a JSON object; each table wraps them in its own error, naming the file.
    """
    if path is None:
        text = resources.files("kling_batch").joinpath(shipped).read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data
