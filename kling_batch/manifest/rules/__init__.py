"""Every manifest rule beyond the schema, with its code: the one list of them.

Each rule is a small function in the module of its family; this table gives it its code, its
severity and the fields it reads (see `core`). Codes are stable: `validate --json` output,
docs/manifest.md and editors depend on them. A rule that goes is not replaced under its code:
a retired code is never given to another rule (docs/manifest.md lists the retired ones).

KB2xx: combinations of fields, and the manifest as a whole (KB23x: the entry's model, against
the models table); KB3xx: local media files. The facts behind them live in `capabilities` and
the models table (`kling_batch.models`). (KB0xx come from reading the file, `loader`, and
KB1xx from the schema, `shape`.)
"""

from __future__ import annotations

from kling_batch.manifest.diagnostics import Severity
from kling_batch.manifest.rules import (
    durations,
    elements,
    files,
    manifest_wide,
    media,
    models,
    moves,
    parameters,
    prompts,
    references,
    storyboards,
)
from kling_batch.manifest.rules.core import (
    Finding,
    ManifestRule,
    Rule,
    Subject,
    WholeManifest,
    subject,
)

__all__ = [
    "ENTRY_RULES",
    "FILE_RULES",
    "MANIFEST_RULES",
    "Finding",
    "ManifestRule",
    "Rule",
    "Subject",
    "WholeManifest",
    "subject",
]

WARNING = Severity.WARNING

# Rule(code, check, the entry fields it reads, severity), grouped by family: its module.
ENTRY_RULES: tuple[Rule, ...] = (
    # models: is the model known, and does it take what the entry gives it (the models table)
    Rule("KB231", models.model_known, ("model",)),
    Rule("KB232", models.render_kind_taken, ("model", "media")),
    Rule("KB233", models.element_list_taken, ("model", "element_list")),
    Rule("KB234", models.mode_offered, ("model", "mode")),
    Rule("KB235", models.audio_always_on, ("model", "audio"), WARNING),
    # media: which model takes them, how they combine, what they carry
    Rule("KB201", media.media_type_needs_omni, ("model", "media")),
    Rule("KB202", media.media_combination, ("media",)),
    Rule("KB210", media.keep_original_sound_placement, ("media",)),
    Rule("KB219", media.url_looks_right, ("media",), WARNING),
    # elements: how many, with which media
    Rule("KB203", elements.reference_limit, ("media", "element_list")),
    Rule("KB204", elements.element_limit, ("media", "element_list")),
    # durations: of the entry, of a storyboard's shots
    Rule("KB206", durations.duration_range, ("duration", "media")),
    Rule("KB214", durations.storyboard_durations, ("shot_type", "multi_prompt", "duration")),
    # parameters: audio and aspect_ratio, which depend on the media
    Rule("KB207", parameters.audio_with_video, ("audio", "media")),
    Rule("KB208", parameters.aspect_ratio_needed, ("aspect_ratio", "media")),
    Rule("KB209", parameters.aspect_ratio_ignored, ("aspect_ratio", "media"), WARNING),
    # storyboards: how they are cut
    Rule("KB212", storyboards.storyboard_shot_type, ("shot_type", "multi_prompt")),
    Rule("KB213", storyboards.storyboard_shot_list, ("shot_type", "multi_prompt")),
    # prompts: needed, ignored, cut by the service
    Rule("KB211", prompts.prompt_needed, ("prompt", "model", "media", "shot_type")),
    Rule("KB215", prompts.prompt_ignored, ("prompt", "shot_type"), WARNING),
    Rule("KB224", prompts.prompt_truncated, ("prompt", "shot_type"), WARNING),
    Rule("KB225", prompts.shot_prompt_truncated, ("multi_prompt",), WARNING),
    # references: <<<image_N>>>, <<<video_N>>>, <<<element_N>>> in prompts
    Rule(
        "KB216",
        references.references_exist,
        ("prompt", "multi_prompt", "model", "media", "element_list"),
    ),
    Rule("KB217", references.reference_syntax, ("prompt", "multi_prompt"), WARNING),
    Rule("KB218", references.references_on_standard, ("prompt", "multi_prompt", "model"), WARNING),
)

# files: local media files, checked only for entries that have one.
FILE_RULES: tuple[Rule, ...] = (
    Rule("KB301", files.local_file_readable, ("media",)),
    Rule("KB302", files.image_format, ("media",)),
    Rule("KB303", files.image_alpha, ("media",)),
    Rule("KB304", files.image_sides, ("media",)),
    Rule("KB305", files.image_aspect, ("media",)),
    Rule("KB306", files.image_bytes, ("media",)),
    Rule("KB307", files.video_container, ("media",)),
    Rule("KB308", files.video_bytes, ("media",)),
    Rule("KB309", files.video_duration, ("media",)),
    Rule("KB310", files.video_sides, ("media",)),
    Rule("KB311", files.video_fps, ("media",)),
    Rule("KB312", files.video_measured, ("media",), WARNING),
)

# manifest_wide: the manifest as a whole; `reads` names top-level fields.
MANIFEST_RULES: tuple[ManifestRule, ...] = (
    ManifestRule("KB230", models.models_table_readable),
    ManifestRule("KB220", manifest_wide.unique_ids),
    ManifestRule("KB221", manifest_wide.ids_differ_beyond_case),
    ManifestRule("KB222", manifest_wide.something_to_render, ("shots", "storyboards"), WARNING),
    ManifestRule("KB223", manifest_wide.name_is_a_folder_name, ("name",)),
    # moves: the renames of `moved:`, against the entry ids after expansion
    ManifestRule("KB226", moves.move_target_is_an_entry, ("moved",)),
    ManifestRule("KB227", moves.move_source_is_gone, ("moved",)),
    ManifestRule("KB228", moves.move_source_once, ("moved",)),
    ManifestRule("KB229", moves.move_target_once, ("moved",)),
)
