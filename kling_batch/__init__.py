"""kling-batch: a declarative batch manifest runner for Kling V3 video models on DashScope.

The library API: one function per command, each taking the options its command takes.

    analysis = kling_batch.check("campaign.yaml")    # every problem, no network
    plan = kling_batch.plan_run("campaign.yaml", output="output")    # what run would do, and cost
    summary = kling_batch.run("campaign.yaml", output="output", simulate=True)
    status = kling_batch.status("campaign.yaml", output="output")

`check` and `load` read a manifest; `plan_run`, `refresh`, `run`, `status`, `cancel`, `audit`,
`write_report`, `pick` and `export` act on a manifest's output (kling_batch/library.py
documents each, and the errors they raise). `plan_run` and `write_report` are not named `plan`
and `report`: those are the subpackages that build them, and importing a subpackage sets its
name on this package.

Names are imported on first use (PEP 562), so that importing one part of the package, such as
the manifest checker, does not load the HTTP client and the runner.
"""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kling_batch._version import __version__

if TYPE_CHECKING:
    from kling_batch.api import AccountError, ConfigurationError
    from kling_batch.delivery.export import ExportRefused, ExportResult
    from kling_batch.delivery.picks import PickChange, PickRefused, PicksInvalid
    from kling_batch.entry_status import Status
    from kling_batch.library import (
        NoRun,
        UnusableOutput,
        audit,
        cancel,
        export,
        pick,
        plan_run,
        refresh,
        run,
        status,
        write_report,
    )
    from kling_batch.manifest import Analysis, Diagnostic, Manifest, ManifestInvalid
    from kling_batch.plan import Plan
    from kling_batch.prices import PriceTable, PriceTableError
    from kling_batch.runner.budget import BudgetError, BudgetExceeded
    from kling_batch.runner.lock import StateLocked
    from kling_batch.runner.moves import MoveRefused
    from kling_batch.runner.options import RunSummary, SelectionError
    from kling_batch.runner.records import EntryState
    from kling_batch.runner.results import EntryResult
    from kling_batch.runner.world import WorldMismatch

_EXPORTS = {
    # what the functions return
    "Analysis": "kling_batch.manifest",
    "Diagnostic": "kling_batch.manifest",
    "EntryState": "kling_batch.runner.records",
    "Manifest": "kling_batch.manifest",
    "Plan": "kling_batch.plan",
    "PriceTable": "kling_batch.prices",
    "RunSummary": "kling_batch.runner.options",
    "Status": "kling_batch.entry_status",
    "EntryResult": "kling_batch.runner.results",
    "ExportResult": "kling_batch.delivery.export",
    "PickChange": "kling_batch.delivery.picks",
    # what they raise
    "AccountError": "kling_batch.api",
    "BudgetError": "kling_batch.runner.budget",
    "BudgetExceeded": "kling_batch.runner.budget",
    "ConfigurationError": "kling_batch.api",
    "ExportRefused": "kling_batch.delivery.export",
    "ManifestInvalid": "kling_batch.manifest",
    "MoveRefused": "kling_batch.runner.moves",
    "NoRun": "kling_batch.library",
    "PickRefused": "kling_batch.delivery.picks",
    "PicksInvalid": "kling_batch.delivery.picks",
    "PriceTableError": "kling_batch.prices",
    "SelectionError": "kling_batch.runner.options",
    "StateLocked": "kling_batch.runner.lock",
    "UnusableOutput": "kling_batch.library",
    "WorldMismatch": "kling_batch.runner.world",
    # what acts on an output
    "audit": "kling_batch.library",
    "cancel": "kling_batch.library",
    "export": "kling_batch.library",
    "pick": "kling_batch.library",
    "plan_run": "kling_batch.library",
    "refresh": "kling_batch.library",
    "run": "kling_batch.library",
    "status": "kling_batch.library",
    "write_report": "kling_batch.library",
}

__all__ = [
    "AccountError",
    "Analysis",
    "BudgetError",
    "BudgetExceeded",
    "ConfigurationError",
    "Diagnostic",
    "EntryResult",
    "EntryState",
    "ExportRefused",
    "ExportResult",
    "Manifest",
    "ManifestInvalid",
    "MoveRefused",
    "NoRun",
    "PickChange",
    "PickRefused",
    "PicksInvalid",
    "Plan",
    "PriceTable",
    "PriceTableError",
    "RunSummary",
    "SelectionError",
    "StateLocked",
    "Status",
    "UnusableOutput",
    "WorldMismatch",
    "__version__",
    "audit",
    "cancel",
    "check",
    "export",
    "load",
    "pick",
    "plan_run",
    "refresh",
    "run",
    "status",
    "write_report",
]


def check(path: str | os.PathLike[str]) -> Analysis:
    """Check the manifest at `path` completely, with no network: every problem (errors and
    warnings, by position) in `.diagnostics`, and the Manifest in `.manifest` when there is no
    error (else None; `.ok` says which)."""
    from kling_batch.manifest import analyze

    return analyze(Path(path))


def load(path: str | os.PathLike[str]) -> Manifest:
    """The manifest at `path`, ready to run; raises ManifestInvalid with every problem."""
    from kling_batch.manifest import load as load_manifest

    return load_manifest(Path(path))


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kling_batch' has no attribute {name!r}")
