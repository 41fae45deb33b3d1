"""The runner: every selected entry from where it stands to a verified video on disk.

One anyio task per entry, inside one task group. A `CapacityLimiter` bounds the tasks in flight
(`--concurrency`); the client paces submits and polls for the whole process. Every step is written
to the state store before the next one starts, so a run stopped at any point (Ctrl-C, SIGTERM,
kill -9) is picked up by the next one without paying twice:

    new -> submitting -> in_flight -> succeeded -> done
                 \\-> (answer lost) settle with the task list: adopt, send again, or unknown
"""

from __future__ import annotations

import fnmatch
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import anyio
import httpx

from kling_batch.api import (
    AccountError,
    AmbiguousSubmission,
    ApiError,
    ApiKey,
    DashScopeClient,
    MemoryUploadCache,
    Pacing,
    RequestRejected,
    RetryNotice,
    RetryPolicy,
    ThrottledError,
    TransientError,
    UploadCache,
)
from kling_batch.api.types import Task, TaskStatus
from kling_batch.hashing import sha256_json
from kling_batch.manifest import fingerprint, request_body
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.plan import build_plan
from kling_batch.prices import PriceTable
from kling_batch.report import write_report
from kling_batch.runner.artifacts import OutputLayout, write_json_atomic
from kling_batch.runner.budget import Budget, BudgetExceeded, spending_limit
from kling_batch.runner.changes import fingerprint_body
from kling_batch.runner.decide import Action, decide
from kling_batch.runner.downloads import DownloadError, UrlExpired, download_file
from kling_batch.runner.echo import EchoBasis, EchoMode
from kling_batch.runner.events import EventKind, EventLog, EventSink
from kling_batch.runner.lock import RunLock
from kling_batch.runner.lookalikes import LookalikeGate
from kling_batch.runner.polling import PollPolicy, RenderTimes
from kling_batch.runner.reconcile import Attempt, Verdict, settle_submission
from kling_batch.runner.results import write_results
from kling_batch.runner.state import (
    UNSETTLED,
    EntryRecord,
    EntryState,
    FileRecord,
    StateStore,
    TaskClaimed,
)
from kling_batch.runner.world import World, reconcile_worlds, world_of

# The video files of a task, by the task field that holds their URL.
_VIDEO_FILES = (("video_url", "video.mp4"), ("watermark_video_url", "video.watermark.mp4"))
# A create that is still unanswered this long after Ctrl-C is abandoned to reconciliation.
_SUBMIT_SHIELD_SECONDS = 30.0
_PARALLEL_DOWNLOADS = 4
# The states in which an entry ended without its video in this run.
_GAVE_UP = (EntryState.FAILED, EntryState.CANCELED, EntryState.EXPIRED, EntryState.UNKNOWN)
# A task that cannot be queried for this long is left in flight for the next run.
_POLL_OUTAGE_SECONDS = 600.0
# Creates of one entry in one run whose answers were lost and which the task list then showed
# never arrived: past this, the service is too unwell to keep trying; the next run tries again.
_MAX_SENDS_PER_RUN = 3
_SIMULATOR_RESTARTED = (
    "the in-process simulator started afresh and forgot its task: rendering again"
)


@dataclass(frozen=True)
class Connection:
    """Where and how to reach DashScope (or the simulator)."""

    base_url: str
    api_key: ApiKey
    transport: httpx.AsyncBaseTransport | None = None
    pacing: Pacing | None = None
    retry: RetryPolicy | None = None
    in_process: bool = False  # the --simulate simulator: its tasks end with the process

    @property
    def world(self) -> World:
        return world_of(self.base_url, self.api_key, in_process=self.in_process)

    def client(
        self, store: StateStore, world: World, on_retry: Callable[[RetryNotice], None] | None = None
    ) -> DashScopeClient:
        """A client of this connection whose uploads are remembered for `world` in `store`."""
        return DashScopeClient(
            self.base_url,
            self.api_key,
            transport=self.transport,
            pacing=self.pacing,
            retry=self.retry,
            upload_cache=upload_cache(store, world),
            on_retry=on_retry,
        )


