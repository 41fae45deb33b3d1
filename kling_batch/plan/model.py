"""What a plan says: the action, estimate and notes per entry, and the totals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from kling_batch.delivery.groups import group_of, source_of
from kling_batch.manifest import MODEL_ALIASES
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.plan.sources import Sending, Source, by_source
from kling_batch.prices import API_DEFAULT_MODE, PriceTable
from kling_batch.runner.budget import Limit, money
from kling_batch.runner.decide import Action
from kling_batch.runner.expiry import (
    ExpiryNotice,
)
from kling_batch.runner.records import EntryState
from kling_batch.runner.results import EntryResult
from kling_batch.runner.world import World

_ALIASES = {model: alias for alias, model in MODEL_ALIASES.items()}


@dataclass(frozen=True)
class PlannedEntry:
    """One entry: the action `run` would take, beside where it stands (as `status` shows it:
    the estimate of a render, the task on record, what it was billed)."""

    entry: Entry
    action: Action
    result: EntryResult
    audio: bool  # whether the render has sound: as the entry asks, or always on turbo
    changed: tuple[str, ...] = ()  # re-render: the fields changed since the last render
    note: str | None = None  # what else the reviewer should know about this action
    notices: tuple[ExpiryNotice, ...] = ()
    moved_from: str | None = None  # a rename under `moved:` that run carries first (free)

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def model(self) -> str:
        """The model's alias (`standard`, `omni`) when it has one."""
        return _ALIASES.get(self.entry.model, self.entry.model)

    @property
    def mode(self) -> str:
        return self.entry.mode or API_DEFAULT_MODE

    @property
    def pays(self) -> bool:
        """`run` creates (and pays for) a new task."""
        return self.action.sends

    @property
    def may_pay(self) -> bool:
        """`run` creates a task only if a lost create turns out never to have arrived."""
        return self.action is Action.SETTLE

    @property
    def detail(self) -> str:
        """Why this action, in a few words a reviewer can act on."""
        if self.moved_from is not None:
            return f"moved from {self.moved_from}; {self._reason()}"
        return self._reason()

    def _reason(self) -> str:
        result = self.result
        task = result.task_id or "?"
        state = str(result.state) if result.state else "new"
        code = f" ({result.error_code})" if result.error_code else ""
        match self.action:
            case Action.SUBMIT:
                return "new"
            case Action.RERENDER:
                if self.changed:
                    return "changed: " + ", ".join(self.changed)
                return "changed (which fields was not recorded)"
            case Action.RETRY:
                return f"{state}{code}: rendered again (--retry-failed)"
            case Action.REPLACE:
                return f"{state}{code}: rendered again (--replace); the old render is set aside"
            case Action.RESUBMIT:
                return "unsettled submission sent again (--resubmit-unknown): may pay twice"
            case Action.RESTART:
                return "left midway on the in-process simulator, which forgot it: rendered again"
            case Action.SETTLE:
                if result.state is EntryState.UNKNOWN:
                    return (
                        "unsettled submission: looked up in the task list again, "
                        "sent again only if it never arrived"
                    )
                return (
                    "a create's answer was lost: looked up in the task list first, "
                    "sent again only if it never arrived"
                )
            case Action.POLL:
                status = f" {result.task_status}" if result.task_status else ""
                return f"in flight: polls task {task}{status} until it ends"
            case Action.DOWNLOAD:
                if result.state is EntryState.DONE:
                    return "rendered; files missing or damaged: downloads them again"
                return "rendered: downloads the video"
            case Action.SKIP:
                return "done"
            case Action.LEAVE_FAILED:
                return f"{state}{code}: left alone; --retry-failed renders it again"
            case Action.LEAVE_UNKNOWN:
                return "unsettled submission, maybe billed: left alone; --resubmit-unknown sends it"
        raise AssertionError(f"no detail for {self.action}")

    def to_json(self) -> dict[str, Any]:
        result = self.result
        return {
            "id": self.id,
            "group": group_of(self.entry),
            "source": source_of(self.entry),
            "moved_from": self.moved_from,
            "kind": str(self.entry.kind),
            "model": self.model,
            "mode": self.mode,
            "audio": self.audio,
            "action": str(self.action),
            "sends": self.pays,
            "state": str(result.state) if result.state else None,
            "changed": list(self.changed),
            "task_id": result.task_id,
            "task_status": str(result.task_status) if result.task_status else None,
            "estimated_seconds": result.estimate.seconds,
            "estimated_cost": float(result.estimate.amount),
            "billed_seconds": result.billed_seconds,
            "cost": float(result.cost) if result.cost is not None else None,
            "error_code": result.error_code,
            "detail": self.detail,
            "note": self.note,
            "warnings": [n.to_json() for n in self.notices],
        }


