"""Just enough multipart/form-data to read an OSS PostObject form, fields in their order."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_PARAM = re.compile(r';\s*([A-Za-z_*-]+)="?([^";]*)"?')


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    data: bytes


class MalformedForm(Exception):
    """The body is not the multipart/form-data its Content-Type announces."""


def parse_form(content_type: str | None, body: bytes) -> list[FormPart]:
    if content_type is None or not content_type.lower().startswith("multipart/form-data"):
        raise MalformedForm("Content-Type must be multipart/form-data")
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise MalformedForm("the multipart Content-Type has no boundary")
    delimiter = b"--" + (match.group(1) or match.group(2)).encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise MalformedForm("the form does not end with its closing boundary")
    parts = []
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise MalformedForm("a form part is not framed by CRLF")
        head, separator, data = chunk[2:-2].partition(b"\r\n\r\n")
        if not separator:
            raise MalformedForm("a form part has no blank line after its headers")
        parts.append(_part(head.decode("utf-8", "replace"), data))
    return parts


def _part(head: str, data: bytes) -> FormPart:
    for line in head.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            params = {key.lower(): text for key, text in _PARAM.findall(value)}
            if "name" not in params:
                break
            return FormPart(params["name"], params.get("filename"), data)
    raise MalformedForm("a form part has no Content-Disposition name")
