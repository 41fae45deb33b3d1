"""Seeded rolls keyed by what is rolled for, so concurrency cannot reorder the outcomes."""

from __future__ import annotations

import hashlib
import uuid


class Dice:
    def __init__(self, seed: int) -> None:
        self._seed = seed

    def _digest(self, *key: object) -> bytes:
        text = "\x1f".join(str(part) for part in (self._seed, *key))
        return hashlib.sha256(text.encode()).digest()

    def roll(self, *key: object) -> float:
        """A number in [0, 1), the same for the same seed and key."""
        return int.from_bytes(self._digest(*key)[:8], "big") / 2.0**64

    def hits(self, probability: float, *key: object) -> bool:
        return probability > 0.0 and self.roll(*key) < probability

    def uuid(self, *key: object) -> str:
        return str(uuid.UUID(bytes=self._digest(*key)[:16], version=4))