@dataclass(frozen=True)
class CostGroup:
    """Renders that share a price: one model, mode and audio setting."""

    model: str
    mode: str
    audio: bool
    renders: int
    seconds: int
    cost: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "mode": self.mode,
            "audio": self.audio,
            "renders": self.renders,
            "seconds": self.seconds,
            "estimated_cost": float(self.cost),
        }


@dataclass(frozen=True)
class Plan(Sending):
    manifest: Manifest
    output: Path  # <output>/<manifest name>/
    entries: tuple[PlannedEntry, ...]
    prices: PriceTable
    limit: Limit | None = None
    world: World | None = None  # where the output's records were made; None: no records yet

    @property
    def currency(self) -> str:
        return self.prices.currency

    @property
    def may_cost(self) -> Decimal:
        """On top of `cost`: lost creates that are sent again if they never arrived."""
        return sum((p.result.estimate.amount for p in self.entries if p.may_pay), Decimal(0))

    @property
    def billed_seconds(self) -> int:
        return sum(p.result.billed_seconds or 0 for p in self.entries)

    @property
    def billed_cost(self) -> Decimal:
        """What the renders on record were billed (the state store's `usage.duration`)."""
        return sum((p.result.cost or Decimal(0) for p in self.entries), Decimal(0))

    @cached_property
    def groups(self) -> tuple[CostGroup, ...]:
        """The renders to send, by model, mode and audio."""
        keyed: dict[tuple[str, str, bool], list[PlannedEntry]] = {}
        for planned in self.to_send:
            keyed.setdefault((planned.model, planned.mode, planned.audio), []).append(planned)
        return tuple(
            CostGroup(
                model,
                mode,
                audio,
                renders=len(group),
                seconds=sum(p.result.estimate.seconds for p in group),
                cost=sum((p.result.estimate.amount for p in group), Decimal(0)),
            )
            for (model, mode, audio), group in sorted(keyed.items())
        )

    @cached_property
    def sources(self) -> tuple[Source, ...]:
        """The entries by the written entry they were expanded from (a plain one alone)."""
        return by_source(self.entries)

    @property
    def moved(self) -> tuple[PlannedEntry, ...]:
        """The entries that `run` carries from their old id first (`moved:`)."""
        return tuple(p for p in self.entries if p.moved_from is not None)

    @property
    def actions(self) -> dict[Action, int]:
        counts: dict[Action, int] = {}
        for planned in self.entries:
            counts[planned.action] = counts.get(planned.action, 0) + 1
        return counts

    @property
    def notices(self) -> tuple[ExpiryNotice, ...]:
        return tuple(n for p in self.entries for n in p.notices)

    @property
    def over_budget(self) -> bool:
        return self.limit is not None and self.cost > self.limit.amount

    def summary(self) -> str:
        """One line: what `run` would send and spend."""
        renders = len(self.to_send)
        if not renders:
            return "nothing to send"
        return (
            f"{renders} render{'s' if renders != 1 else ''} to send, {self.seconds} s, "
            f"estimated {money(self.cost, self.currency)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": str(self.manifest.path),
            "name": self.manifest.name,
            "output": str(self.output),
            "simulated": None if self.world is None else self.world.simulated,
            "currency": self.currency,
            "prices": {"source": self.prices.source, "as_of": self.prices.as_of},
            "entries": [p.to_json() for p in self.entries],
            "actions": {str(action): count for action, count in self.actions.items()},
            "totals": {
                "renders": len(self.to_send),
                "seconds": self.seconds,
                "estimated_cost": float(self.cost),
                "by_group": [group.to_json() for group in self.groups],
                "by_source": [source.to_json() for source in self.sources if source.expanded],
                "moved": len(self.moved),
                "may_send": {
                    "renders": sum(1 for p in self.entries if p.may_pay),
                    "estimated_cost": float(self.may_cost),
                },
                "billed_seconds": self.billed_seconds,
                "billed_cost": float(self.billed_cost),
            },
            "budget": None
            if self.limit is None
            else {
                "limit": float(self.limit.amount),
                "source": self.limit.source,
                "exceeded": self.over_budget,
            },
            "warnings": [n.to_json() for n in self.notices],
        }
