"""One run's entries, each from where the state store says it stands to a verified video.

Per entry with work to do, in one anyio task (one that has none is skipped without one):
decide what to do (runner/decide.py), send the create with its intent on disk first, settle a
lost answer against the task list (runner/reconcile.py), poll and download (runner/steps.py).
Every step persists its change through a transition (runner/transitions.py) before the next one
starts, so a run stopped at any point is picked up by the next one without paying twice:

    new -> submitting -> in_flight -> succeeded -> done
                 \\-> (answer lost) settle with the task list: adopt, send again, or unknown
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import anyio

from kling_batch.api import (
    AmbiguousSubmission,
    ApiError,
    DashScopeClient,
    RequestRejected,
    ThrottledError,
    TransientError,
)
from kling_batch.api.types import Task, TaskStatus
from kling_batch.hashing import sha256_json
from kling_batch.manifest import fingerprint, request_body
from kling_batch.manifest.model import Entry, Manifest
from kling_batch.runner.artifacts import OutputLayout, write_json_atomic
from kling_batch.runner.budget import Budget
from kling_batch.runner.changes import fingerprint_body
from kling_batch.runner.clock import Clock
from kling_batch.runner.decide import Action, decide
from kling_batch.runner.echo import EchoBasis, EchoMode
from kling_batch.runner.events import (
    EntryChanged,
    EntryFailed,
    EntrySkipped,
    EventLog,
    Submit,
    SubmitAmbiguous,
    Submitted,
    Upload,
)
from kling_batch.runner.guard import guarded
from kling_batch.runner.lookalikes import LookalikeGate
from kling_batch.runner.moves import MoveStanding, carry_move
from kling_batch.runner.options import RunOptions
from kling_batch.runner.polling import PollPolicy, RenderTimes
from kling_batch.runner.records import EntryRecord, EntryState
from kling_batch.runner.settling import settle_lost, settle_superseded
from kling_batch.runner.state import StateStore
from kling_batch.runner.steps import download, poll_until_done
from kling_batch.runner.transitions import failed, task_seen
from kling_batch.runner.world import World

# A create that is still unanswered this long after Ctrl-C is abandoned to reconciliation.
SUBMIT_SHIELD_SECONDS = 30.0
_PARALLEL_DOWNLOADS = 4
# Creates of one entry in one run whose answers were lost and which the task list then showed
# never arrived: past this, the service is too unwell to keep trying; the next run tries again.
_MAX_SENDS_PER_RUN = 3
_SIMULATOR_RESTARTED = (
    "the in-process simulator started afresh and forgot its task: rendering again"
)
# What leaves an entry as it stands, with an `entry_skipped` line.
_LEFT_ALONE = frozenset({Action.SKIP, Action.LEAVE_FAILED, Action.LEAVE_UNKNOWN})
# Why an entry starts over, when it is not that its content changed: (reason, message).
_STARTS_OVER_BECAUSE = {
    Action.RESTART: ("simulator_restarted", _SIMULATOR_RESTARTED),
    Action.REPLACE: ("replaced", "--replace: rendering it again"),
}


@dataclass
class EntryFlow:
    """Moves entries (each with work to do in an anyio task of its own) from where the state
    store says they stand to a verified video, or to a state that says why not; one per run."""

    manifest: Manifest
    client: DashScopeClient
    store: StateStore
    layout: OutputLayout
    events: EventLog
    options: RunOptions
    budget: Budget
    estimates: dict[str, Decimal]  # each selected entry's, priced once before the run
    world: World
    clock: Clock
    render_times: RenderTimes = field(default_factory=RenderTimes)
    fatal: str | None = None
    moves: Mapping[str, MoveStanding] = field(default_factory=dict)  # by new id (runner/moves.py)

    def __post_init__(self) -> None:
        self.slots = anyio.CapacityLimiter(self.options.concurrency)
        self.download_slots = anyio.CapacityLimiter(_PARALLEL_DOWNLOADS)
        self.poll_policy = PollPolicy(floor=self.options.poll_interval)
        self.scope = anyio.CancelScope()  # cancelled to stop the run's entries
        self.submit_shields: set[anyio.CancelScope] = set()
        self.started_at = self.clock.now()
        self.lookalikes = LookalikeGate()
        self.echoes_seen: set[str] = set()  # task ids whose echo this run has noted
        self.stopping = False

    def left_unsettled(self, entry: Entry) -> bool:
        record = self.store.get(entry.id)
        return (
            record is not None
            and record.state is EntryState.UNKNOWN
            and record.unsettled
            and record.updated_at >= self.started_at
        )

    def stop(self) -> None:
        """No new work; creates on the wire get their last seconds to answer."""
        self.stopping = True
        deadline = anyio.current_time() + SUBMIT_SHIELD_SECONDS
        for shield in self.submit_shields:
            shield.deadline = min(shield.deadline, deadline)
        self.scope.cancel()

    def skip_settled(self, entry: Entry) -> bool:
        """Skip an entry that needs no work (done with its very files, failed or unknown without
        the flag that sends it again) without an anyio task of its own; whether it was. A task
        each cost a resume of 10,000 done entries a quarter of its time."""
        with guarded(self, entry.id):
            record = self.store.get(entry.id)
            if record is None:
                return False  # new, or renamed under `moved:` (carried on its task)
            done = record.state is EntryState.DONE
            if done and not self.layout.files_unchanged(entry.id, record.files):
                return False  # hashed on a worker thread, from the entry's task
            if self._action(entry, record, files_intact=done) not in _LEFT_ALONE:
                return False
            self.events.emit(EntrySkipped(entry.id, state=record.state, code=record.error_code))
        return True

    async def advance_guarded(self, entry: Entry) -> None:
        with guarded(self, entry.id):
            await self._advance(entry)

    def _action(self, entry: Entry, record: EntryRecord | None, *, files_intact: bool) -> Action:
        return decide(
            record,
            fingerprint(entry),
            files_intact=files_intact,
            retry_failed=self.options.retry_failed,
            resubmit_unknown=self.options.resubmit_unknown,
            replace=self.options.replaces(entry.id),
            tasks_outlive_run=not self.world.in_process,
        )

    async def _advance(self, entry: Entry) -> None:
        """Move one entry on from wherever the state store says it stands."""
        record = self.store.get(entry.id)
        if record is None:
            record = carry_move(self, entry)  # a rename under `moved:` is carried first
        intact = (
            record is not None
            and record.state is EntryState.DONE
            and await self._files_intact(record)
        )
        action = self._action(entry, record, files_intact=intact)
        if action in _LEFT_ALONE:
            assert record is not None
            self.events.emit(EntrySkipped(entry.id, state=record.state, code=record.error_code))
            return
        # Before anything is set aside: an entry the budget refuses stays as it was.
        if action.sends and not self.reserve(entry):
            return
        if action.starts_over:
            assert record is not None
            moved = self.layout.set_aside(entry.id)
            self.store.forget(entry.id)  # an unsettled create is kept as a superseded attempt
            if action in (Action.RERENDER, Action.RESTART, Action.REPLACE):
                reason, message = _STARTS_OVER_BECAUSE.get(action, (None, None))
                self.events.emit(
                    EntryChanged(
                        entry.id,
                        previous_task=record.task_id,
                        set_aside=moved,
                        reason=reason,
                        message=message,
                    )
                )
            record = None
        if action is Action.DOWNLOAD and record is not None and record.state is EntryState.DONE:
            record = self.store.apply(
                entry.id, task_seen(record, _succeeded_view(record), self.clock.now())
            )

        if record is None or record.unsettled:
            # An earlier create of this entry whose answer was lost before its content changed:
            # find its task first, so that it is never taken for the new one's.
            await settle_superseded(self, entry)
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
                await download(self, entry, record)

    async def _submit_and_wait(
        self, entry: Entry, record: EntryRecord | None
    ) -> EntryRecord | None:
        # Look-alikes (runner/lookalikes.py) send and settle one at a time: the task list tells
        # their tasks apart by echo only, so a settle must never run while a look-alike's
        # create is on its way.
        basis = record.basis if record is not None else EchoBasis.of_body(fingerprint_body(entry))
        async with self.lookalikes.hold(entry.model, basis.tokens(self.modes(entry.model, basis))):
            sends = 0
            while True:
                if record is not None and record.unsettled:
                    if self.stopping:
                        return record  # settled by the next run
                    record = await settle_lost(self, entry, record)
                if record is not None:
                    break
                if sends == _MAX_SENDS_PER_RUN:
                    self.budget.release(entry.id)
                    self.events.emit(
                        EntryFailed(
                            entry.id,
                            code="SubmitUnavailable",
                            message=f"{sends} creates got no answer and the task list shows "
                            "none arrived; the next run sends it again",
                            resumable=True,
                        )
                    )
                    return None
                if not self.reserve(entry):
                    return None  # left as it stands; the next run settles it again
                sends += 1
                record = await self._submit(entry)
        if record.state is not EntryState.IN_FLIGHT:
            return record
        # A task this run did not just create (resumed, or adopted by a settle) may have ended
        # long ago: look at once rather than wait out a gap chosen for its age.
        fresh = record.submitted_at is not None and record.submitted_at >= self.started_at
        return await poll_until_done(self, entry, record, look_now=not fresh)

    async def _submit(self, entry: Entry) -> EntryRecord | None:
        uploaded: dict[Path, str] = {}
        for media in entry.local_media:
            assert media.path is not None
            try:
                upload = await self.client.upload_file(media.path, entry.model)
            except RequestRejected as rejected:
                self.budget.release(entry.id)
                code = rejected.code or "UploadRejected"
                self.events.emit(EntryFailed(entry.id, code=code, message=rejected.message))
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
            self.events.emit(Upload(entry.id, file=media.path.name, url=upload.url))
        body = request_body(entry, uploaded)
        # A copy for people: the state store holds what matters.
        write_json_atomic(self.layout.request_file(entry.id), body)
        record = self.store.record_intent(
            entry.id,
            fingerprint=fingerprint(entry),
            model=entry.model,
            body_sha256=sha256_json(body),
            basis=EchoBasis.of_body(body),
            fingerprint_body=fingerprint_body(entry),
        )
        self.events.emit(Submit(entry.id, model=entry.model))
        # Shielded: once the create is on its way, Ctrl-C waits for its answer so that the task
        # id is recorded; only a create still unanswered some time after the stop is abandoned
        # to reconciliation on the next run.
        lost: AmbiguousSubmission | None = None
        with anyio.CancelScope(shield=True) as shield:
            self.submit_shields.add(shield)
            if self.stopping:
                shield.deadline = anyio.current_time() + SUBMIT_SHIELD_SECONDS
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
                record = self.record_task_id(entry.id, task)
                self.events.emit(
                    Submitted(entry.id, task_id=task.task_id, request_id=task.request_id)
                )
                return record
            finally:
                self.submit_shields.discard(shield)
        if lost is not None:
            self.events.emit(SubmitAmbiguous(entry.id, reason=lost.message, code=lost.code))
        else:
            self.events.emit(
                SubmitAmbiguous(
                    entry.id, reason="no answer before the run stopped; the next run settles it"
                )
            )
        # Still SUBMITTING: the caller settles it with the task list (now, or on the next run
        # when the shield's time ran out after a stop).
        return record

    def record_task_id(self, entry_id: str, task: Task) -> EntryRecord:
        """Claim the task for the entry; a task that has already ended is folded in at once."""
        record = self.store.record_submitted(entry_id, task)
        if task.status.is_terminal:
            record = self.store.apply(entry_id, task_seen(record, task, self.clock.now()))
        return record

    def keep_task(self, entry_id: str, task: Task) -> None:
        self.layout.keep_task_answer(entry_id, task)

    def modes(self, model: str, basis: EchoBasis) -> frozenset[EchoMode]:
        return basis.modes(self.store.echo_modes(model, basis.kind))

    def note_echo(self, record: EntryRecord, task: Task) -> None:
        """Learn from one of our own tasks how the service echoes a body of its kind."""
        if task.status is TaskStatus.UNKNOWN or task.task_id in self.echoes_seen:
            return
        if not task.status.is_terminal and "orig_prompt" not in task.raw.get("output", {}):
            return  # an answer while it renders may leave the echo out: a later one tells
        self.echoes_seen.add(task.task_id)
        basis = record.basis
        self.store.observe_echo(record.model, basis.kind, basis.observe(task.orig_prompt))

    def reserve(self, entry: Entry) -> bool:
        """Hold the entry's estimate against the limit before its create; report a refusal."""
        amount = self.estimates[entry.id]
        if self.budget.reserve(entry.id, amount):
            return True
        self.events.emit(
            EntrySkipped(entry.id, code="BudgetExceeded", message=self.budget.refusal(amount))
        )
        return False

    def _fail(self, entry: Entry, error: ApiError) -> EntryRecord:
        code = error.code or type(error).__name__
        return self.fail_entry(entry, code, error.message, error.request_id)

    def fail_entry(
        self, entry: Entry, code: str, message: str, request_id: str | None
    ) -> EntryRecord:
        record = self.store.apply(entry.id, failed(code, message, request_id))
        self.events.emit(EntryFailed(entry.id, code=code, message=message, request_id=request_id))
        return record

    def _vanished(self, record: EntryRecord | None) -> bool:
        return (
            record is not None
            and record.state is EntryState.UNKNOWN
            and record.task_status is TaskStatus.UNKNOWN
            and not self.stopping
        )

    async def _files_intact(self, record: EntryRecord) -> bool:
        # The very files once verified need a stat each, asked here; any other is hashed, on a
        # worker thread (a video can be large).
        if self.layout.files_unchanged(record.entry_id, record.files):
            return True
        return await anyio.to_thread.run_sync(
            self.layout.files_intact, record.entry_id, record.files
        )


def _succeeded_view(record: EntryRecord) -> Task:
    """The task as last seen succeeding: lets a damaged download be fetched again."""
    assert record.task_id is not None
    return Task(
        task_id=record.task_id,
        status=TaskStatus.SUCCEEDED,
        video_url=record.video_url,
        watermark_video_url=record.watermark_video_url,
    )
