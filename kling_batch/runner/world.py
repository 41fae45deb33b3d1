"""An output belongs to one service and one account: its *world*.

Task ids, uploaded `oss://` objects and the videos themselves mean something only where they
came from. The state store records the world its records were made in (the base URL, whether it
was a simulator, a one-way fingerprint of the key's account), and every command that would act
on those records in another world refuses before it sends anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kling_batch.api import ApiKey, is_loopback_host

# The service name of the simulator that `--simulate` runs inside the process.
IN_PROCESS_SIMULATOR = "in-process simulator"


@dataclass(frozen=True)
class World:
    """Where an output's records come from. A field is None when a store made before worlds
    were recorded cannot tell (never guessed: an unknown `simulated` is not "real")."""

    service: str | None
    simulated: bool | None
    account: str | None

    @property
    def complete(self) -> bool:
        return None not in (self.service, self.simulated, self.account)

    @property
    def in_process(self) -> bool:
        """The `--simulate` simulator: its tasks and uploads end with the process."""
        return self.service == IN_PROCESS_SIMULATOR

    def describe(self) -> str:
        if self.in_process:
            return "the built-in simulator (--simulate)"
        if self.service is None:
            where = {
                True: "a simulator",
                False: "a real service",
                None: "an unrecorded service (simulated or real)",
            }[self.simulated]
        else:
            where = f"{'the simulator at ' if self.simulated else ''}{self.service}"
        account = f"account {self.account}" if self.account else "an unrecorded account"
        return f"{where}, {account}"


def world_note(world: World | None) -> str | None:
    """The line that `status`, `plan` and the report show about where an output was made, when
    its videos are (or may be) not real renders."""
    if world is None or world.simulated is False:
        return None
    if world.simulated is None:
        return (
            "made before kling-batch recorded its service: it may hold simulated clips, "
            "not real renders"
        )
    return f"SIMULATED: made on {world.describe()}; its videos are simulated clips, not renders"


def world_of(base_url: str, key: ApiKey, *, in_process: bool) -> World:
    """The world a connection reaches. Plain http is allowed only to loopback, which this project
    uses for its local simulator alone: such a service counts as simulated."""
    if in_process:
        return World(IN_PROCESS_SIMULATOR, True, key.fingerprint())
    service = normalise_service(base_url)
    parts = urlsplit(service)
    simulated = parts.scheme == "http" and is_loopback_host(parts.hostname or "")
    return World(service, simulated, key.fingerprint())


def normalise_service(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    scheme = parts.scheme.lower()
    # An explicit default port names the same service as none.
    default = {"https": 443, "http": 80}.get(scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{scheme}://{host}{port}{parts.path.rstrip('/')}"


def legacy_world(video_urls: Iterable[str]) -> World:
    """What a store from before worlds were recorded can tell of its own: simulated when its
    videos came from loopback (only a simulator serves them there), real when they came from
    elsewhere, unknown when it holds no video URL. Service and account stay unknown."""
    simulated: bool | None = None
    for url in video_urls:
        local = is_loopback_host(urlsplit(url).hostname or "")
        if simulated is None:
            simulated = local
        elif simulated != local:
            return World(None, None, None)  # both kinds: cannot tell
    return World(None, simulated, None)


class WorldMismatch(Exception):
    """A command would act, in one world, on an output whose records come from another."""

    def __init__(self, folder: Path, recorded: World, current: World) -> None:
        self.recorded = recorded
        self.current = current
        if recorded.simulated and not current.simulated:
            what = (
                "its videos are simulated clips, not renders, and its task ids mean nothing there"
            )
        elif recorded.simulated is None:
            what = "it cannot tell whether its videos are real renders"
        else:
            what = "its task ids, uploads and videos belong to where they were made"
        super().__init__(
            f"{folder} was made on {recorded.describe()}; this command would use "
            f"{current.describe()}. Its records are not this service's: {what}. Nothing was "
            f"sent. Use a fresh output (--output DIR), or remove {folder} to start over."
        )


def reconcile_worlds(recorded: World | None, current: World, folder: Path) -> World:
    """The world to record for a command in `current` on an output `recorded` in; raises
    WorldMismatch when the records are not this world's."""
    if recorded is None or recorded == current:
        return current
    if recorded.complete:
        raise WorldMismatch(folder, recorded, current)
    # A store from before worlds were recorded: bind it where what it can tell agrees.
    if current.simulated:
        # Simulated work on records that may be real would mix fakes into a real output.
        if recorded.simulated is False:
            raise WorldMismatch(folder, recorded, current)
        return current
    if recorded.simulated is not False:
        raise WorldMismatch(folder, recorded, current)
    return current
