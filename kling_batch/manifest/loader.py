"""Read a manifest file into a tree of located nodes, safely and within bounds.

Safety comes from never constructing objects: libyaml (or PyYAML's pure-Python parser when
libyaml is missing) only produces parse events, and `composer` turns them into `nodes` itself.
That also lets every bound be enforced while reading, before any work is wasted:

- regular files only: a FIFO would block the reader and a device may never end (`-` reads
  standard input instead, to the same cap);
- the file size, checked here before reading (and again while reading, for a growing file);
- the nesting depth and the node count, aliases counted as copies (`composer`);
- tags: only the YAML core ones (`!!str`, `!!int`, ...); `!!python/...` and custom tags fail
  (`scalars`, which also resolves scalars by YAML 1.2, as editors do).

An empty document is a problem too (KB010): there is nothing to check after it.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import BinaryIO

import yaml

from kling_batch.manifest.composer import QUOTE_TEMPLATES, Composer
from kling_batch.manifest.nodes import Document, ScalarNode, YamlProblem

MAX_FILE_BYTES = 10 * 1024 * 1024

_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# C0 controls other than tab, LF and CR, DEL, C1 controls other than NEL, and surrogates:
# what the YAML spec excludes from a stream.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def read_text(path: Path) -> str:
    """The file's text, refusing what is not a readable UTF-8 file of at most MAX_FILE_BYTES."""
    return decode(_read_file(path))


def read_stream(stream: BinaryIO) -> str:
    """The text of a stream (standard input), read to MAX_FILE_BYTES and no further."""
    try:
        return decode(stream.read(MAX_FILE_BYTES + 1))
    except OSError as exc:
        raise YamlProblem("KB001", f"cannot read it: {exc.strerror or exc}") from None


def decode(data: bytes) -> str:
    """UTF-8 text of a manifest's bytes, within the size cap and without control characters."""
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(None)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _byte_location(data, exc.start)
        raise YamlProblem("KB003", "the file is not UTF-8 text", line, column) from None
    bad = _CONTROL.search(text)
    if bad:
        line, column = _char_location(text, bad.start())
        raise YamlProblem(
            "KB004",
            f"control character U+{ord(bad.group()):04X} is not allowed in YAML",
            line,
            column,
        )
    return text


def _read_file(path: Path) -> bytes:
    # Opening a FIFO for reading blocks until a writer comes, and a device may never end: only
    # regular files are read. The type is checked before opening (no side effects of opening a
    # device), and again on the open handle, in case the path changed in between; O_NONBLOCK
    # keeps that open from waiting on a FIFO.
    try:
        _refuse_special(os.stat(path).st_mode)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            _refuse_special(info.st_mode)
            if info.st_size > MAX_FILE_BYTES:
                raise _too_large(info.st_size)
            return handle.read(MAX_FILE_BYTES + 1)  # a file that grows is cut here
    except FileNotFoundError:
        raise YamlProblem("KB001", "no such file") from None
    except IsADirectoryError:
        raise YamlProblem("KB001", _FOLDER) from None
    except PermissionError:
        raise YamlProblem("KB001", "permission denied") from None
    except OSError as exc:
        raise YamlProblem("KB001", f"cannot read the file: {exc.strerror or exc}") from None


_FOLDER = "this is a folder, not a manifest file"
_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse_special(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise YamlProblem("KB001", _FOLDER)
    kind = next((name for test, name in _SPECIAL if test(mode)), "a special file")
    raise YamlProblem(
        "KB001",
        f"this is {kind}, not a file; give a file, or `-` to read the manifest from standard input",
    )


def parse(text: str) -> Document:
    """Compose the single YAML document of `text` into located nodes.

    An empty document (nothing, comments only, or a bare null) has no root and the KB010 problem.
    """
    loader = _PARSER(text)
    try:
        document = Composer(loader).compose()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_problem(exc, text) from None
    except yaml.YAMLError as exc:
        raise YamlProblem("KB004", f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    root = document.root
    if root is None or (isinstance(root, ScalarNode) and root.value is None):
        empty = YamlProblem(
            "KB010",
            "the manifest is empty; start with `version: 1`, then `shots:` and/or `storyboards:`",
            1,
            1,
        )
        return Document(None, (*document.problems, empty))
    return document


# --- error messages --------------------------------------------------------------------------


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line, mark.column) if mark else (0, 0)
    lines = text.splitlines()
    source = lines[line] if line < len(lines) else ""
    indent = source[: len(source) - len(source.lstrip(" \t"))]
    if "\t" in indent:
        return YamlProblem(
            "KB005",
            "a tab is used for indentation here; YAML indents with spaces only",
            line + 1,
            indent.index("\t") + 1,
        )
    problem = exc.problem or "invalid YAML"
    message = f"invalid YAML: {problem}"
    context_mark = exc.context_mark
    if exc.context and context_mark is not None and context_mark.line != line:
        message += f" ({exc.context} that starts on line {context_mark.line + 1})"
    if "{{" in source:
        message += f"; {QUOTE_TEMPLATES}"
    elif "mapping values are not allowed" in problem:
        message += (
            "; a colon followed by a space starts a new key, so quote text that contains one: "
            'prompt: "Scene: a cat"'
        )
    return YamlProblem("KB004", message, line + 1, column + 1)


def _too_large(size: int | None) -> YamlProblem:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    shown = f"{size / (1024 * 1024):.1f} MB" if size is not None else f"more than {limit} MB"
    return YamlProblem(
        "KB002",
        f"the file is {shown}; manifests are limited to {limit} MB "
        "(split it into several manifests)",
    )


def _byte_location(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    prefix = data[line_start:offset].decode("utf-8", errors="replace")
    return data.count(b"\n", 0, offset) + 1, len(prefix) + 1


def _char_location(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1
