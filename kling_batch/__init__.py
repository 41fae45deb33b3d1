"""kling-batch: a declarative batch manifest runner for Kling V3 video models on DashScope.

The library API, as the command line uses it:

    manifest = kling_batch.load(Path("campaign.yaml"))         # or ManifestInvalid
    problems = kling_batch.check([Path("campaign.yaml")])       # every diagnostic, no network
    plan = kling_batch.build_plan(manifest, layout, store, prices)  # what run would do, and cost
    summary = anyio.run(kling_batch.run_manifest, manifest, connection, Path("output"))
"""

__version__ = "0.1.0"

from kling_batch.manifest import Diagnostic, ManifestInvalid, check, load
from kling_batch.plan import Plan, build_plan
from kling_batch.runner.remote import cancel_pending
from kling_batch.runner.run import (
    Connection,
    RunOptions,
    RunSummary,
    run_manifest,
)

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
