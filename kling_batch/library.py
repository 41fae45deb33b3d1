"""The library API: one function per command, taking what its options take, returning what the
command prints. `kling_batch/__init__.py` re-exports them; the CLI is a thin layer over them.

Each takes a manifest as a path (checked and loaded first; ManifestInvalid with every problem if
it has an error) or as a Manifest already loaded. Errors are raised, never printed:
SelectionError (`only` or `replace` matches no entry), MoveRefused (a `moved:` that does not fit
the output), PriceTableError, BudgetError and BudgetExceeded (the spending limit),
ConfigurationError (no key, a plain-http URL that is not loopback), WorldMismatch (an output
made on another service or account), UnusableOutput (an output folder that cannot be written),
StateLocked (another run holds the output), AccountError (a bad key, arrears); `pick` and
`export` raise PickRefused, PicksInvalid and ExportRefused. Nothing is sent before the checks
that can refuse a command have passed."""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from kling_batch.collector import collector_paused
from kling_batch.delivery.names import DEFAULT_NAME
from kling_batch.entry_status import Status, read_status
from kling_batch.manifest import load
from kling_batch.manifest.model import Manifest
from kling_batch.prices import PriceTable
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.budget import spending_limit
from kling_batch.runner.options import select_entries

# What sends, renders or delivers is imported where needed: `plan` and `status` send nothing.
if TYPE_CHECKING:
    from kling_batch.delivery.export import ExportResult
    from kling_batch.delivery.picks import PickChange
    from kling_batch.plan import Plan
    from kling_batch.runner.audit import UnclaimedTask
    from kling_batch.runner.connection import Connection
    from kling_batch.runner.events import EventSink
    from kling_batch.runner.options import RunSummary
    from kling_batch.runner.remote import Cancellation, Refreshed

ManifestSource: TypeAlias = Manifest | str | os.PathLike[str]
PricesSource: TypeAlias = PriceTable | str | os.PathLike[str] | None
OutputRoot: TypeAlias = str | os.PathLike[str]

# The in-process simulator's pretend address; its key is no secret.
SIMULATED_BASE_URL = "http://localhost/api/v1"
_SIMULATED_KEY = "simulated-key"
# Real renders take minutes and the polling policy learns their length, so a 5 s floor costs
# little lag; the simulator renders in seconds, so its runs poll finer.
REAL_POLL_FLOOR = 5.0
SIMULATED_POLL_FLOOR = 0.5


class NoRun(LookupError):
    """The output holds no run of the manifest (no state store): nothing to report."""


class UnusableOutput(ValueError):
    """The output folder cannot be made or written: nothing was sent."""


def connect(
    *, simulate: bool = False, base_url: str | None = None, simulated_render_seconds: float = 3.0
) -> Connection:
    """Where a command reaches: the simulator in this process (no key, no network, nothing
    paid; its tasks end with the process), or DashScope at `base_url` (default
    $DASHSCOPE_BASE_URL, else Beijing) with the key from $DASHSCOPE_API_KEY."""
    from kling_batch.api import DEFAULT_BASE_URL, ApiKey, api_key_from_env, require_secure_url
    from kling_batch.runner.connection import Connection

    if simulate:
        # Imported here: only a simulated run needs the simulator in this process.
        from kling_batch.simulator import Simulator, SimulatorConfig, simulator_transport

        simulator = Simulator(SimulatorConfig(render_seconds=simulated_render_seconds))
        return Connection(
            base_url=SIMULATED_BASE_URL,
            api_key=ApiKey(_SIMULATED_KEY),
            transport=simulator_transport(simulator),
            in_process=True,
        )
    url = base_url or os.environ.get("DASHSCOPE_BASE_URL") or DEFAULT_BASE_URL
    return Connection(base_url=require_secure_url(url), api_key=api_key_from_env())


@collector_paused()  # its 10,000 planned entries all live until it returns
def plan_run(
    manifest: ManifestSource,
    *,
    output: OutputRoot = "output",
    only: Sequence[str] = (),
    replace: Sequence[str] = (),
    retry_failed: bool = False,
    resubmit_unknown: bool = False,
    max_cost: Decimal | None = None,
    prices: PricesSource = None,
    simulate: bool = False,
) -> Plan:
    """What `run` with the same options would do with each entry, and what it would cost.

    Reads the state store and checks kept files; sends nothing anywhere (`refresh` first asks
    the service about tasks in flight). `simulate`: the plan of a simulated run, whose
    simulator forgets its tasks when the run ends. `replace`: ids or globs of unchanged
    entries to render again, as `--replace`.
    """
    from kling_batch.plan import build_plan
    from kling_batch.runner.options import replaced_ids
    from kling_batch.runner.state import StateStore

    loaded = _manifest(manifest)
    entries = select_entries(loaded, only)
    replaced = replaced_ids(loaded, entries, replace)
    table = _prices(prices)
    limit = spending_limit(loaded, max_cost, table.currency)
    layout = OutputLayout.for_manifest(Path(output), loaded.name)
    store = StateStore(layout.state, readonly=True) if layout.state.exists() else None
    try:
        return build_plan(
            loaded,
            layout,
            store,
            table,
            entries=entries,
            retry_failed=retry_failed,
            resubmit_unknown=resubmit_unknown,
            replace=replaced,
            limit=limit,
            tasks_outlive_run=False if simulate else None,
        )
    finally:
        if store is not None:
            store.close()