def bind_output(store: StateStore, connection: Connection, folder: Path) -> World:
    """Claim an output for the connection's world, or raise WorldMismatch (nothing sent)."""
    world = reconcile_worlds(store.world(), connection.world, folder)
    store.record_world(world)
    return world


def upload_cache(store: StateStore, world: World) -> UploadCache:
    """Where uploads are remembered: per world in the store, in memory for a service whose
    objects end with the process."""
    return MemoryUploadCache() if world.in_process else store.uploads_of(world)


@dataclass(frozen=True)
class RunOptions:
    concurrency: int = 10
    poll_interval: float = 5.0
    only: tuple[str, ...] = ()
    retry_failed: bool = False
    resubmit_unknown: bool = False
    handle_signals: bool = True
    max_cost: Decimal | None = None  # overrides the manifest's budget:
    prices: PriceTable | None = None  # None: PriceTable.load() ($KLING_BATCH_PRICES or shipped)


@dataclass(frozen=True)
class RunSummary:
    states: dict[str, EntryState | None]  # None: not reached (the run stopped first)
    interrupted: bool = False
    fatal: str | None = None
    elapsed: float = 0.0
    over_budget: tuple[str, ...] = ()  # entries not sent: they would have passed the limit

    @property
    def all_done(self) -> bool:
        return all(state is EntryState.DONE for state in self.states.values())

    def count(self, state: EntryState | None) -> int:
        return sum(1 for value in self.states.values() if value is state)


class SelectionError(ValueError):
    """`--only` patterns that match no entry."""


def select_entries(manifest: Manifest, patterns: Sequence[str]) -> list[Entry]:
    if not patterns:
        return list(manifest.entries)
    unmatched = [
        p for p in patterns if not any(fnmatch.fnmatchcase(e.id, p) for e in manifest.entries)
    ]
    if unmatched:
        raise SelectionError(f"--only {', '.join(unmatched)} matches no entry of {manifest.path}")
    return [e for e in manifest.entries if any(fnmatch.fnmatchcase(e.id, p) for p in patterns)]


async def run_manifest(
    manifest: Manifest,
    connection: Connection,
    output_root: Path,
    options: RunOptions | None = None,
    sinks: list[EventSink] | None = None,
) -> RunSummary:
    """Run (or resume) a validated manifest; holds the output's lock for the whole run.

    With a spending limit (`options.max_cost`, else the manifest's `budget:`), a run whose plan
    costs more raises `BudgetExceeded` before anything is sent.
    """
    options = options or RunOptions()
    entries = select_entries(manifest, options.only)
    layout = OutputLayout.for_manifest(output_root, manifest.name)
    prices = options.prices or PriceTable.load()
    # Every estimate up front: a price table that lacks one fails here, not mid-run.
    estimates = {entry.id: prices.estimate(entry).amount for entry in entries}
    limit = spending_limit(manifest, options.max_cost, prices.currency)
    with RunLock(layout.folder):
        store = StateStore(layout.state)
        try:
            world = bind_output(store, connection, layout.folder)
        except BaseException:
            store.close()
            raise
        events = EventLog(layout.events, sinks)
        try:
            if limit is not None:
                plan = build_plan(
                    manifest,
                    layout,
                    store,
                    prices,
                    entries=entries,
                    retry_failed=options.retry_failed,
                    resubmit_unknown=options.resubmit_unknown,
                    limit=limit,
                    tasks_outlive_run=not world.in_process,
                )
                if plan.over_budget:
                    raise BudgetExceeded(plan.cost, len(plan.to_send), limit)
            client = connection.client(store, world, lambda notice: _log_retry(events, notice))
            async with client:
                runner = _Runner(
                    manifest,
                    entries,
                    client,
                    store,
                    layout,
                    events,
                    options,
                    Budget(limit),
                    estimates,
                    world,
                )
                summary = await runner.run()
        finally:
            write_results(layout, manifest, store, prices)
            write_report(layout, manifest, store, prices=prices)
            store.close()
            events.close()
    return summary


