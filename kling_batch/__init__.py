"""kling-batch: a declarative batch manifest runner for Kling V3 video models on DashScope.

The library API, as the command line uses it:

    manifest = kling_batch.load(Path("campaign.yaml"))         # or ManifestInvalid
    problems = kling_batch.check([Path("campaign.yaml")])       # every diagnostic, no network
    plan = kling_batch.build_plan(manifest, layout, store, prices)  # what run would do, and cost
    summary = anyio.run(kling_batch.run_manifest, manifest, connection, Path("output"))

Names are imported on first use (PEP 562), so that importing one part of the package, such as
the manifest checker, does not load the HTTP client and the runner.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from kling_batch._version import __version__

if TYPE_CHECKING:
    from kling_batch.batch import run_manifest
    from kling_batch.manifest import Diagnostic, ManifestInvalid, check, load
    from kling_batch.plan import Plan, build_plan
    from kling_batch.runner.connection import Connection
    from kling_batch.runner.options import RunOptions, RunSummary
    from kling_batch.runner.remote import cancel_pending

_EXPORTS = {
    "Diagnostic": "kling_batch.manifest",
    "ManifestInvalid": "kling_batch.manifest",
    "check": "kling_batch.manifest",
    "load": "kling_batch.manifest",
    "Plan": "kling_batch.plan",
    "build_plan": "kling_batch.plan",
    "cancel_pending": "kling_batch.runner.remote",
    "Connection": "kling_batch.runner.connection",
    "RunOptions": "kling_batch.runner.options",
    "RunSummary": "kling_batch.runner.options",
    "run_manifest": "kling_batch.batch",
}

__all__ = [
    "Connection",
    "Diagnostic",
    "ManifestInvalid",
    "Plan",
    "RunOptions",
    "RunSummary",
    "__version__",
    "build_plan",
    "cancel_pending",
    "check",
    "load",
    "run_manifest",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kling_batch' has no attribute {name!r}")