def refresh(
    manifest: ManifestSource,
    *,
    output: OutputRoot = "output",
    only: Sequence[str] = (),
    prices: PricesSource = None,
    simulate: bool = False,
    base_url: str | None = None,
) -> tuple[Refreshed, ...]:
    """Ask the service once where each task in flight stands, and record its answer (under the
    output's run lock). With no task in flight, nothing is asked and no key is needed."""
    import anyio

    from kling_batch.runner.remote import refresh_in_flight, waiting

    loaded = _manifest(manifest)
    entries = select_entries(loaded, only)
    table = _prices(prices)
    if not waiting(OutputLayout.for_manifest(Path(output), loaded.name), entries):
        return ()
    connection = connect(simulate=simulate, base_url=base_url)
    return anyio.run(refresh_in_flight, loaded, entries, connection, Path(output), table)


def run(
    manifest: ManifestSource,
    *,
    output: OutputRoot = "output",
    simulate: bool = False,
    base_url: str | None = None,
    only: Sequence[str] = (),
    replace: Sequence[str] = (),
    retry_failed: bool = False,
    resubmit_unknown: bool = False,
    concurrency: int = 10,
    poll_interval: float | None = None,
    max_cost: Decimal | None = None,
    prices: PricesSource = None,
    sinks: Sequence[EventSink] = (),
    simulated_render_seconds: float = 3.0,
    handle_signals: bool = True,
    notify_url: str | None = None,
    notify_command: str | None = None,
) -> RunSummary:
    """Run (or resume) a manifest into `<output>/<manifest name>/`, as `kling-batch run` does,
    and return where each entry ended.

    `simulate`: on the simulator in this process, where each render takes
    `simulated_render_seconds`. `sinks` receive every event (objects with an `emit(event)`
    method; events.jsonl is written either way). `poll_interval`: the shortest gap between two
    polls of a task (default 5 s, 0.5 s simulated). With `handle_signals`, Ctrl-C and SIGTERM
    stop the run with its state saved (`summary.interrupted`); that needs the main thread.
    `notify_url` (https, or http to loopback) gets the run's JSON summary POSTed when it ends,
    and `notify_command` gets it on its stdin (docs/notifications.md); one that fails is a
    `NotifyFailed` event, never an error.
    `replace`: ids or globs of unchanged, settled entries to render again (`--replace`).
    """
    from functools import partial

    import anyio

    from kling_batch.batch import run_manifest
    from kling_batch.notify import NotifyTargets
    from kling_batch.runner.options import RunOptions, replaced_ids

    loaded = _manifest(manifest)
    table = _prices(prices)
    spending_limit(loaded, max_cost, table.currency)  # a limit in another currency: refused now
    replaced_ids(loaded, select_entries(loaded, only), replace)
    targets = NotifyTargets(notify_url, notify_command).checked()
    connection = connect(
        simulate=simulate, base_url=base_url, simulated_render_seconds=simulated_render_seconds
    )
    _writable(OutputLayout.for_manifest(Path(output), loaded.name).folder)
    options = RunOptions(
        concurrency=concurrency,
        poll_interval=poll_interval or (SIMULATED_POLL_FLOOR if simulate else REAL_POLL_FLOOR),
        only=tuple(only),
        replace=tuple(replace),
        retry_failed=retry_failed,
        resubmit_unknown=resubmit_unknown,
        handle_signals=handle_signals,
        max_cost=max_cost,
        prices=table,
    )
    return anyio.run(
        partial(run_manifest, notify_targets=targets),
        loaded,
        connection,
        Path(output),
        options,
        list(sinks),
    )


@collector_paused()
def status(
    manifest: ManifestSource,
    *,
    output: OutputRoot = "output",
    only: Sequence[str] = (),
    prices: PricesSource = None,
) -> Status:
    """Each entry's state, task, files, estimate and billed cost, and what expires soon, from
    the state store alone (no network; safe while a run is writing)."""
    loaded = _manifest(manifest)
    entries = select_entries(loaded, only)
    layout = OutputLayout.for_manifest(Path(output), loaded.name)
    return read_status(loaded, layout, _prices(prices), entries)


