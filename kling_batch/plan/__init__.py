"""The plan: what `run` would do with each entry, what it would cost, and what is already done.

Built from the manifest, the state store and `decide()`, the same function `run` acts on, so the
plan a reviewer reads is the run that happens. No network: `kling-batch plan --refresh` asks the
service about tasks in flight first (kling_batch.runner.remote), then plans from what it learned.
"""

from kling_batch.plan.build import build_plan, plan_entry
from kling_batch.plan.model import CostGroup, Plan, PlannedEntry
from kling_batch.plan.sources import Source

__all__ = ["CostGroup", "Plan", "PlannedEntry", "Source", "build_plan", "plan_entry"]
