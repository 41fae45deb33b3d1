"""Look-alike creates go one at a time.

The task list tells a lost create's task from the others by model and prompt echo only
(runner/echo.py). If two creates whose tasks would look alike were awaiting their answers at once
and both answers were lost, neither could be settled. So a create holds its look-alike class from
its intent until its task id is known (or it is settled), and a look-alike waits for it; creates
that cannot be confused run side by side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from kling_batch.runner.echo import look_alike

Tokens = frozenset[str] | None  # what a body's task could echo; None: anything


class LookalikeGate:
    """Per model, the creates awaiting an answer, by the echoes their tasks could show."""

    def __init__(self) -> None:
        self._condition = anyio.Condition()
        self._holding: dict[str, list[Tokens]] = {}

    def _clear(self, model: str, tokens: Tokens) -> bool:
        return not any(look_alike(tokens, held) for held in self._holding.get(model, ()))

    @asynccontextmanager
    async def hold(self, model: str, tokens: Tokens) -> AsyncIterator[None]:
        """Wait until no look-alike of `tokens` is held for `model`, then hold it."""
        async with self._condition:
            while not self._clear(model, tokens):
                await self._condition.wait()
            held = self._holding.setdefault(model, [])
            held.append(tokens)
        try:
            yield
        finally:
            # Shielded: a cancelled holder must still let the others go.
            with anyio.CancelScope(shield=True):
                async with self._condition:
                    held.remove(tokens)
                    self._condition.notify_all()
