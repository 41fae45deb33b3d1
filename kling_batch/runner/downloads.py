"""Downloading a rendered video: streamed, resumable, verified, and only then given its name.

The bytes go to `<name>.part`; a cut connection resumes from the bytes on disk with a `Range`
request; the file is renamed into place only when its size matches what the server announced
and it opens like an MP4. Its sha256 (hashed as the bytes are written) is recorded so that a
later run can tell an intact file from a damaged one, and so is its stamp (records.file_stamp):
a later check that finds the very same file need not read it again.

The part is fsynced before the rename, so a video under its final name is complete even after a
power cut. The folder is not synced after the rename: a rename the disk lost leaves a complete
part or nothing, and the entry's next run fetches its video again (a kept file is checked before
it counts).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from kling_batch.api import require_secure_url
from kling_batch.runner.artifacts import open_creating_folder
from kling_batch.runner.records import FileRecord, file_stamp

# The bytes that tell an MP4 (its first box's size and type), and the read size of a part's hash.
_HEAD = 8
_READ_CHUNK = 1 << 20
_NS = 1_000_000_000
_BACK_DATE_SECONDS = 10


class DownloadError(Exception):
    """A download that did not complete after its retries."""


class UrlExpired(DownloadError):
    """The video URL is refused (expired or revoked): ask the task for fresh URLs."""


@dataclass(frozen=True)
class DownloadPolicy:
    attempts: int = 6
    backoff: float = 0.5  # seconds before the second attempt; doubles each time
    max_backoff: float = 10.0


async def download_file(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    policy: DownloadPolicy | None = None,
) -> FileRecord:
    """Fetch `url` into `dest` (resuming a `.part` left by an earlier cut) and verify it."""
    policy = policy or DownloadPolicy()
    target = _checked(url)
    partial = dest.with_name(dest.name + ".part")
    delay = policy.backoff
    last_problem = "no attempt made"
    for attempt in range(1, policy.attempts + 1):
        try:
            part = await _fetch_into(http, target, partial)
        except (httpx.TransportError, _Incomplete) as problem:
            last_problem = str(problem) or type(problem).__name__
        else:
            if part.total is not None and part.size != part.total:
                last_problem = f"got {part.size} of {part.total} bytes"
            elif not _looks_like_mp4(part.head):
                partial.unlink()
                last_problem = "what arrived is not an MP4 file"
            else:
                os.replace(partial, dest)
                digest = part.digest.hexdigest()
                return FileRecord(dest.name, part.size, digest, stamp=part.stamp)
        if attempt < policy.attempts:
            await anyio.sleep(delay)
            delay = min(policy.max_backoff, delay * 2)
    raise DownloadError(
        f"download of {dest.name} failed after {policy.attempts} tries: {last_problem}"
    )


class _Incomplete(Exception):
    pass


@dataclass
class _Part:
    """What `<name>.part` holds after one GET: its size, the hash and the first bytes of all of
    it (what an earlier cut left included), and the size the server announced."""

    total: int | None
    size: int = 0
    head: bytes = b""
    digest: Any = field(default_factory=hashlib.sha256)
    stamp: str | None = None  # set once it holds every byte (`_back_dated`)

    def add(self, chunk: bytes) -> None:
        if len(self.head) < _HEAD:
            self.head += chunk[: _HEAD - len(self.head)]
        self.digest.update(chunk)
        self.size += len(chunk)


def _checked(url: str) -> httpx.URL:
    """`url` parsed once for the check and every try (httpx parses a string on each request);
    InsecureUrlError unless it is https, or http to a loopback host."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        require_secure_url(url)  # raises: not a valid URL
        raise
    require_secure_url(parsed)
    return parsed


async def _fetch_into(http: httpx.AsyncClient, url: httpx.URL, partial: Path) -> _Part:
    """One GET, appending to `partial`; fsyncs it when it holds every announced byte."""
    try:
        offset = partial.stat().st_size
    except FileNotFoundError:
        offset = 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    async with http.stream("GET", url, headers=headers) as response:
        if response.status_code in (401, 403, 404, 410):
            raise UrlExpired(f"the video URL answered HTTP {response.status_code}")
        if response.status_code == 416:
            # The part already holds every byte (or more): start over to be sure.
            partial.unlink(missing_ok=True)
            raise _Incomplete("range not satisfiable; restarting")
        if response.status_code == 206:
            start, total = _content_range(response.headers.get("Content-Range", ""))
            if start != offset:
                partial.unlink(missing_ok=True)
                raise _Incomplete(f"server resumed at byte {start}, not {offset}")
            part = await anyio.to_thread.run_sync(_read_part, partial, total)
            mode = "ab"
        elif response.status_code == 200:
            length = response.headers.get("Content-Length")
            part = _Part(int(length) if length is not None else None)
            mode = "wb"
        else:
            raise _Incomplete(f"the video URL answered HTTP {response.status_code}")
        with open_creating_folder(partial, mode) as handle:
            # No chunk size: httpx would hold bytes back until a chunk fills, and a cut
            # connection would then lose them instead of leaving them for a Range resume.
            async for chunk in response.aiter_raw():
                handle.write(chunk)
                part.add(chunk)
            if part.total is None or part.size == part.total:
                handle.flush()
                part.stamp = _back_dated(partial, handle.fileno())
                os.fsync(handle.fileno())
    return part


def _back_dated(partial: Path, fd: int) -> str:
    """The part's stamp (runner/records.py), its modification time first set some seconds
    back: a write after the stamp, even within the file system's clock tick, then shows."""
    moment = (time.time_ns() // _NS - _BACK_DATE_SECONDS) * _NS
    os.utime(fd if os.utime in os.supports_fd else partial, ns=(moment, moment))
    return file_stamp(os.fstat(fd))


def _read_part(partial: Path, total: int | None) -> _Part:
    """What an earlier cut left in the part, hashed."""
    part = _Part(total)
    with partial.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            part.add(chunk)
    return part


def _content_range(value: str) -> tuple[int, int | None]:
    # "bytes 100-999/1000"
    try:
        _, _, rest = value.partition(" ")
        span, _, size = rest.partition("/")
        start = int(span.split("-", 1)[0])
        return start, None if size == "*" else int(size)
    except ValueError:
        raise _Incomplete(f"unreadable Content-Range {value!r}") from None


def _looks_like_mp4(head: bytes) -> bool:
    """An ISO media file opens with a box whose type is `ftyp`: a cheap check that an error
    page or a gzip body was not saved as the video."""
    return len(head) == _HEAD and head[4:8] == b"ftyp"