@dataclass
class _Runner:
    manifest: Manifest
    entries: list[Entry]
    client: DashScopeClient
    store: StateStore
    layout: OutputLayout
    events: EventLog
    options: RunOptions
    budget: Budget
    estimates: dict[str, Decimal]  # each selected entry's, priced once before the run
    world: World
    render_times: RenderTimes = field(default_factory=RenderTimes)
    interrupted: bool = False
    fatal: str | None = None

    def __post_init__(self) -> None:
        self.slots = anyio.CapacityLimiter(self.options.concurrency)
        self.download_slots = anyio.CapacityLimiter(_PARALLEL_DOWNLOADS)
        self.poll_policy = PollPolicy(floor=self.options.poll_interval)
        self.scope = anyio.CancelScope()
        self.submit_shields: set[anyio.CancelScope] = set()
        self.started_at = time.time()
        self.lookalikes = LookalikeGate()
        self.echoes_seen: set[str] = set()  # task ids whose echo this run has noted
        self.stopping = False

    async def run(self) -> RunSummary:
        started = time.monotonic()
        self.events.emit(
            EventKind.RUN_STARTED,
            manifest=str(self.manifest.path),
            entries=len(self.entries),
            concurrency=self.options.concurrency,
            service=self.world.describe(),
            simulated=self.world.simulated,
        )
        # Tasks already in flight hold remote slots: resume them before submitting new work.
        records = {e.id: self.store.get(e.id) for e in self.entries}
        ordered = sorted(self.entries, key=lambda e: not _in_flight(records[e.id]))
        # The signal watcher lives outside the scope that a stop cancels, so that it still
        # hears a second Ctrl-C while shielded creates finish.
        async with anyio.create_task_group() as group:
            if self.options.handle_signals:
                group.start_soon(self._watch_signals)
            with self.scope:
                async with anyio.create_task_group() as jobs:
                    for entry in ordered:
                        jobs.start_soon(self._guarded, entry)
                # Now that every other create of the run has its task, an entry this run left
                # unsettled may be plain to see: look once more.
                unsettled = [entry for entry in self.entries if self._left_unsettled(entry)]
                if unsettled and not self.stopping:
                    async with anyio.create_task_group() as jobs:
                        for entry in unsettled:
                            jobs.start_soon(self._guarded, entry)
            group.cancel_scope.cancel()
        states = {e.id: _state(self.store.get(e.id)) for e in self.entries}
        summary = RunSummary(
            states,
            self.interrupted,
            self.fatal,
            time.monotonic() - started,
            over_budget=tuple(self.budget.refused),
        )
        self.events.emit(
            EventKind.RUN_FINISHED,
            done=summary.count(EntryState.DONE),
            failed=sum(summary.count(state) for state in _GAVE_UP),
            unfinished=sum(
                1 for state in states.values() if state not in (*_GAVE_UP, EntryState.DONE)
            ),
            interrupted=self.interrupted or None,
            fatal=self.fatal,
            elapsed=round(summary.elapsed, 3),
        )
        return summary

    def _left_unsettled(self, entry: Entry) -> bool:
        record = self.store.get(entry.id)
        return (
            record is not None
            and record.state is EntryState.UNKNOWN
            and record.unsettled
            and record.updated_at >= self.started_at
        )

    def _stop(self) -> None:
        self.stopping = True
        deadline = anyio.current_time() + _SUBMIT_SHIELD_SECONDS
        for shield in self.submit_shields:
            shield.deadline = min(shield.deadline, deadline)
        self.scope.cancel()

    async def _watch_signals(self) -> None:
        # The receiver stays open for the whole run: a second Ctrl-C (while a create in flight is
        # given its last seconds) must not fall through to Python's KeyboardInterrupt.
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            async for number in received:
                self.events.emit(EventKind.INTERRUPTED, signal=signal.Signals(number).name)
                if self.interrupted:
                    for shield in self.submit_shields:
                        shield.deadline = anyio.current_time()  # stop waiting for the answer
                    continue
                self.interrupted = True
                self._stop()

    async def _guarded(self, entry: Entry) -> None:
        try:
            await self._advance(entry)
        except AccountError as error:
            self.fatal = str(error)
            self.events.emit(EventKind.FATAL, entry.id, code=error.code, message=error.message)
            self._stop()
        except (TransientError, ThrottledError, RequestRejected, DownloadError) as error:
            # The service stayed out of reach (or refused a query) for this entry through the
            # bounded retries. What is known is in the state store; the next run goes on from
            # there.
            self.events.emit(
                EventKind.ENTRY_FAILED,
                entry.id,
                code=getattr(error, "code", None) or type(error).__name__,
                message=str(error),
                resumable=True,
            )
        except Exception as error:  # a bug or the machine (disk full): stop, keep what is known
            self.fatal = f"{type(error).__name__}: {error}"
            self.events.emit(
                EventKind.FATAL, entry.id, code=type(error).__name__, message=str(error)
            )
            self._stop()

    async def _advance(self, entry: Entry) -> None:
        """Move one entry on from wherever the state store says it stands."""
        record = self.store.get(entry.id)
        intact = (
            record is not None
            and record.state is EntryState.DONE
            and await self._files_intact(record)
        )
        action = decide(
            record,
            fingerprint(entry),
            files_intact=intact,
            retry_failed=self.options.retry_failed,
            resubmit_unknown=self.options.resubmit_unknown,
            tasks_outlive_run=not self.world.in_process,
        )
        if action in (Action.SKIP, Action.LEAVE_FAILED, Action.LEAVE_UNKNOWN):
            assert record is not None
            self.events.emit(
                EventKind.ENTRY_SKIPPED,
                entry.id,
                state=str(record.state),
                code=record.error_code,
            )
            return
        # Before anything is set aside: an entry the budget refuses stays as it was.
        if action.sends and not self._reserve(entry):
            return
        if action.starts_over:
            assert record is not None
            moved = self.layout.set_aside(entry.id)
            self.store.forget(entry.id)
            if action in (Action.RERENDER, Action.RESTART):
                self.events.emit(
                    EventKind.ENTRY_CHANGED,
                    entry.id,
                    previous_task=record.task_id,
                    set_aside=str(moved) if moved else None,
                    reason="simulator_restarted" if action is Action.RESTART else None,
                    message=_SIMULATOR_RESTARTED if action is Action.RESTART else None,
                )
            record = None
        if action is Action.DOWNLOAD and record is not None and record.state is EntryState.DONE:
            record = self.store.record_task(entry.id, _succeeded_view(record))

        if record is None or record.unsettled or record.state is EntryState.IN_FLIGHT:
            async with self.slots:
                record = await self._submit_and_wait(entry, record)
                if self._vanished(record) and self.options.resubmit_unknown:
                    # The service does not know the task it was given (a simulator started
                    # afresh, another region): the user allowed sending it again.
                    self.layout.set_aside(entry.id)
                    self.store.forget(entry.id)
                    record = await self._submit_and_wait(entry, None)
        if record is not None and record.state is EntryState.SUCCEEDED:
            async with self.download_slots:
                await self._download(entry, record)

    async def _submit_and_wait(
        self, entry: Entry, record: EntryRecord | None
    ) -> EntryRecord | None:
        # Look-alikes (runner/lookalikes.py) send and settle one at a time: the task list tells
        # their tasks apart by echo only, so a settle must never run while a look-alike's
        # create is on its way.
        basis = record.basis if record is not None else EchoBasis.of_body(fingerprint_body(entry))
        async with self.lookalikes.hold(entry.model, basis.tokens(self._modes(entry.model, basis))):
            sends = 0
            while True:
                if record is not None and record.unsettled:
                    if self.stopping:
                        return record  # settled by the next run
                    record = await self._settle(entry, record)
                if record is not None:
                    break
                if sends == _MAX_SENDS_PER_RUN:
                    self.budget.release(entry.id)
                    self.events.emit(
                        EventKind.ENTRY_FAILED,
                        entry.id,
                        code="SubmitUnavailable",
                        message=f"{sends} creates got no answer and the task list shows none "
                        "arrived; the next run sends it again",
                        resumable=True,
                    )
                    return None
                if not self._reserve(entry):
                    return None  # left as it stands; the next run settles it again
                sends += 1
                record = await self._submit(entry)
        if record.state is not EntryState.IN_FLIGHT:
            return record
        # A task this run did not just create (resumed, or adopted by a settle) may have ended
        # long ago: look at once rather than wait out a gap chosen for its age.
        fresh = record.submitted_at is not None and record.submitted_at >= self.started_at
        return await self._poll_until_done(entry, record, look_now=not fresh)

    async def _submit(self, entry: Entry) -> EntryRecord | None:
        uploaded: dict[Path, str] = {}
        for media in entry.local_media:
            assert media.path is not None
            try:
                upload = await self.client.upload_file(media.path, entry.model)
            except RequestRejected as rejected:
                self.budget.release(entry.id)
                code = rejected.code or "UploadRejected"
                self.events.emit(
                    EventKind.ENTRY_FAILED, entry.id, code=code, message=rejected.message
                )
                return self.store.record_rejection(
                    entry.id,
                    fingerprint=fingerprint(entry),
                    model=entry.model,
                    code=code,
                    message=f"{media.path.name}: {rejected.message}",
                    request_id=rejected.request_id,
                    fingerprint_body=fingerprint_body(entry),
                )
            uploaded[media.path] = upload.url
            self.events.emit(EventKind.UPLOAD, entry.id, file=media.path.name, url=upload.url)
        body = request_body(entry, uploaded)
        # A copy for people: the state store holds what matters, so no fsync here.
        write_json_atomic(self.layout.request_file(entry.id), body, durable=False)
        record = self.store.record_intent(
            entry.id,
            fingerprint=fingerprint(entry),
            model=entry.model,
            body_sha256=sha256_json(body),
            basis=EchoBasis.of_body(body),
            fingerprint_body=fingerprint_body(entry),
        )
        self.events.emit(EventKind.SUBMIT, entry.id, model=entry.model)
        # Shielded: once the create is on its way, Ctrl-C waits for its answer so that the task
        # id is recorded; only a create still unanswered some time after the stop is abandoned
        # to reconciliation on the next run.
        lost: AmbiguousSubmission | None = None
        with anyio.CancelScope(shield=True) as shield:
            self.submit_shields.add(shield)
            if self.stopping:
                shield.deadline = anyio.current_time() + _SUBMIT_SHIELD_SECONDS
            try:
                task = await self.client.create_task(body)
            except AmbiguousSubmission as error:
                lost = error
            except RequestRejected as rejected:
                self.budget.release(entry.id)
                return self._fail(entry, rejected)
            except (TransientError, ThrottledError):
                # The create provably never arrived (the client says so by not raising
                # AmbiguousSubmission): drop the intent so the next run simply sends it.
                self.store.forget(entry.id)
                self.budget.release(entry.id)
                raise
            else:
                record = self.store.record_submitted(entry.id, task)
                self.events.emit(
                    EventKind.SUBMITTED, entry.id, task_id=task.task_id, request_id=task.request_id
                )
                return record
            finally:
                self.submit_shields.discard(shield)
        if lost is not None:
            self.events.emit(
                EventKind.SUBMIT_AMBIGUOUS, entry.id, reason=lost.message, code=lost.code
            )
        else:
            self.events.emit(
                EventKind.SUBMIT_AMBIGUOUS,
                entry.id,
                reason="no answer before the run stopped; the next run settles it",
            )
        # Still SUBMITTING: the caller settles it with the task list (now, or on the next run
        # when the shield's time ran out after a stop).
        return record

    async def _settle(self, entry: Entry, record: EntryRecord) -> EntryRecord | None:
        """Find out whether a submission whose answer was lost created a task."""
        settlement = await settle_submission(
            self.client,
            _attempt(record),
            claimed=self.store.claimed_task_ids,
            rivals=lambda: [
                _attempt(other)
                for other in self.store.unsettled(record.model)
                if other.entry_id != entry.id
            ],
            modes=lambda basis: self._modes(record.model, basis),
        )
        self.events.emit(
            EventKind.RECONCILED,
            entry.id,
            verdict=str(settlement.verdict),
            task_id=settlement.task.task_id if settlement.task else None,
            reason=settlement.reason or None,
        )
        reason = settlement.reason
        if settlement.verdict is Verdict.ADOPTED:
            assert settlement.task is not None
            try:
                adopted = self.store.record_submitted(entry.id, settlement.task)
            except TaskClaimed as claimed:
                reason = str(claimed)
            else:
                self._note_echo(adopted, settlement.task)
                return adopted
        elif settlement.verdict is Verdict.NOT_CREATED:
            return None  # nothing was created: sending it again cannot pay twice
        self.events.emit(EventKind.ENTRY_UNKNOWN, entry.id, reason=reason)
        return self.store.record_failure(
            entry.id,
            code=UNSETTLED,
            message=f"could not tell yet whether the create reached the service ({reason}); "
            "the next run looks again while the task list covers it (24 h); "
            "`kling-batch audit` shows the candidates, `run --resubmit-unknown` sends it anyway",
            state=EntryState.UNKNOWN,
        )

    async def _poll_until_done(
        self, entry: Entry, record: EntryRecord, *, look_now: bool = False
    ) -> EntryRecord:
        assert record.task_id is not None
        submitted_at = record.submitted_at or record.intent_at
        kind = (entry.model, entry.mode, entry.duration)
        unreachable_since: float | None = None
        # The render ended between the last poll that saw it running and the one that sees it
        # done: their midpoint is what the polling policy learns, so that our own polling lag
        # never inflates the expectation.
        seen_running_at = submitted_at
        while True:
            if look_now:
                look_now = False
            else:
                delay = self.poll_policy.next_delay(
                    age=time.time() - submitted_at, expected=self.render_times.expected(kind)
                )
                await anyio.sleep(delay)
            polled_at = time.time()
            try:
                task = await self.client.get_task(record.task_id)
            except (TransientError, ThrottledError) as error:
                # The task keeps rendering meanwhile; the client already logged its retries.
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since < _POLL_OUTAGE_SECONDS:
                    continue
                self.events.emit(
                    EventKind.ENTRY_FAILED,
                    entry.id,
                    code=error.code or type(error).__name__,
                    message=f"the task could not be queried for {_POLL_OUTAGE_SECONDS:.0f} s; "
                    "it stays in flight and the next run polls it again",
                    resumable=True,
                )
                return record
            unreachable_since = None
            self._keep_task(entry.id, task)
            self._note_echo(record, task)
            self.events.emit(
                EventKind.POLL, entry.id, task_id=task.task_id, status=str(task.status)
            )
            if task.status is not record.task_status or task.status.is_terminal:
                record = self.store.record_task(entry.id, task)
            if not task.status.is_terminal:
                seen_running_at = polled_at
                continue
            if task.status is TaskStatus.SUCCEEDED:
                ended_about = (seen_running_at + polled_at) / 2
                self.render_times.observe(kind, ended_about - submitted_at)
            else:
                self.events.emit(
                    EventKind.ENTRY_FAILED,
                    entry.id,
                    state=str(record.state),
                    code=record.error_code,
                    message=record.error_message,
                    request_id=record.request_id,
                )
            return record

    async def _download(self, entry: Entry, record: EntryRecord) -> None:
        files: list[FileRecord] = []
        for field_name, file_name in _VIDEO_FILES:
            url = getattr(record, field_name)
            if not url:
                continue
            dest = self.layout.entry_dir(entry.id) / file_name
            try:
                try:
                    kept = await download_file(self.client.http, url, dest)
                except UrlExpired:
                    record = await self._refresh_urls(entry, record)
                    fresh = getattr(record, field_name)
                    if record.state is not EntryState.SUCCEEDED or not fresh:
                        return
                    kept = await download_file(self.client.http, fresh, dest)
            except DownloadError as problem:
                self.events.emit(
                    EventKind.ENTRY_FAILED, entry.id, code="DownloadFailed", message=str(problem)
                )
                return  # stays SUCCEEDED: the next run fetches it again
            files.append(kept)
            self.events.emit(
                EventKind.DOWNLOAD, entry.id, file=file_name, size=kept.size, sha256=kept.sha256
            )
        if not files:
            self._fail_entry(
                entry, "NoVideo", "the task succeeded but gave no video URL", record.request_id
            )
            return
        done = self.store.record_files(entry.id, tuple(files))
        self.events.emit(
            EventKind.ENTRY_DONE,
            entry.id,
            files=[f.name for f in files],
            billed_seconds=done.billed_seconds,
        )

    async def _refresh_urls(self, entry: Entry, record: EntryRecord) -> EntryRecord:
        assert record.task_id is not None
        task = await self.client.get_task(record.task_id)
        self._keep_task(entry.id, task)
        record = self.store.record_task(entry.id, task)
        if record.state is EntryState.EXPIRED:
            self.events.emit(
                EventKind.ENTRY_FAILED,
                entry.id,
                code=record.error_code,
                message=record.error_message,
            )
        return record

    def _keep_task(self, entry_id: str, task: Task) -> None:
        self.layout.keep_task_answer(entry_id, task)

    def _modes(self, model: str, basis: EchoBasis) -> frozenset[EchoMode]:
        return basis.modes(self.store.echo_modes(model, basis.kind))

    def _note_echo(self, record: EntryRecord, task: Task) -> None:
        """Learn from one of our own tasks how the service echoes a body of its kind."""
        if task.status is TaskStatus.UNKNOWN or task.task_id in self.echoes_seen:
            return
        if not task.status.is_terminal and "orig_prompt" not in task.raw.get("output", {}):
            return  # an answer while it renders may leave the echo out: a later one tells
        self.echoes_seen.add(task.task_id)
        basis = record.basis
        self.store.observe_echo(record.model, basis.kind, basis.observe(task.orig_prompt))

    def _reserve(self, entry: Entry) -> bool:
        """Hold the entry's estimate against the limit before its create; report a refusal."""
        amount = self.estimates[entry.id]
        if self.budget.reserve(entry.id, amount):
            return True
        self.events.emit(
            EventKind.ENTRY_SKIPPED,
            entry.id,
            code="BudgetExceeded",
            message=self.budget.refusal(amount),
        )
        return False

    def _fail(self, entry: Entry, error: ApiError) -> EntryRecord:
        code = error.code or type(error).__name__
        return self._fail_entry(entry, code, error.message, error.request_id)

    def _fail_entry(
        self, entry: Entry, code: str, message: str, request_id: str | None
    ) -> EntryRecord:
        record = self.store.record_failure(
            entry.id, code=code, message=message, request_id=request_id
        )
        self.events.emit(
            EventKind.ENTRY_FAILED, entry.id, code=code, message=message, request_id=request_id
        )
        return record

    def _vanished(self, record: EntryRecord | None) -> bool:
        return (
            record is not None
            and record.state is EntryState.UNKNOWN
            and record.task_status is TaskStatus.UNKNOWN
            and not self.stopping
        )

    async def _files_intact(self, record: EntryRecord) -> bool:
        return await anyio.to_thread.run_sync(
            self.layout.files_intact, record.entry_id, record.files
        )


def _log_retry(events: EventLog, notice: RetryNotice) -> None:
    events.emit(
        EventKind.RETRY,
        operation=notice.operation,
        attempt=notice.attempt,
        code=notice.error.code or type(notice.error).__name__,
        message=notice.error.message,
        retry_after=notice.retry_after,
    )


def _in_flight(record: EntryRecord | None) -> bool:
    return record is not None and record.state in (EntryState.IN_FLIGHT, EntryState.SUBMITTING)


def _state(record: EntryRecord | None) -> EntryState | None:
    return None if record is None else record.state


def _attempt(record: EntryRecord) -> Attempt:
    return Attempt(record.entry_id, record.model, record.basis, record.intent_at)


def _succeeded_view(record: EntryRecord) -> Task:
    """The task as last seen succeeding: lets a damaged download be fetched again."""
    assert record.task_id is not None
    return Task(
        task_id=record.task_id,
        status=TaskStatus.SUCCEEDED,
        video_url=record.video_url,
        watermark_video_url=record.watermark_video_url,
    )
