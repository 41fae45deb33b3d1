"""Downloading a rendered video: streamed, resumable, verified, and only then given its name.

The bytes go to `<name>.part`; a cut connection resumes from the bytes on disk with a `Range`
request; the file is renamed into place only when its size matches what the server announced,
and its sha256 is recorded so a later run can tell an intact file from a damaged one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from kling_batch.api import require_secure_url
from kling_batch.hashing import sha256_file
from kling_batch.runner.records import FileRecord


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
    require_secure_url(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    delay = policy.backoff
    last_problem = "no attempt made"
    for attempt in range(1, policy.attempts + 1):
        try:
            total = await _fetch_into(http, url, partial)
        except (httpx.TransportError, _Incomplete) as problem:
            last_problem = str(problem) or type(problem).__name__
        else:
            size = partial.stat().st_size
            if total is not None and size != total:
                last_problem = f"got {size} of {total} bytes"
            elif not _looks_like_mp4(partial):
                partial.unlink()
                last_problem = "what arrived is not an MP4 file"
            else:
                digest = await anyio.to_thread.run_sync(sha256_file, partial)
                _fsync(partial)
                os.replace(partial, dest)
                _fsync(dest.parent)
                return FileRecord(name=dest.name, size=size, sha256=digest)
        if attempt < policy.attempts:
            await anyio.sleep(delay)
            delay = min(policy.max_backoff, delay * 2)
    raise DownloadError(
        f"download of {dest.name} failed after {policy.attempts} tries: {last_problem}"
    )


class _Incomplete(Exception):
    pass


async def _fetch_into(http: httpx.AsyncClient, url: str, partial: Path) -> int | None:
    """One GET, appending to `partial`; returns the full size the server announced."""
    offset = partial.stat().st_size if partial.exists() else 0
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
            mode = "ab"
        elif response.status_code == 200:
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
            mode = "wb"
        else:
            raise _Incomplete(f"the video URL answered HTTP {response.status_code}")
        with partial.open(mode) as handle:
            # No chunk size: httpx would hold bytes back until a chunk fills, and a cut
            # connection would then lose them instead of leaving them for a Range resume.
            async for chunk in response.aiter_raw():
                handle.write(chunk)
    return total


def _content_range(value: str) -> tuple[int, int | None]:
    # "bytes 100-999/1000"
    try:
        _, _, rest = value.partition(" ")
        span, _, size = rest.partition("/")
        start = int(span.split("-", 1)[0])
        return start, None if size == "*" else int(size)
    except ValueError:
        raise _Incomplete(f"unreadable Content-Range {value!r}") from None


def _looks_like_mp4(path: Path) -> bool:
    """An ISO media file opens with a box whose type is `ftyp`: a cheap check that an error
    page or a gzip body was not saved as the video."""
    with path.open("rb") as handle:
        head = handle.read(8)
    return len(head) == 8 and head[4:8] == b"ftyp"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
