"""The rule registry: every rule function listed once, with one code, reading real fields."""

from __future__ import annotations

import inspect
from types import ModuleType

from kling_batch.manifest import rules
from kling_batch.manifest.rules import (
    FILE_RULES,
    MANIFEST_RULES,
    durations,
    elements,
    files,
    manifest_wide,
    media,
    moves,
    parameters,
    prompts,
    references,
    storyboards,
)
from kling_batch.manifest.schema import schema

FAMILIES: tuple[ModuleType, ...] = (
    durations,
    elements,
    files,
    manifest_wide,
    media,
    moves,
    parameters,
    prompts,
    references,
    storyboards,
)
EVERY_RULE = (*rules.ENTRY_RULES, *FILE_RULES, *MANIFEST_RULES)


def test_one_code_per_rule_and_one_rule_per_code() -> None:
    codes = [rule.code for rule in EVERY_RULE]
    assert len(codes) == len(set(codes))
    checks = [rule.check for rule in EVERY_RULE]
    assert len(checks) == len(set(checks))


def test_every_rule_function_of_a_family_is_registered() -> None:
    registered = {rule.check for rule in EVERY_RULE}
    for family in FAMILIES:
        public = {
            function
            for name, function in inspect.getmembers(family, inspect.isfunction)
            if not name.startswith("_") and function.__module__ == family.__name__
        }
        assert public <= registered, family.__name__
        assert public, family.__name__


def test_codes_by_family() -> None:
    assert all(rule.code.startswith("KB2") for rule in (*rules.ENTRY_RULES, *MANIFEST_RULES))
    assert all(rule.code.startswith("KB3") for rule in FILE_RULES)
    assert {rule.check.__module__ for rule in FILE_RULES} == {files.__name__}


def test_rules_read_fields_that_exist() -> None:
    definitions = schema()["$defs"]
    entry_fields = set(definitions["shot"]["properties"]) | set(
        definitions["storyboard"]["properties"]
    )
    for rule in (*rules.ENTRY_RULES, *FILE_RULES):
        assert rule.reads, rule.code
        assert set(rule.reads) <= entry_fields, rule.code
    top_level = set(schema()["properties"])
    for manifest_rule in MANIFEST_RULES:
        assert set(manifest_rule.reads) <= top_level, manifest_rule.code


def test_every_rule_has_a_one_line_summary() -> None:
    for rule in EVERY_RULE:
        assert rule.summary, rule.code