def cancel(
    manifest: ManifestSource,
    *,
    output: OutputRoot = "output",
    only: Sequence[str] = (),
    simulate: bool = False,
    base_url: str | None = None,
) -> tuple[Cancellation, ...]:
    """Cancel the manifest's tasks still PENDING remotely; report those that cannot be (already
    rendering or ended, or not yet settled). With nothing in flight, nothing is asked."""
    import anyio

    from kling_batch.runner.remote import cancel_pending, waiting

    loaded = _manifest(manifest)
    entries = select_entries(loaded, only)
    if not waiting(OutputLayout.for_manifest(Path(output), loaded.name), entries, cancel=True):
        return ()
    connection = connect(simulate=simulate, base_url=base_url)
    return anyio.run(cancel_pending, loaded, entries, connection, Path(output))


def audit(
    manifest: ManifestSource,
    *,
    output: OutputRoot = "output",
    adopt: bool = False,
    prices: PricesSource = None,
    simulate: bool = False,
    base_url: str | None = None,
) -> tuple[UnclaimedTask, ...]:
    """The tasks of the manifest's models from the last 24 h that no entry claims, oldest first;
    `adopt` hands each unambiguous one to its entry. Never creates a task."""
    from functools import partial

    import anyio

    from kling_batch.runner.audit import audit_output

    loaded = _manifest(manifest)
    audit_run = partial(audit_output, prices=_prices(prices), adopt=adopt)
    return anyio.run(audit_run, loaded, connect(simulate=simulate, base_url=base_url), Path(output))


def write_report(
    manifest: ManifestSource, *, output: OutputRoot = "output", prices: PricesSource = None
) -> Path:
    """(Re)write `report.html` from what the output holds, and return its path; raises NoRun
    when the output holds no run of the manifest. Safe while a run is writing."""
    from kling_batch.report import write_report as write_report_page
    from kling_batch.runner.state import StateStore

    loaded = _manifest(manifest)
    table = _prices(prices)
    layout = OutputLayout.for_manifest(Path(output), loaded.name)
    if not layout.state.exists():
        raise NoRun(
            f"{layout.folder} holds no run of {loaded.path} (no {layout.state.name}); "
            "run it first, or pass the output folder it was run with"
        )
    # Read-only: a run that holds the lock may be writing; SQLite's WAL lets us read beside it.
    store = StateStore(layout.state, readonly=True)
    try:
        return write_report_page(layout, loaded, store, prices=table)
    finally:
        store.close()


def pick(
    manifest: ManifestSource,
    entry_id: str | None = None,
    *,
    output: OutputRoot = "output",
    clear: str | None = None,
) -> PickChange:
    """Record `entry_id`, done in the output, as the pick of its group in `<manifest
    stem>.picks.yaml` beside the manifest; with `clear` (a group) instead, remove that group's
    pick. Raises PickRefused (not done, unknown id or group) or PicksInvalid (the file cannot
    be read). No network."""
    from kling_batch.delivery.picks import clear_pick
    from kling_batch.delivery.picks import pick as pick_entry

    loaded = _manifest(manifest)
    if (entry_id is None) == (clear is None):
        raise TypeError("pick takes an entry_id, or clear=GROUP")
    if clear is not None:
        return clear_pick(loaded, clear)
    assert entry_id is not None
    return pick_entry(loaded, OutputLayout.for_manifest(Path(output), loaded.name), entry_id)


def export(
    manifest: ManifestSource,
    *,
    to: str | os.PathLike[str],
    output: OutputRoot = "output",
    picked: bool = False,
    name: str = DEFAULT_NAME,
    force: bool = False,
    prices: PricesSource = None,
) -> ExportResult:
    """Copy the done videos (with `picked`, each group's pick only) to `to`, each verified by
    sha256, named by the `name` template, with delivery.csv and delivery.json. Raises
    ExportRefused, with nothing copied, for what can be refused up front; a video whose bytes
    changed since its download is a `.failures` item. No network."""
    from kling_batch.delivery.export import export as export_videos

    loaded = _manifest(manifest)
    layout = OutputLayout.for_manifest(Path(output), loaded.name)
    return export_videos(
        loaded,
        layout,
        Path(to),
        picked=picked,
        name_template=name,
        force=force,
        prices=_prices(prices),
    )


# -- pieces -----------------------------------------------------------------------------------


def _writable(folder: Path) -> None:
    """Make the output folder, or raise UnusableOutput with the reason."""
    probe = folder
    while not probe.exists():
        probe = probe.parent
    problem = None
    if not probe.is_dir():
        problem = f"{probe} is not a folder"
    else:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            check = folder / ".kling-batch-write-check"
            check.write_bytes(b"")
            check.unlink()
        except OSError as error:
            problem = error.strerror or str(error)
    if problem:
        raise UnusableOutput(
            f"cannot write the output folder {folder}: {problem}; choose another with --output"
        )


def _manifest(source: ManifestSource) -> Manifest:
    return source if isinstance(source, Manifest) else load(Path(source))


def _prices(source: PricesSource) -> PriceTable:
    if isinstance(source, PriceTable):
        return source
    return PriceTable.load(None if source is None else Path(source))
