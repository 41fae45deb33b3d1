"""One world's upload cache in the state store, under the names the client's UploadCache
expects (`get`, `put`): uploads are kept per service, account and model (spec §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kling_batch.api.types import Upload
from kling_batch.runner.world import World

if TYPE_CHECKING:
    from kling_batch.runner.state import StateStore


@dataclass(frozen=True)
class UploadRecords:
    store: StateStore
    world: World

    def get(self, sha256: str, model: str) -> Upload | None:
        return self.store.get_upload(sha256, model, self.world)

    def put(self, upload: Upload) -> None:
        self.store.put_upload(upload, self.world)
